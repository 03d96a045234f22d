"""API keys: stored only as a sha256, compared in constant time, refused when unknown,
malformed, revoked, expired or of a disabled user; scopes; HUB_ANONYMOUS; the first start."""

from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import select

from hub.auth import keys, users
from hub.auth.gate import Gate
from hub.catalog.rows import ApiKeyRow
from hub.errors import InvalidRequest, Unauthenticated
from tests.auth.support import CREATED_KEYS, Hub, new_key


def test_keys_are_stored_only_as_a_hash(hub: Hub) -> None:
    token = hub.keys["user"]
    key_id = keys.split_token(token)
    with hub.store.session() as s:
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.id == key_id))
        stored = [str(v) for v in (row.id, row.key_hash, row.scopes, row.label)]
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    secret = token[len("hub_0123456789ab_") :]
    assert not any(secret in v or token in v for v in stored)
    listed = keys.list_keys(hub.store, user="alice")
    assert all(token not in repr(k) and secret not in repr(k) for k in listed)


def test_bad_keys_are_401_and_never_echoed(hub: Hub) -> None:
    good = hub.keys["user"]
    key_id = keys.split_token(good)
    wrong_secret = f"hub_{key_id}_{'A' * 43}"
    for bad in (wrong_secret, "hub_000000000000_x", "not-a-key", good + "x", "hub_" + "z" * 300):
        r = hub.client.get("/v1/models", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
        assert bad not in r.text and r.json()["error"]["code"] == "invalid_key"
    r = hub.client.get("/v1/models", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401 and good not in r.text


def test_revoked_expired_and_disabled_keys_stop(hub: Hub) -> None:
    users.ensure_user(hub.store, "erin")
    token = new_key(hub.store, "erin")
    headers = {"Authorization": f"Bearer {token}"}
    assert hub.client.get("/v1/me", headers=headers).json()["user"] == "erin"
    keys.revoke_key(hub.store, keys.split_token(token))
    hub.client.app.state.gate.forget()  # another process revoked it: this one forgets in 1 s
    assert hub.client.get("/v1/me", headers=headers).status_code == 401
    expired, token2 = keys.create_key(hub.store, "erin", "read", expires_in_days=-1)
    CREATED_KEYS.append(token2)
    assert not expired.active
    assert (
        hub.client.get("/v1/me", headers={"Authorization": f"Bearer {token2}"}).status_code == 401
    )
    token3 = new_key(hub.store, "erin")
    users.set_user_disabled(hub.store, "erin", True)
    with pytest.raises(Unauthenticated):
        keys.verify_token(hub.store, token3)


def test_revocation_takes_effect_within_the_cache_time(hub: Hub) -> None:
    gate = Gate(hub.store, ttl_s=0.0)
    token = new_key(hub.store, "bob", "read")
    assert gate.caller(token).user == "bob"
    keys.revoke_key(hub.store, keys.split_token(token))
    with pytest.raises(Unauthenticated):
        gate.caller(token)


def test_scopes(hub: Hub) -> None:
    read_only = new_key(hub.store, "bob", "read")
    h = {"Authorization": f"Bearer {read_only}"}
    me = hub.client.get("/v1/me", headers=h).json()
    assert me["user"] == "bob" and "jobs" not in me["scopes"] and not me["admin"]
    r = hub.client.post(
        "/v1/jobs", json={"model": "auth.public", "task": "relax", "input": {}}, headers=h
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope"
    with pytest.raises(InvalidRequest):
        keys.create_key(hub.store, "bob", "read,root")
    with pytest.raises(InvalidRequest):
        keys.create_key(hub.store, "bob", "")
    admin = hub.client.get("/v1/me", headers=hub.headers("admin")).json()
    assert admin["admin"] is True and admin["user"] == "dave"


def test_anonymous_levels(hub: Hub, anonymous_level) -> None:  # noqa: ANN001
    body = {"inputs": [{"symbols": ["Cu"], "positions": [[0, 0, 0]]}]}
    anonymous_level("predict")  # the default: the README's curl works without a key
    assert hub.client.post("/v1/models/auth.public/predict", json=body).status_code == 200
    anonymous_level("read")
    assert hub.client.get("/v1/models").status_code == 200
    r = hub.client.post("/v1/models/auth.public/predict", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "key_required"
    anonymous_level("none")
    assert hub.client.get("/v1/models").status_code == 401
    page = hub.client.get("/")
    assert page.status_code == 401 and 'action="/signin"' in page.text
    assert hub.client.get("/health/live").status_code == 200
    assert hub.client.get("/v1/models", headers=hub.headers("other")).status_code == 200
    with pytest.raises(InvalidRequest):
        Gate(hub.store, anonymous="everything")


def test_first_start_says_how_to_make_the_first_admin_key(tmp_path, caplog) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from hub.catalog import CatalogStore
    from hub.config import Settings, sqlite_url
    from hub.runtime import Runtime
    from hub.service.app import create_app

    settings = Settings(database_url=sqlite_url(tmp_path / "r.db"), artifacts_dir=tmp_path / "a")
    store = CatalogStore(settings.database_url)
    with caplog.at_level(logging.INFO, logger="hub.auth"):
        with TestClient(create_app(Runtime(settings, store=store), warm=False)):
            pass
    assert "hub keys create --user <name> --admin" in caplog.text
    assert keys.count_active_keys(store) == 0  # never a default key
    store.close()


def test_user_and_group_names_are_checked(hub: Hub) -> None:
    for bad in ("Alice", "<b>x</b>", "a b", "hub", ""):
        with pytest.raises(InvalidRequest):
            users.create_user(hub.store, bad)
    with pytest.raises(InvalidRequest):
        users.create_group(hub.store, "chem team")
