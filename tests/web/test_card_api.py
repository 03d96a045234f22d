"""The card as JSON and Markdown, the plot and depiction endpoints, on the quick-built hub."""

from __future__ import annotations

import hashlib

import httpx
import pytest


def shown(m: dict) -> str:
    """A metric as the pages show it: 4 significant figures, the spread over several splits."""
    spread = f" ± {m['std']:.4g}" if m["std"] is not None and (m["n"] or 2) > 1 else ""
    return f"{m['value']:.4g}{spread}"


@pytest.fixture(scope="module")
def api(server_url: str):  # noqa: ANN201
    with httpx.Client(base_url=server_url, timeout=120) as c:
        yield c


def test_json_card_has_headline_input_usage_and_plots(api: httpx.Client) -> None:
    card = api.get("/v1/models/chemistry.solubility").json()
    assert card["headline"]["name"] == "rmse" and card["headline"]["split"] == "random"
    assert card["headline"]["std"] is not None
    assert card["input"] == {
        "name": "smiles",
        "description": card["input"]["description"],
        "example": "c1ccccc1O",
        "depict": True,
    }
    assert "/v1/models/chemistry.solubility/predict" in card["usage"]["curl"]
    assert "hub.predict('chemistry.solubility', ['c1ccccc1O'])" in card["usage"]["python"]
    emt = api.get("/v1/models/physics.emt").json()
    assert emt["input"]["depict"] is False and emt["input"]["example"]["symbols"] == ["Cu"]
    (plot,) = emt["versions"][0]["plots"]
    assert plot["role"] == "plot_eos" and "lattice constant" in plot["caption"]
    assert plot["url"] == f"/v1/models/physics.emt/versions/{emt['latest_version']}/plots/plot_eos"


def test_usage_snippets_run(api: httpx.Client, server_url: str) -> None:
    """The card's Python snippet, run as it is, predicts."""
    import contextlib
    import io

    card = api.get("/v1/models/chemistry.solubility").json()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(card["usage"]["python"], "<card>", "exec"), {})  # noqa: S102
    assert out.getvalue().startswith(f"{card['latest_version']} {{'value': ")


def test_plot_is_served_from_the_artifact_store(api: httpx.Client) -> None:
    emt = api.get("/v1/models/physics.emt").json()
    (plot,) = emt["versions"][0]["plots"]
    r = api.get(plot["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert hashlib.sha256(r.content).hexdigest() == plot["sha256"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["etag"] == f'"{plot["sha256"]}"'
    assert b"<svg" in r.content[:2000]
    version = emt["latest_version"]
    for role in ("model", "plot_nothing", "plot_eos.svg"):  # "model": not a plot
        r = api.get(f"/v1/models/physics.emt/versions/{version}/plots/{role}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "plot_not_found"
    for path in ("..%2F..%2Fregistry.db", "%2e%2e%2Fartifacts", "plot_eos%2F..%2F..%2Fmodel"):
        r = api.get(f"/v1/models/physics.emt/versions/{version}/plots/{path}")
        assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    r = api.get("/v1/models/physics.emt/versions/999/plots/plot_eos")
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"


def test_markdown_card(api: httpx.Client, server_url: str) -> None:
    card = api.get("/v1/models/chemistry.solubility").json()
    r = api.get("/v1/models/chemistry.solubility/card.md")
    assert r.status_code == 200 and r.headers["content-type"] == "text/markdown; charset=utf-8"
    md = r.text
    v = card["versions"][0]
    assert md.startswith(f"# {card['title']} (`chemistry.solubility`)")
    output = card["outputs"][0]
    assert v["dataset"]["sha256"] in md and f"| {output['name']} | {output['unit']} |" in md
    assert "| latest | " in md and "```bash\ncurl -s -X POST" in md
    rmse = next(m for m in v["metrics"] if (m["name"], m["split"]) == ("rmse", "random"))
    assert f"| random | {rmse['n']} | {shown(rmse)} |" in md
    for plot in v["plots"]:
        assert f"]({server_url}{plot['url']})" in md
    assert api.get("/v1/models/chemistry.nothing/card.md").status_code == 404


def test_depict(api: httpx.Client) -> None:
    r = api.post("/v1/inputs/smiles/depict", json={"input": "c1ccccc1O"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in r.content and b"c1ccccc1O" not in r.content
    assert "sandbox" in r.headers["content-security-policy"]
    r = api.post("/v1/inputs/reaction_smiles/depict", json={"input": "CCO.CC(=O)O>>CCOC(C)=O"})
    assert r.status_code == 200 and b"<svg" in r.content
    bad = api.post("/v1/inputs/smiles/depict", json={"input": "C1CC<script>"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_smiles"
    r = api.post("/v1/inputs/atoms/depict", json={"input": {"symbols": ["Cu"]}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "depict_unavailable"
    r = api.post("/v1/inputs/nothing/depict", json={"input": "C"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "input_type_not_found"
    r = api.post("/v1/inputs/smiles/depict", json={"input": "C" * 30_000})
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_large"
    assert api.post("/v1/inputs/smiles/depict", json={}).status_code == 422


def test_input_types_are_listed(api: httpx.Client) -> None:
    types = {t["name"]: t for t in api.get("/v1/inputs").json()}
    assert {"smiles", "reaction_smiles", "atoms", "molecule3d"} <= set(types)
    assert types["smiles"]["depict"] and not types["atoms"]["depict"]
