// The catalog pages' script: live filtering of the index, copy buttons and the try-it form.
// Plain JavaScript, no framework. Text from the API is only ever set with textContent; a
// depiction is shown as an <img> of a blob URL, so an SVG cannot run anything in the page.
"use strict";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function fmt(x) {
  if (typeof x !== "number" || !isFinite(x)) return String(x);
  return Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : String(+x.toPrecision(4));
}

// -- index: filter the rows as one types --------------------------------------------------
function liveFilter() {
  const box = document.getElementById("q");
  const table = document.getElementById("models");
  if (!box || !table) return;
  const rows = Array.from(table.tBodies[0].rows);
  const shown = document.getElementById("shown");
  const none = document.getElementById("no-match");
  box.addEventListener("input", () => {
    const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    let n = 0;
    for (const row of rows) {
      const text = row.dataset.search || "";
      const hit = words.every((w) => text.includes(w));
      row.hidden = !hit;
      if (hit) n += 1;
    }
    if (shown) shown.textContent = String(n);
    if (none) none.hidden = n > 0;
  });
}

// -- card: copy buttons ----------------------------------------------------------------------
function copyButtons() {
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "copied";
      } catch (err) {
        button.textContent = "select and copy";
      }
    });
  }
}

// -- card: try it ------------------------------------------------------------------------------
function readInputs(form, text) {
  if (form.dataset.mode === "json") return [JSON.parse(text)];
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function showError(parent, error, status) {
  const box = el("div", "error");
  box.append(el("span", "code", error.code || "error"));
  if (status) box.append(el("span", "muted", ` (HTTP ${status})`));
  box.append(el("div", "message", error.message || ""));
  parent.append(box);
}

function describeValue(out) {
  const box = el("div", "prediction");
  if (out.value !== null && typeof out.value === "object") {
    const table = el("table", "plain");
    for (const [key, val] of Object.entries(out.value)) {
      const unit = out.unit && typeof out.unit === "object" ? out.unit[key] || "" : "";
      const shown = typeof val === "number" ? fmt(val) : JSON.stringify(val).slice(0, 300);
      const row = table.insertRow();
      row.insertCell().textContent = key;
      row.insertCell().textContent = `${shown} ${unit}`.trim();
    }
    box.append(table);
  } else {
    let text = fmt(out.value);
    if (typeof out.uncertainty === "number") text += ` ± ${fmt(out.uncertainty)}`;
    box.append(el("div", "value", `${text} ${out.unit || ""}`.trim()));
  }
  if (typeof out.in_domain === "boolean") {
    box.append(el("div", out.in_domain ? "in-domain" : "out-of-domain",
      out.in_domain ? "inside the applicability domain" : "outside the applicability domain"));
  }
  for (const key of ["smiles", "reaction", "engine"]) {
    if (typeof out[key] === "string") box.append(el("div", "muted", `${key}: ${out[key]}`));
  }
  if (Array.isArray(out.standardization)) {
    box.append(el("div", "muted", `standardisation: ${out.standardization.join("; ")}`));
  }
  return box;
}

// A signed-in page carries its session's CSRF token: a POST with the session cookie counts
// as the signed-in user only with it (else as anonymous).
function withCsrf(headers) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) headers["x-csrf-token"] = meta.content;
  return headers;
}

async function depict(url, raw, holder) {
  try {
    const resp = await fetch(url, {
      method: "POST",
      headers: withCsrf({ "content-type": "application/json" }),
      body: JSON.stringify({ input: raw }),
    });
    if (!resp.ok || resp.headers.get("content-type") !== "image/svg+xml") return;
    const img = el("img", "depiction");
    img.alt = "structure drawn by RDKit";
    // a wide drawing (a reaction) gets the item's full width, above the answer
    img.onload = () => holder.classList.toggle("wide", img.naturalWidth > 2 * img.naturalHeight);
    img.src = URL.createObjectURL(await resp.blob());
    holder.prepend(img);
  } catch (err) {
    // a missing drawing is not an error of the prediction
  }
}

async function submitTry(form, result) {
  result.replaceChildren(el("p", "muted", "predicting…"));
  let inputs;
  try {
    inputs = readInputs(form, document.getElementById("try-input").value);
  } catch (err) {
    result.replaceChildren();
    showError(result, { code: "not_json", message: `the page could not read the input as JSON: ${err.message}` });
    return;
  }
  let resp, body;
  try {
    resp = await fetch(form.dataset.predict, {
      method: "POST",
      headers: withCsrf({ "content-type": "application/json", accept: "application/json" }),
      body: JSON.stringify({ inputs: inputs, params: {} }),
    });
    body = await resp.json();
  } catch (err) {
    result.replaceChildren();
    showError(result, { code: "network_error", message: String(err) });
    return;
  }
  result.replaceChildren();
  if (!resp.ok) {
    showError(result, (body && body.error) || { code: "http_error", message: resp.statusText }, resp.status);
    return;
  }
  result.append(el("p", "muted", `${body.model} version ${body.version}`));
  body.outputs.forEach((out, i) => {
    const item = el("div", "try-item");
    const answer = el("div", "answer");
    answer.append(el("div", "input", typeof inputs[i] === "string" ? inputs[i] : `input ${i + 1}`));
    if (out.error) showError(answer, out.error);
    else answer.append(describeValue(out));
    item.append(answer);
    result.append(item);
    if (!out.error && form.dataset.depict) depict(form.dataset.depict, inputs[i], item);
  });
  const raw = el("details", "raw");
  raw.append(el("summary", "", "raw response"));
  raw.append(el("pre", "code", JSON.stringify(body, null, 2)));
  result.append(raw);
}

function tryIt() {
  const form = document.getElementById("try-it");
  const result = document.getElementById("try-result");
  if (!form || !result) return;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitTry(form, result);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  liveFilter();
  copyButtons();
  tryIt();
});
