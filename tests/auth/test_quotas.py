"""Rate limits and quotas: a burst from one key gets 429s (with ``Retry-After`` and a body
naming the limit) while another key goes on, with counters in process and in a real Redis
(``HUB_TEST_REDIS_URL``, which .ci/run sets: when it is set and Redis does not answer, these
tests fail); the daily quota counts cost, not requests; per-user overrides; anonymous callers
per address."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.auth.identity import ANONYMOUS, SYSTEM, Caller
from hub.auth.quotas import (
    Counters,
    MemoryCounters,
    Quotas,
    RedisCounters,
    atoms_guess,
    job_cost,
    prediction_cost,
    set_user_quota,
)
from hub.config import Settings, sqlite_url
from hub.errors import PayloadTooLarge, RateLimited
from tests.auth.support import CU2, Hub, make_hub

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL")
CU4 = {"symbols": "Cu4", "positions": [[0, 0, 0], [0, 0, 2.5], [0, 2.5, 0], [2.5, 0, 0]]}


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> Iterator[Counters]:
    """In-process counters, and Redis ones under a prefix of this test's own."""
    if request.param == "memory":
        yield MemoryCounters()
        return
    if not REDIS_URL:
        pytest.skip("HUB_TEST_REDIS_URL not set")
    redis_counters = RedisCounters(REDIS_URL, prefix=f"hub-test-audit:{uuid.uuid4().hex}:")
    try:
        redis_counters.ping()
    except Exception as exc:  # set but unreachable: fail, never skip
        pytest.fail(f"HUB_TEST_REDIS_URL is set but Redis does not answer: {exc}")
    yield redis_counters
    keys = list(redis_counters.client.scan_iter(f"{redis_counters.prefix}*"))
    if keys:
        redis_counters.client.delete(*keys)


@pytest.fixture(scope="module")
def quota_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    home = tmp_path_factory.mktemp("quota-home")
    h = make_hub(sqlite_url(home / "registry.db"), home)
    with h.client:
        yield h
    h.store.close()


def _limits(h: Hub, counters: Counters, **limits: int) -> Quotas:
    settings = Settings(database_url=h.store.url, artifacts_dir=h.home / "artifacts", **limits)
    quotas = h.client.app.state.hub_quotas = Quotas(settings, h.store, counters=counters)
    return quotas


def _clear_of_minute_end(margin_s: float = 4.0) -> None:
    """Fixed windows: start a burst well inside a minute, so it is counted in one window."""
    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.05)


def _predict(h: Hub, who: str, inputs: list | None = None):  # noqa: ANN202
    return h.client.post(
        "/v1/models/auth.public/predict", json={"inputs": inputs or [CU2]}, headers=h.headers(who)
    )


def test_burst_from_one_key_gets_429_while_another_key_goes_on(
    quota_hub: Hub, counters: Counters
) -> None:
    _limits(quota_hub, counters, rate_per_minute=20, items_per_day=0)
    _clear_of_minute_end(margin_s=8)
    calm = []
    for _ in range(5):  # the other key's latency before the burst
        t = time.perf_counter()
        assert _predict(quota_hub, "other").status_code == 200
        calm.append(time.perf_counter() - t)
    burst, during = [], []
    for i in range(26):
        burst.append(_predict(quota_hub, "user"))
        if i % 2:
            t = time.perf_counter()
            r = _predict(quota_hub, "other")  # 5 + 13 requests: within its own limit
            during.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    statuses = [r.status_code for r in burst]
    assert statuses == [200] * 20 + [429] * 6
    refused = burst[-1]
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["detail"]["limit"] == "requests_per_minute"
    assert error["detail"]["allowed"] == 20
    assert error["detail"]["retry_after_s"] == retry
    assert "20 requests per minute" in error["message"]
    # the other keys' requests kept their latency (a generous bound: a shared 2-core machine)
    assert statistics.median(during) < 3 * statistics.median(calm) + 0.05
    # the refused requests are in the audit trail with their status
    from hub.auth.audit import audit_log_for, query_audit

    audit_log_for(quota_hub.store.url).flush()
    rows, _ = query_audit(quota_hub.store.engine, user="alice", action="predict", limit=6)
    assert [(r.status, r.error) for r in rows] == [(429, "rate_limited")] * 6
    if isinstance(counters, RedisCounters):  # the counts really are in Redis
        assert list(counters.client.scan_iter(f"{counters.prefix}q:m:*"))


def test_daily_items_quota_counts_atoms_not_requests(quota_hub: Hub, counters: Counters) -> None:
    _limits(quota_hub, counters, rate_per_minute=0, items_per_day=10)
    _clear_of_minute_end()
    assert _predict(quota_hub, "member", [CU2, CU2]).status_code == 200  # 4 atoms
    assert _predict(quota_hub, "member", [CU4]).status_code == 200  # 8
    r = _predict(quota_hub, "member", [CU2, CU2])  # 12 > 10: refused, not counted
    assert r.status_code == 429
    detail = r.json()["error"]["detail"]
    assert detail["limit"] == "items_per_day" and detail["used"] == 8 and detail["cost"] == 4
    assert int(r.headers["retry-after"]) <= 86_400
    assert _predict(quota_hub, "member", [CU2]).status_code == 200  # 10: just fits
    # a request over the whole daily quota can never pass: 413, not 429
    r = _predict(quota_hub, "other", [CU4, CU4, CU4])
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "over_daily_quota"


