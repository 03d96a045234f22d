"""GET /v1/models/{name}/versions/{v}/pack on hub A, POST /v1/packs on hub B (SQLite and
PostgreSQL): the same predictions through B's API, B's model private to its importer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.auth import keys, users
from hub.runtime import Runtime
from hub.service.app import create_app
from tests.packs.packtools import INPUTS, Hub, predictions_json

PACK = "application/zip"


def _client(hub: Hub, plugins, tokens: dict[str, str]) -> TestClient:  # noqa: ANN001
    for who, scopes in (("root", "admin"), ("alice", "read,predict,publish"),
                        ("bob", "read,predict,publish")):  # fmt: skip
        users.ensure_user(hub.store, who)
        tokens[who] = keys.create_key(hub.store, who, scopes)[1]
    runtime = Runtime(hub.settings, store=hub.store, plugins=plugins)
    return TestClient(create_app(runtime, warm=False), raise_server_exceptions=False)


@pytest.fixture
def two_hubs(source_hub: Hub, target_hub: Hub, plugins) -> Iterator[tuple]:  # noqa: ANN001
    a_tokens: dict[str, str] = {}
    b_tokens: dict[str, str] = {}
    with _client(source_hub, plugins, a_tokens) as a, _client(target_hub, plugins, b_tokens) as b:
        yield a, a_tokens, b, b_tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_pack_over_http(two_hubs, source_runtime) -> None:  # noqa: ANN001
    a, a_tokens, b, b_tokens = two_hubs
    name = "chemistry.solubility"
    url = f"/v1/models/{name}/versions/1/pack"
    # the weights leave with their owner's or an admin's key only
    assert a.get(url).status_code == 401
    assert a.get(url, headers=_auth(a_tokens["bob"])).status_code == 403
    got = a.get(url, headers=_auth(a_tokens["root"]))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == PACK
    assert "chemistry.solubility-1.hubpack" in got.headers["content-disposition"]
    sha = hashlib.sha256(got.content).hexdigest()
    assert got.headers["x-hub-pack-sha256"] == sha
    pack = got.content
    root = _auth(a_tokens["root"])
    for missing in (9, 2147483646):  # a number a reference could not hold is a 404 too
        gone = a.get(f"/v1/models/{name}/versions/{missing}/pack", headers=root)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "version_not_found"

    files = {"file": ("solubility.hubpack", pack, PACK)}
    assert b.post("/v1/packs", files=files).status_code == 401
    done = b.post("/v1/packs", files=files, data={"sha256": sha},
                  headers=_auth(b_tokens["alice"]))  # fmt: skip
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["ref"], body["created"], body["pack_sha256"]) == (f"{name}:1", True, sha)
    assert body["imported_from"]["hub"] == "http://testserver"
    assert body["detail"]["recipe"].startswith("imported:")
    again = b.post("/v1/packs", files=files, headers=_auth(b_tokens["alice"]))
    assert again.status_code == 200 and again.json()["created"] is False

    inputs = INPUTS[name]
    predicted = b.post(f"/v1/models/{name}/predict", json={"inputs": inputs},
                       headers=_auth(b_tokens["alice"]))  # fmt: skip
    assert predicted.status_code == 200, predicted.text
    want = json.loads(predictions_json(source_runtime, name, inputs))  # the cache's flag aside
    got = [{k: v for k, v in o.items() if k != "cached"} for o in predicted.json()["outputs"]]
    assert got == want
    # private to alice: bob does not see it, nor may he add versions to it
    bob = _auth(b_tokens["bob"])
    assert b.get(f"/v1/models/{name}", headers=bob).status_code == 404
    assert b.post("/v1/packs", files=files, headers=bob).json()["error"]["code"] == "model_exists"
    card = b.get(f"/v1/models/{name}", headers=_auth(b_tokens["alice"])).json()
    assert card["owner"] == "alice" and card["visibility"] == "private"
    # both ends are in the audit trails, with who, which model and the answer
    exported = a.get("/v1/audit", params={"action": "model.export"}, headers=root).json()
    assert ("root", name, 1, 200) in {
        (r["user"], r["model"], r["version"], r["status"]) for r in exported["data"]
    }
    imported = b.get("/v1/audit", params={"action": "model.import"},
                     headers=_auth(b_tokens["root"])).json()  # fmt: skip
    assert ("alice", name, 1, 201) in {
        (r["user"], r["model"], r["version"], r["status"]) for r in imported["data"]
    }


def test_bad_packs_over_http(two_hubs, packs, target_hub: Hub) -> None:  # noqa: ANN001
    _, _, b, b_tokens = two_hubs
    alice = _auth(b_tokens["alice"])
    data = bytearray(packs["physics.emt"].read_bytes())
    data[len(data) // 2] ^= 1
    bad = b.post("/v1/packs", files={"file": ("x.hubpack", bytes(data), PACK)}, headers=alice)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "pack_corrupt"
    junk = b.post("/v1/packs", files={"file": ("x.hubpack", b"not a zip", PACK)}, headers=alice)
    assert junk.status_code == 422 and junk.json()["error"]["code"] == "pack_corrupt"
    public = b.post(
        "/v1/packs",
        files={"file": ("emt.hubpack", packs["physics.emt"].read_bytes(), PACK)},
        data={"name": "physics.emt-alice", "visibility": "public"},
        headers=alice,
    )
    assert public.status_code == 201, public.text
    assert b.get("/v1/models/physics.emt-alice").json()["visibility"] == "public"
    names = [m.name for m in target_hub.store.list_models(include_private=True)[0]]
    assert names == ["physics.emt-alice"]
