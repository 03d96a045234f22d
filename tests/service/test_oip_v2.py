"""The Open Inference Protocol v2 with a real client: Triton's ``InferenceServerClient``
against the hub served by uvicorn. Same answers as ``/v1``, same visibility rules."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from hub.runtime import Runtime
from hub.service.app import create_app
from tests.conftest import serve
from tests.service.serving_support import PRIVATE, PUBLIC, ServingHome, shared_home

tritonclient_http = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ServingHome:
    return shared_home(tmp_path_factory)


@pytest.fixture(scope="module")
def url(home: ServingHome) -> Iterator[str]:
    app = create_app(Runtime(home.settings(prediction_cache="memory")), warm=True)
    with serve(app) as base:
        yield base


def _client(url: str, headers: dict[str, str] | None = None):  # noqa: ANN202
    client = tritonclient_http.InferenceServerClient(url.removeprefix("http://"))
    return client, headers or {}


def _smiles(values: list[str]):  # noqa: ANN202
    t = tritonclient_http.InferInput("smiles", [len(values)], "BYTES")
    t.set_data_from_numpy(np.array([v.encode() for v in values], dtype=np.object_))
    return t


def test_health_and_metadata(url: str) -> None:
    client, _ = _client(url)
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready(PUBLIC)
    meta = client.get_model_metadata(PUBLIC)
    assert meta["name"] == PUBLIC and meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "smiles", "datatype": "BYTES", "shape": [-1]}]
    assert [o["name"] for o in meta["outputs"]] == ["log_solubility", "uncertainty", "error"]
    assert client.get_model_metadata(PUBLIC, "1")["name"] == PUBLIC


@pytest.mark.parametrize("binary", [True, False])
def test_infer_valid_and_invalid_smiles(url: str, binary: bool) -> None:
    client, _ = _client(url)
    inp = _smiles(["CCO", "not-a-smiles"])
    if not binary:
        inp.set_data_from_numpy(np.array([b"CCO", b"not-a-smiles"], dtype=np.object_), False)
    outputs = None
    if not binary:
        outputs = [
            tritonclient_http.InferRequestedOutput(n, binary_data=False)
            for n in ("log_solubility", "uncertainty", "error")
        ]
    result = client.infer(PUBLIC, [inp], outputs=outputs)
    value = result.as_numpy("log_solubility")
    error = result.as_numpy("error")
    assert value.dtype == np.float32 and value.shape == (2,)
    v1 = httpx.post(f"{url}/v1/models/{PUBLIC}/predict", json={"inputs": ["CCO"]}).json()
    assert value[0] == np.float32(v1["outputs"][0]["value"])  # the same prediction as /v1
    assert abs(result.as_numpy("uncertainty")[0] - v1["outputs"][0]["uncertainty"]) < 1e-6
    assert np.isnan(value[1])
    as_text = [e.decode() if isinstance(e, bytes) else e for e in error]
    assert as_text[0] == "" and as_text[1].startswith("invalid_smiles: ")
    assert result.get_response()["model_version"] == "1"


def test_invalid_requests(url: str) -> None:
    client, _ = _client(url)
    numbers = tritonclient_http.InferInput("smiles", [1], "FP32")
    numbers.set_data_from_numpy(np.array([1.0], dtype=np.float32))
    with pytest.raises(InferenceServerException, match="must be BYTES"):
        client.infer(PUBLIC, [numbers])
    with pytest.raises(InferenceServerException, match="not_found"):
        client.infer("chemistry.nothing", [_smiles(["CCO"])])
    r = httpx.post(f"{url}/v2/models/{PUBLIC}/infer", content=b"{not json")
    assert r.status_code == 422 and "does not parse" in r.json()["error"]  # OIP: a string
    r = httpx.post(
        f"{url}/v2/models/{PUBLIC}/infer",
        content=b'{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"data":["C"]}]}',
    )
    assert r.status_code == 422 and "1 elements for shape [2]" in r.json()["error"]
    assert r.json()["error"].startswith("invalid_request: ")
    # the /v1 API keeps its own error shape
    r = httpx.post(f"{url}/v1/models/{PUBLIC}/predict", content=b"{not json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_private_model_same_rules_as_v1(url: str, home: ServingHome) -> None:
    client, _ = _client(url)
    alice, bob = home.headers("alice"), home.headers("bob")
    result = client.infer(PRIVATE, [_smiles(["CCO"])], headers=alice)
    assert result.as_numpy("log_solubility").shape == (1,)
    assert client.get_model_metadata(PRIVATE, headers=alice)["name"] == PRIVATE
    for headers in (bob, {}):
        for call in (
            lambda h=headers: client.infer(PRIVATE, [_smiles(["CCO"])], headers=h),
            lambda h=headers: client.get_model_metadata(PRIVATE, headers=h),
        ):
            with pytest.raises(InferenceServerException) as info:
                call()
            assert info.value.status() == "404" and "model_not_found" in str(info.value)
        clean = {k: v for k, v in headers.items() if k == "Authorization"}  # tritonclient adds
        r = httpx.get(f"{url}/v2/models/{PRIVATE}", headers=clean)
        assert r.status_code == 404 and r.json()["error"].startswith("model_not_found: ")
