"""The client's lean road for JSON POSTs (``http.client`` + orjson, used by the remote ASE
calculator at every step) answers what httpx answers, with the same typed errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hub.client import HubClient
from hub.client.transport import Transport
from hub.errors import InvalidRequest, NotFound
from hub.runtime import Runtime
from hub.service.app import create_app
from tests.conftest import serve
from tests.service.serving_support import PUBLIC, ServingHome, shared_home


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: ServingHome = shared_home(tmp_path_factory)
    with serve(create_app(Runtime(home.settings(prediction_cache="off")), warm=True)) as base:
        yield base


def test_lean_post_same_answers_and_errors(url: str) -> None:
    lean = Transport(url)
    assert lean._lean is not None
    body = {"inputs": ["CCO", "not-a-smiles"], "params": {}}
    path = f"/v1/models/{PUBLIC}/predict"
    answer = lean.request("POST", path, json=body)
    assert answer == httpx.post(url + path, json=body).json()
    with pytest.raises(NotFound) as e:
        lean.request("POST", "/v1/models/chemistry.nothing/predict", json=body)
    assert e.value.code == "model_not_found"
    with pytest.raises(InvalidRequest):
        lean.request("POST", path, json={"inputs": "CCO"})
    for _ in range(3):  # the kept-alive connection serves every call
        assert lean.request("POST", path, json=body)["outputs"][0]["smiles"] == "CCO"
    lean._lean._conn.sock.close()  # as if the server had dropped it: opened again, once
    assert lean.request("POST", path, json=body)["version"] == answer["version"]
    lean.close()
    with HubClient(url) as client:
        assert client.predict(PUBLIC, ["CCO"]).outputs == answer["outputs"][:1]


def test_lean_road_not_taken_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert Transport("http://hub.example:8000")._lean is None
    monkeypatch.setenv("NO_PROXY", "hub.example")
    assert Transport("http://hub.example:8000")._lean is not None
    assert Transport("http://x", transport=httpx.MockTransport(lambda r: None))._lean is None
