"""The HTTP API: catalog, predictions, limits and errors. Nothing a client sends yields a 500."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
def http(server_url: str):  # noqa: ANN201
    with httpx.Client(base_url=server_url, timeout=60) as c:
        yield c


def test_health_and_docs(http: httpx.Client) -> None:
    assert http.get("/health/live").json() == {"status": "ok"}
    ready = http.get("/health/ready").json()
    assert ready["catalog"] == "ok"
    assert {p["name"] for p in ready["plugins"]} >= {"chemistry", "physics"}
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert "/v1/models/{ref}/predict" in paths


def test_list_and_filter(http: httpx.Client) -> None:
    body = http.get("/v1/models").json()
    names = [m["name"] for m in body["data"]]
    assert {"chemistry.solubility", "physics.emt"} <= set(names) and body["count"] == len(names)
    physics = [m["name"] for m in http.get("/v1/models?domain=physics").json()["data"]]
    assert physics == sorted(physics) and len(physics) >= 3
    assert {"physics.emt", "physics.gfn2-xtb", "physics.lennard-jones"} <= set(physics)
    assert all(n.startswith("physics.") for n in physics)
    assert [m["name"] for m in http.get("/v1/models?q=solub").json()["data"]] == [
        "chemistry.solubility"
    ]
    tagged = http.get("/v1/models?tag=emt").json()
    assert "physics.emt" in {m["name"] for m in tagged["data"]}
    assert tagged["count"] == len(tagged["data"]) and all(
        "emt" in m["tags"] for m in tagged["data"]
    )
    assert http.get("/v1/models?task=nothing").json() == {"data": [], "count": 0}


def test_model_card(http: httpx.Client) -> None:
    card = http.get("/v1/models/chemistry.solubility").json()
    assert card["input_type"] == "smiles"
    assert card["outputs"][0]["unit"] == "log10(mol/L)"
    assert card["aliases"][0]["alias"] == "latest"
    v = card["versions"][0]
    names = {(m["name"], m["split"]) for m in v["metrics"]}
    assert {("rmse", "random"), ("mae", "random"), ("r2", "random")} <= names
    assert len(v["dataset"]["sha256"]) == 64 and v["software"]["rdkit"]
    assert v["featurizer"]["name"] == "chemistry.rdkit2d_morgan"


def test_predict_mixed_batch(http: httpx.Client) -> None:
    r = http.post(
        "/v1/models/chemistry.solubility/predict",
        json={"inputs": ["CCO", "c1ccccc1O", "not-a-smiles"]},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "chemistry.solubility" and body["version"] >= 1
    a, b, c = body["outputs"]
    assert a["unit"] == "log10(mol/L)" and isinstance(a["value"], float)
    assert b["smiles"] == "Oc1ccccc1"
    assert c["error"]["code"] == "invalid_smiles" and "parse error" in c["error"]["message"]


def test_refs(http: httpx.Client) -> None:
    for ref in ("chemistry.solubility", "chemistry.solubility@latest", "chemistry.solubility:1"):
        r = http.post(f"/v1/models/{ref}/predict", json={"inputs": ["CCO"]})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "ref,code",
    [
        ("chemistry.nothing", "model_not_found"),
        ("chemistry.solubility@nope", "alias_not_found"),
        ("chemistry.solubility:99", "version_not_found"),
    ],
)
def test_unknown_model_is_404(http: httpx.Client, ref: str, code: str) -> None:
    r = http.post(f"/v1/models/{ref}/predict", json={"inputs": ["CCO"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == code
    assert http.get("/v1/models/chemistry.nothing").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'"CCO"',
        b'{"inputs": "CCO"}',
        b'{"inputs": 5}',
        b'{"inputs": ["CCO"], "params": []}',
        b'{"inputs": ["CCO"], "extra": 1}',
        b'{"input": ["CCO"]}',
    ],
)
def test_malformed_request_is_422(http: httpx.Client, body: bytes) -> None:
    r = http.post(
        "/v1/models/chemistry.solubility/predict",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_bad_reference_is_422(http: httpx.Client) -> None:
    r = http.post("/v1/models/Not A Ref!/predict", json={"inputs": ["CCO"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_reference"


def test_wrong_item_types_are_item_errors(http: httpx.Client) -> None:
    r = http.post(
        "/v1/models/chemistry.solubility/predict",
        json={"inputs": [5, None, {"a": 1}, ["CCO"], "", "   ", "C" * 100_000]},
    )
    assert r.status_code == 200
    codes = [o["error"]["code"] for o in r.json()["outputs"]]
    assert codes == ["invalid_input"] * 4 + ["empty_input"] * 2 + ["too_large"]


def test_limits_are_413(http: httpx.Client, runtime) -> None:  # noqa: ANN001
    limit = runtime.settings.max_body_bytes
    r = http.post(
        "/v1/models/chemistry.solubility/predict",
        content=b'{"inputs": ["' + b"C" * (limit + 10) + b'"]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and str(limit) in r.json()["error"]["message"]
    r = http.post(
        "/v1/models/chemistry.solubility/predict",
        json={"inputs": ["C"] * (runtime.settings.max_batch + 1)},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_streamed_body_over_limit_is_413(http: httpx.Client, runtime) -> None:  # noqa: ANN001
    limit = runtime.settings.max_body_bytes

    def chunks():  # noqa: ANN202 - no Content-Length: chunked transfer
        yield b'{"inputs": ["'
        for _ in range(limit // 65536 + 2):
            yield b"C" * 65536
        yield b'"]}'

    r = http.post(
        "/v1/models/chemistry.solubility/predict",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413


def test_simulator_predict_and_bad_atoms(http: httpx.Client) -> None:
    cu = {
        "symbols": ["Cu"],
        "positions": [[0, 0, 0]],
        "cell": [[0, 1.8, 1.8], [1.8, 0, 1.8], [1.8, 1.8, 0]],
        "pbc": True,
    }
    nan = b'{"inputs": [{"symbols": ["Cu"], "positions": [[NaN, 0, 0]]}]}'
    r = http.post(
        "/v1/models/physics.emt/predict", content=nan, headers={"content-type": "application/json"}
    )
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert r.json()["outputs"][0]["error"]["code"] == "non_finite"
    r = http.post(
        "/v1/models/physics.emt/predict",
        json={
            "inputs": [
                cu,
                {"symbols": ["Cu"], "positions": [["NaN", 0, 0]]},
                {"symbols": ["Xx"], "positions": [[0, 0, 0]]},
                {"symbols": ["U"], "positions": [[0, 0, 0]]},
                "CCO",
            ]
        },
    )
    assert r.status_code == 200
    out = r.json()["outputs"]
    assert out[0]["unit"] == {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3"}
    assert [o["error"]["code"] for o in out[1:]] == [
        "non_finite",
        "unknown_element",
        "unsupported_element",
        "invalid_atoms",
    ]
