"""The prediction cache: on and off give the same outputs, a hit says ``"cached": true``,
private models never share entries, Redis (db 5) is used for real, and a Redis that does not
answer makes the hub not ready without changing any answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from hub.runtime.cache import MemoryCache, RedisCache, item_key, version_token
from hub.service.app import create_app
from tests.service.serving_support import PRIVATE, PUBLIC, SMILES, ServingHome, shared_home

REDIS_URL = "redis://127.0.0.1:6379/5"
DOWN_URL = "redis://127.0.0.1:1/5"  # nothing listens there


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ServingHome:
    return shared_home(tmp_path_factory)


def _client(home: ServingHome, **settings: object) -> TestClient:
    runtime = Runtime(home.settings(**settings))
    return TestClient(create_app(runtime, warm=False), raise_server_exceptions=False)


def _strip(outputs: list[dict]) -> list[dict]:
    return [{k: v for k, v in o.items() if k != "cached"} for o in outputs]


def _close(got: list[dict], want: list[dict]) -> bool:
    """The same outputs, numbers to 1e-6 (TensorFlow's first calls in a process may differ
    from later ones by an ulp), everything else equal."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if set(g) != set(w):
            return False
        for k, v in w.items():
            if isinstance(v, float):
                if g[k] is None or abs(g[k] - v) > 1e-6:
                    return False
            elif g[k] != v:
                return False
    return True


def _predict(c: TestClient, inputs: list, ref: str = PUBLIC, **kw: object) -> dict:
    r = c.post(f"/v1/models/{ref}/predict", json={"inputs": inputs}, **kw)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def uncached(home: ServingHome) -> list[dict]:
    """What the hub answers with no cache at all (and no micro-batching)."""
    with _client(home, prediction_cache="off", microbatch_ms=0.0) as c:
        body = _predict(c, SMILES)
    assert not any("cached" in o for o in body["outputs"])
    return body["outputs"]


def test_memory_cache_same_outputs_and_marked(home: ServingHome, uncached: list[dict]) -> None:
    with _client(home, prediction_cache="memory") as c:
        first = _predict(c, SMILES)["outputs"]
        again = _predict(c, SMILES)["outputs"]
        assert isinstance(c.app.state.runtime.cache, MemoryCache)
    assert _close(first, uncached)  # a duplicate in one batch: computed once, not "cached"
    assert _strip(again) == first  # a hit is the computed answer, to the bit
    # every good output is a hit the second time; errors are computed again
    assert [o.get("cached", False) for o in again] == ["error" not in o for o in uncached]
    assert again[2]["error"]["code"] == "invalid_smiles" and again[5]["error"]


def test_cache_is_per_version_and_params(home: ServingHome) -> None:
    with _client(home, prediction_cache="memory") as c:
        _predict(c, ["CCO"])
        explained = c.post(
            f"/v1/models/{PUBLIC}/predict", json={"inputs": ["CCO"], "params": {"explain": True}}
        ).json()["outputs"][0]
        assert "cached" not in explained and "explanation" in explained
    runtime = Runtime(home.settings())
    public, private = runtime.resolve(PUBLIC), runtime.store.resolve(PRIVATE)
    assert public.artifacts == private.artifacts  # same weights, still different entries
    assert version_token(public) != version_token(private)
    p = b"{}"
    assert item_key(version_token(public), p, "CCO") != item_key(version_token(private), p, "CCO")
    assert item_key(b"v", b"{}", "CCO") != item_key(b"v", b'{"explain":true}', "CCO")
    assert item_key(b"v", b"{}", {"a": 1, "b": 2}) == item_key(b"v", b"{}", {"b": 2, "a": 1})


def test_private_model_entries_stay_private(home: ServingHome, uncached: list[dict]) -> None:
    with _client(home, prediction_cache="memory") as c:
        alice, bob = home.headers("alice"), home.headers("bob")
        first = _predict(c, ["CCO"], PRIVATE, headers=alice)["outputs"][0]
        assert "cached" not in first and _close([first], uncached[:1])  # same weights
        assert _predict(c, ["CCO"], PRIVATE, headers=alice)["outputs"][0]["cached"] is True
        # another user and an anonymous caller: 404 (not 403, not a cached answer)
        for headers in (bob, {}):
            r = c.post(f"/v1/models/{PRIVATE}/predict", json={"inputs": ["CCO"]}, headers=headers)
            assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        # the public model with the same weights does not see the private entries
        assert "cached" not in _predict(c, ["CCO"], headers=bob)["outputs"][0]


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    yield r
    r.flushdb()


def test_redis_cache_shared_between_processes(
    home: ServingHome, uncached: list[dict], redis_db: redis.Redis
) -> None:
    with _client(home, redis_url=REDIS_URL) as c:  # auto: Redis when configured
        assert isinstance(c.app.state.runtime.cache, RedisCache)
        assert c.get("/health/ready").json()["prediction_cache"] == "redis: ok"
        first = _predict(c, SMILES)["outputs"]
        assert _close(first, uncached)
    keys = redis_db.keys("hub:pc:*")
    assert len(keys) == len({s for s, o in zip(SMILES, uncached, strict=True) if "error" not in o})
    assert all(0 < redis_db.ttl(k) <= 86_400 for k in keys)
    with _client(home, redis_url=REDIS_URL) as c:  # another runtime: a new, empty process
        again = _predict(c, SMILES)["outputs"]
    assert _strip(again) == first  # read back from Redis, to the bit
    assert [o.get("cached", False) for o in again] == ["error" not in o for o in uncached]


def test_redis_down_not_ready_and_answers_right(home: ServingHome, uncached: list[dict]) -> None:
    with _client(home, redis_url=DOWN_URL) as c:
        ready = c.get("/health/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable" and body["catalog"] == "ok"
        assert body["prediction_cache"].startswith("redis: Redis at redis://127.0.0.1:1/5")
        assert "does not answer" in body["prediction_cache"]
        for _ in range(2):  # computed every time, never marked cached
            assert _close(_predict(c, SMILES)["outputs"], uncached)
        assert c.get("/health/live").status_code == 200


def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(max_entries=3)
    cache.put_many({bytes([i]): b"x" for i in range(5)})
    assert len(cache) == 3
    assert cache.get_many([b"\x00", b"\x04"]) == [None, b"x"]


def test_sync_predict_uses_the_cache(home: ServingHome, uncached: list[dict]) -> None:
    runtime = Runtime(home.settings(prediction_cache="memory"))
    first = runtime.predict(PUBLIC, SMILES).outputs
    assert _close(first, uncached)
    assert _strip(runtime.predict(PUBLIC, SMILES).outputs) == first