def test_job_cost_is_atoms_times_steps(quota_hub: Hub, counters: Counters) -> None:
    _limits(quota_hub, counters, rate_per_minute=0, items_per_day=1500)
    body = {"model": "auth.public", "task": "relax", "input": CU2}
    c, key = quota_hub.client, quota_hub.headers("member")
    assert c.post("/v1/jobs", json=body, headers=key).status_code == 202  # 2 x 500
    r = c.post("/v1/jobs", json=body, headers=key)
    assert r.status_code == 429 and r.json()["error"]["detail"]["cost"] == 1000
    short = {**body, "params": {"steps": 50}}
    assert c.post("/v1/jobs", json=short, headers=key).status_code == 202  # 2 x 50


def test_user_override_replaces_the_defaults_for_their_keys(
    quota_hub: Hub, counters: Counters
) -> None:
    quotas = _limits(quota_hub, counters, rate_per_minute=4, items_per_day=0)
    set_user_quota(quota_hub.store, "alice", requests_per_minute=2)
    quotas.forget()
    try:
        _clear_of_minute_end()
        alice = [_predict(quota_hub, "user").status_code for _ in range(4)]
        bob = [_predict(quota_hub, "other").status_code for _ in range(4)]
        assert alice == [200, 200, 429, 429]
        assert bob == [200] * 4
        set_user_quota(quota_hub.store, "alice", requests_per_minute=0)  # 0: no limit
        quotas.forget()
        assert _predict(quota_hub, "user").status_code == 200
    finally:
        set_user_quota(quota_hub.store, "alice")


def test_anonymous_callers_are_limited_per_address(counters: Counters) -> None:
    settings = Settings(
        database_url="sqlite://", artifacts_dir=Path("."), anonymous_rate_per_minute=2
    )
    quotas = Quotas(settings, counters=counters)
    here, there = ANONYMOUS.with_address("10.0.0.1"), ANONYMOUS.with_address("10.0.0.2")
    now = 1_000_000 * 60 + 10.0  # ten seconds into a minute
    quotas.charge(here, 1, now=now)
    quotas.charge(here, 1, now=now)
    with pytest.raises(RateLimited) as caught:
        quotas.charge(here, 1, now=now)
    assert caught.value.detail["retry_after_s"] == 50
    assert "client address" in caught.value.message
    quotas.charge(there, 1, now=now)  # another address: its own counter
    quotas.charge(here, 1, now=now + 50)  # the next minute
    quotas.charge(SYSTEM, 10**12, now=now)  # the process itself is never counted


def test_windows_reset(counters: Counters) -> None:
    settings = Settings(
        database_url="sqlite://", artifacts_dir=Path("."), rate_per_minute=1, items_per_day=5
    )
    quotas = Quotas(settings, counters=counters)
    key = Caller("alice", f"k{uuid.uuid4().hex[:8]}", frozenset({"predict"}))
    day0 = 20_000 * 86_400 + 3600.0
    quotas.charge(key, 5, now=day0)
    with pytest.raises(RateLimited):
        quotas.charge(key, 0, now=day0 + 1)  # a second request in the minute
    with pytest.raises(RateLimited) as caught:
        quotas.charge(key, 1, now=day0 + 61)  # next minute, but the day is used up
    assert caught.value.detail["limit"] == "items_per_day"
    assert caught.value.detail["retry_after_s"] == 86_400 - 3661
    quotas.charge(key, 5, now=day0 + 86_400)  # the next UTC day
    with pytest.raises(PayloadTooLarge):
        quotas.charge(key, 6, now=day0 + 2 * 86_400)


def test_redis_down_falls_back_to_counting_in_process() -> None:
    """A Redis that does not answer must neither refuse every request nor lift the limits."""
    settings = Settings(database_url="sqlite://", artifacts_dir=Path("."), rate_per_minute=2)
    down = RedisCounters("redis://127.0.0.1:1/0", prefix="hub-test-audit:")
    quotas = Quotas(settings, counters=down)
    key = Caller("alice", "kdown", frozenset({"predict"}))
    now = 1_000_000 * 60 + 1.0
    quotas.charge(key, 1, now=now)
    quotas.charge(key, 1, now=now)
    with pytest.raises(RateLimited):
        quotas.charge(key, 1, now=now)


def test_cost_by_model_kind() -> None:
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O"]
    assert prediction_cost("keras", smiles) == 3  # a SMILES lookup: 1 each
    assert prediction_cost("keras", smiles, explain=True) == 3 + 7 + 13  # per heavy atom
    assert prediction_cost("simulator", ["CCO"]) == 3  # SMILES for a 3D engine: its atoms
    assert prediction_cost("simulator", [CU2, CU4]) == 6
    assert atoms_guess({"numbers": [29] * 7}) == 7
    assert atoms_guess({"symbols": "Cu2O"}) == 3
    assert atoms_guess({"extxyz": "12\n\nC 0 0 0\n"}) == 12
    assert atoms_guess({"nonsense": 1}) == 1 and atoms_guess(42) == 1
    assert job_cost(CU4, {"steps": 1000}) == 4000  # MD: atoms x steps
    assert job_cost(CU4, {"points": 9}) == 36  # an equation of state: atoms x points
    assert job_cost(CU4, {}) == 4
