"""Keys never reach a log: every key this folder's tests created (and used, good and bad,
over HTTP in process and through a real uvicorn server with its access log) is searched
for in every log record of the run. Named to run last in tests/auth."""

from __future__ import annotations

import logging

import httpx

from tests.auth.support import CREATED_KEYS, LOG_TRAP, Hub, new_key
from tests.conftest import serve


def test_no_key_in_any_log_record(hub: Hub) -> None:
    token = new_key(hub.store, "alice")
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    with serve(hub.client.app) as url:
        for key in (token, token + "x", "hub_0123456789ab_nope"):
            h = {"Authorization": f"Bearer {key}"}
            httpx.get(f"{url}/v1/models/auth.private", headers=h, timeout=30)
            httpx.post(f"{url}/v1/jobs", json={"model": "x"}, headers=h, timeout=30)
            httpx.get(f"{url}/?key={key[:4]}", headers=h, timeout=30)
    assert len(CREATED_KEYS) >= 10
    assert len(LOG_TRAP.lines) > 10, "the trap must have caught the run's logs"
    text = "\n".join(LOG_TRAP.lines)
    leaked = [
        key[:16]  # the public id only, in the failure message
        for key in CREATED_KEYS
        if key in text or key[len("hub_0123456789ab_") :] in text  # the key, or its secret
    ]
    assert not leaked, f"keys reached the logs: {leaked}"
