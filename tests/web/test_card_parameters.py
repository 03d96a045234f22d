"""Each model's parameters (types and bounds) and limits: on its card (JSON, Markdown, page)
and in /openapi.json; a bad parameter gets the same 422 shape on every model kind."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
def api(server_url: str):  # noqa: ANN201
    with httpx.Client(base_url=server_url, timeout=120) as c:
        yield c


def by_name(params: list[dict]) -> dict[str, dict]:
    return {p["name"]: p for p in params}


def test_card_lists_prediction_parameters_tasks_and_limits(api: httpx.Client) -> None:
    sol = api.get("/v1/models/chemistry.solubility").json()
    assert by_name(sol["parameters"])["explain"] == {
        **by_name(sol["parameters"])["explain"],
        "type": "boolean or string",  # true/false, or a method: 'atoms', 'shap'
        "default": False,
        "enum": ["atoms", "shap"],
    }
    assert sol["tasks"] == []  # no job runs on SMILES models
    assert sol["limits"]["max_smiles_chars"] == 2000 and sol["limits"]["max_heavy_atoms"] == 150

    emt = api.get("/v1/models/physics.emt").json()
    assert emt["parameters"] == []
    tasks = {t["name"]: by_name(t["parameters"]) for t in emt["tasks"]}
    # every structure task runs on every energy model, whatever its own input type
    assert set(tasks) == {"relax", "eos", "md", "neb", "vibrations", "thermo"}
    assert tasks["relax"]["fmax"]["exclusive_minimum"] == 0
    assert tasks["relax"]["fmax"]["maximum"] == 100
    assert tasks["md"]["integrator"]["enum"] == ["verlet", "langevin"]
    assert emt["limits"]["max_atoms"] == 5000  # the input type's
    assert emt["limits"]["cutoff_angstrom"] > 0  # the simulator's own, from its spec
    xtb = api.get("/v1/models/physics.gfn2-xtb").json()
    assert {t["name"] for t in xtb["tasks"]} == set(tasks)
    gap = api.get("/v1/models/physics.qm9-gap").json()  # structures in, but no energy out
    assert gap["tasks"] == []

    md = api.get("/v1/models/physics.emt/card.md").text
    assert "## Parameters and limits" in md and r"| fmax | number | 0.05 | (0, 100\] |" in md
    page = api.get("/models/physics.emt").text
    assert 'id="task-relax"' in page and 'id="limits"' in page


def test_openapi_declares_every_kind_and_task(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    kinds = spec["x-hub-parameters"]["model_kinds"]
    assert kinds["keras"] == "KerasParams" and kinds["simulator"] == "NoParams"
    assert kinds["chemistry.reaction_templates"] == "TemplateParams"
    assert spec["x-hub-parameters"]["tasks"]["md"] == "MdParams"
    top_k = spec["components"]["schemas"]["TemplateParams"]["properties"]["top_k"]
    assert (top_k["minimum"], top_k["maximum"]) == (1, 50)
    params = spec["components"]["schemas"]["PredictRequest"]["properties"]["params"]
    assert {"$ref": "#/components/schemas/KerasParams"} in params["anyOf"]
    assert spec["x-hub-input-limits"]["smiles"]["max_smiles_chars"] == 2000
    inputs = spec["components"]["schemas"]["PredictRequest"]["properties"]["inputs"]
    assert "max_heavy_atoms 150" in inputs["description"]


@pytest.mark.parametrize(
    ("model", "params", "bad"),
    [
        ("chemistry.solubility", {"explain": "yes"}, "explain"),
        ("chemistry.solubility", {"top_k": 3}, "top_k"),
        ("physics.emt", {"fmax": 0.1}, "fmax"),
    ],
)
def test_bad_parameters_get_one_422_shape(
    api: httpx.Client, model: str, params: dict, bad: str
) -> None:
    r = api.post(f"/v1/models/{model}/predict", json={"inputs": ["C"], "params": params})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_request"
    assert [e["param"] for e in err["detail"]["errors"]] == [bad]
