"""The model card as Markdown, to paste into a paper's supplementary information: the
``GET /v1/models/{name}/card.md`` route and a pack's ``CARD.md`` (:mod:`hub.packs.exporter`)
both render it here (the card is not HTTP).

Catalog text is escaped: ``<``, ``>`` and ``&`` become entities (a renderer that allows HTML
shows them as text), and square brackets and backslashes are backslashed, so no catalog text
(an alias, a description) can add a link or an image (``|`` too, inside table cells); text
inside code spans loses its backticks instead.
"""

from __future__ import annotations

import json
import re

from hub.cards.card import format_metric, metric_tables
from hub.cards.schemas import FeaturizerCostPublic, ModelCard, ParameterPublic, VersionPublic

_MARKDOWN = re.compile(r"([\\\[\]])")  # link and image syntax, and its escape


def _html(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(value: object) -> str:
    """Catalog text for prose: HTML entities; brackets (links, images) backslashed."""
    return _MARKDOWN.sub(r"\\\1", _html(value))


def _code(value: object) -> str:
    """Catalog text inside a code span (nothing is interpreted there but a backtick)."""
    return _html(value).replace("`", "'").replace("\n", " ")


def _cell(value: object) -> str:
    return _text(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    out.append("|" + "---|" * len(header))
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _fence(text: str, lang: str) -> list[str]:
    fence = "````" if "```" in text else "```"
    return [f"{fence}{lang}", text.rstrip("\n"), fence]


def cost_text(c: FeaturizerCostPublic) -> str:
    """``3.4 ms CPU per input on one core (median over ...); measured 2026-12-03 18:30 UTC on
    <CPU>, 2 cores, load average 3.1; batches from 64 inputs use a pool of processes``."""
    when = c.measured_at.strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"{c.ms_per_input:g} ms CPU per input on one core ({c.basis}); measured {when} on "
        f"{c.machine}, load average {c.load_average:g}, where this card was served"
    )
    if c.parallel_threshold:
        text += f"; batches from {c.parallel_threshold} inputs featurize on a pool of processes"
    return text


def _version(v: VersionPublic, base_url: str) -> list[str]:
    created = v.created_at.strftime("%Y-%m-%d %H:%M UTC") if v.created_at else "unknown"
    out = ["", f"### Version {v.version}", "", f"- built: {created}; kind: {_text(v.kind)}"]
    out.append(f"- recipe: `{_code(v.recipe or 'none')}`")
    if v.dataset:
        d = v.dataset
        out.append(
            f"- training data: {_text(d.name)}, {d.size} records, sha256 `{_code(d.sha256)}`"
        )
        if d.citation:
            out.append(f"- citation: {_text(d.citation)}")
        if d.license:
            out.append(f"- licence: {_text(d.license)}")
    if v.featurizer:
        out.append(f"- featurizer: `{_code(v.featurizer.get('name', ''))}`")
    if v.featurizer_cost:
        out.append(f"- featurizer cost: {_text(cost_text(v.featurizer_cost))}")
    if v.software:
        soft = ", ".join(f"{_text(k)} {_text(val)}" for k, val in sorted(v.software.items()))
        out.append(f"- software: {soft}")
    if v.recipe_params:
        out += ["", "Recipe parameters:", ""]
        out += _fence(json.dumps(v.recipe_params, indent=2, sort_keys=True, default=str), "json")
    explained: set[str] = set()
    for table in metric_tables(v.metrics, v.spec.get("evaluation")):
        out += ["", f"{table.title} ({table.note}):", ""]
        out += _table(
            ["split", "n", *table.columns],
            [
                [row.split, row.n or "", *(row.cells.get(c, "—") for c in table.columns)]
                for row in table.rows
            ],
        )
        hows = [(r.split, r.how) for r in table.rows if r.how and r.split not in explained]
        explained |= {split for split, _ in hows}
        out += [""] + [f"- {_text(split)}: {_text(how)}" for split, how in hows] if hows else []
    for plot in v.plots:
        out += ["", f"![{_cell(plot.caption or plot.role)}]({base_url}{plot.url})"]
    return out


def _range(p: ParameterPublic) -> str:
    """A parameter's bounds as an interval, ``[1, 50]`` or ``(0, 100]`` ('' when unbounded)."""
    low, high = (p.minimum, p.exclusive_minimum), (p.maximum, p.exclusive_maximum)
    if low == (None, None) and high == (None, None):
        return ""
    left = f"[{low[0]}" if low[0] is not None else f"({'-∞' if low[1] is None else low[1]}"
    right = f"{high[0]}]" if high[0] is not None else f"{'∞' if high[1] is None else high[1]})"
    return f"{left}, {right}"


def _params_rows(params: list[ParameterPublic]) -> list[list[object]]:
    return [
        [p.name, f"one of {', '.join(map(str, p.enum))}" if p.enum else p.type, p.default,
         _range(p), p.description]
        for p in params
    ]  # fmt: skip


def _calling(card: ModelCard) -> list[str]:
    """The card's parameters, jobs and input limits, as Markdown."""
    if not (card.parameters or card.tasks or card.limits):
        return []
    head = ["parameter", "type", "default", "range", "meaning"]
    out = ["", "## Parameters and limits", ""]
    if card.parameters:
        out += _table(head, _params_rows(card.parameters))
    else:
        out.append("Predictions take no parameters.")
    for t in card.tasks:
        out += ["", f"Job `{_code(t.name)}`: {_text(t.description)}", ""]
        out += _table(head, _params_rows(t.parameters))
    if card.limits:
        out += ["", "Limits of one input (over one, the input gets a typed error):", ""]
        out += _table(["limit", "value"], [[k, v] for k, v in card.limits.items()])
    return out


def card_markdown(card: ModelCard, *, base_url: str) -> str:
    """The whole card: what it predicts, intended use and limits, every version, aliases,
    how to call it."""
    base = base_url.rstrip("/")
    out = [f"# {_text(card.title)} (`{_code(card.name)}`)", "", _text(card.description), ""]
    out += [
        f"- domain: {_text(card.domain)}; task: {_text(card.task)}; owner: {_text(card.owner)}",
        f"- input: `{_code(card.input_type)}`"
        + (f": {_text(card.input.description)}" if card.input and card.input.description else ""),
        f"- tags: {_text(', '.join(card.tags)) or 'none'}",
    ]
    if card.headline:
        h = card.headline
        out.append(
            f"- headline: {_text(format_metric(h))} "
            f"({_text(h.split)} split, version {card.latest_version})"
        )
    out += ["", "## Outputs", ""]
    outputs = [[o.name, o.unit, o.description] for o in card.outputs]
    out += _table(["output", "unit", "meaning"], outputs)
    out += _calling(card)
    out += ["", "## Aliases", ""]
    out += _table(["alias", "version"], [[a.alias, a.version] for a in card.aliases])
    if card.usage:
        out += ["", "## How to call it", ""]
        out += [*_fence(card.usage.curl, "bash"), "", *_fence(card.usage.python, "python")]
    out += ["", "## Versions"]
    for v in card.versions:
        out += _version(v, base)
    return "\n".join(out) + "\n"
