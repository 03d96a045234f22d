"""The prediction cache: one output per (model version, input, parameters), reused verbatim.

What an entry is keyed by (:func:`item_key`), hashed with BLAKE2b (20 bytes):

- the version's identity (:func:`version_token`): its name and number, when it was registered,
  the sha256 of every artifact, its spec and fingerprint. A model deleted and registered again
  under the same name (perhaps by another owner, with other visibility) has another token, and
  so do two hubs sharing one Redis: an entry never answers for a version it was not computed by;
- the parameters after checking (defaults filled in), as canonical JSON;
- the input as sent: a string as is, anything else as canonical JSON (sorted keys).

What invalidates an entry: nothing needs to, a version is immutable (a new version has a new
token); entries leave by LRU order (in process) or by their time to live (Redis). Only outputs
without an ``error`` are stored: a failed input (an invalid SMILES, a deadline) is run again.

Visibility: the cache is consulted only after the route has authorized the caller for the
model (:func:`hub.service.deps.require`), and its keys include the version token, so a cached
answer reaches exactly the callers who could have computed it.

Where entries live: :class:`MemoryCache` (a bounded LRU in this process, the default), or
:class:`RedisCache` when ``HUB_REDIS_URL`` is set (shared by the hub's processes). When Redis
does not answer, every lookup is a miss and the prediction is computed (never a wrong or
missing answer), writes are skipped, Redis is left alone for ``RETRY_S`` seconds, and
``/health/ready`` reports the cache as unavailable (503) until it answers again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from hub.entities import Version

log = logging.getLogger(__name__)
RETRY_S = 5.0  # seconds Redis is left alone after it failed
REDIS_TIMEOUT_S = 0.25  # connect and read timeout of one Redis call


def version_token(version: Version) -> bytes:
    """The identity of a version's answers: name, number, registration time, artifacts, spec
    and fingerprint, hashed (16 bytes)."""
    ident = {
        "model": version.model,
        "version": version.version,
        "created_at": version.created_at.isoformat() if version.created_at else None,
        "kind": version.kind,
        "artifacts": version.artifacts,
        "spec": version.spec,
        "fingerprint": version.fingerprint,
    }
    data = orjson.dumps(ident, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(data, digest_size=16).digest()


def params_token(params: Mapping[str, Any]) -> bytes:
    """Checked parameters as canonical JSON."""
    return orjson.dumps(dict(params), option=orjson.OPT_SORT_KEYS, default=str)


def input_bytes(raw: Any) -> bytes:
    """One raw input as bytes: a string's UTF-8 (lone surrogates escaped), else canonical
    JSON (sorted keys); raises for what JSON cannot carry (such an input is not cached)."""
    if isinstance(raw, str):
        return b"s" + raw.encode("utf-8", "surrogatepass")
    return b"j" + orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)


def item_key(version: bytes, params: bytes, raw: Any) -> bytes:
    """The cache key of one input (20 bytes); raises for an input that cannot be keyed."""
    h = hashlib.blake2b(version, digest_size=20)
    h.update(len(params).to_bytes(4, "little"))
    h.update(params)
    h.update(input_bytes(raw))
    return h.digest()


class PredictionCache(Protocol):
    """Where outputs are kept: serialized outputs (orjson bytes) by key."""

    name: str

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """The stored value of each key, None for a miss (never raises)."""

    def put_many(self, items: Mapping[bytes, bytes]) -> None:
        """Store values (never raises)."""

    def health(self) -> str:
        """``ok``, or why the cache cannot be used now."""


class MemoryCache:
    """A bounded LRU in this process: at most ``max_entries`` outputs (thread-safe)."""

    name = "memory"

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max(1, int(max_entries))
        self._data: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        out: list[bytes | None] = []
        with self._lock:
            data = self._data
            for k in keys:
                v = data.get(k)
                if v is not None:
                    data.move_to_end(k)
                out.append(v)
        return out

    def put_many(self, items: Mapping[bytes, bytes]) -> None:
        with self._lock:
            data = self._data
            for k, v in items.items():
                data[k] = v
                data.move_to_end(k)
            while len(data) > self.max_entries:
                data.popitem(last=False)

    def health(self) -> str:
        return "ok"


class RedisCache:
    """Outputs in Redis under ``<prefix>pc:<key hex>`` with a time to live of ``ttl_s``
    seconds. A failing Redis is a miss (logged once per outage) and is skipped for
    ``RETRY_S`` seconds; :meth:`health` says why it failed."""

    name = "redis"

    def __init__(self, url: str, *, prefix: str = "hub:", ttl_s: float = 86_400.0) -> None:
        import redis

        self.url = url
        self.prefix = (prefix + "pc:").encode()
        self.ttl_s = max(1, int(ttl_s))
        self._redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._down_until = 0.0
        self._error: str | None = None

    def _full(self, key: bytes) -> bytes:
        return self.prefix + key.hex().encode()

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        if self._error is None:
            log.warning(
                "prediction cache: Redis at %s failed (%s); computing instead", self.url, exc
            )
        self._error = f"{type(exc).__name__}: {exc}"[:300]
        self._down_until = time.monotonic() + RETRY_S

    def _ok(self) -> None:
        if self._error is not None:
            log.info("prediction cache: Redis at %s answers again", self.url)
        self._error = None

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        if not keys or not self._usable():
            return [None] * len(keys)
        try:
            values = self._redis.mget([self._full(k) for k in keys])
        except Exception as exc:  # noqa: BLE001 - a cache failure is a miss, never an error
            self._failed(exc)
            return [None] * len(keys)
        self._ok()
        return list(values)

    def put_many(self, items: Mapping[bytes, bytes]) -> None:
        if not items or not self._usable():
            return
        try:
            pipe = self._redis.pipeline(transaction=False)
            for k, v in items.items():
                pipe.set(self._full(k), v, ex=self.ttl_s)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - a cache failure only costs speed
            self._failed(exc)

    def health(self) -> str:
        try:
            self._redis.ping()
        except Exception as exc:  # noqa: BLE001 - reported by readiness
            self._failed(exc)
            return f"Redis at {_safe_url(self.url)} does not answer: {self._error}"
        self._ok()
        self._down_until = 0.0
        return "ok"


def _safe_url(url: str) -> str:
    """``url`` without a password."""
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, _ = head.partition("://")
    return f"{scheme}://***@{tail}"


def make_cache(
    mode: str, *, redis_url: str | None, prefix: str, max_entries: int, ttl_s: float
) -> PredictionCache | None:
    """The cache ``HUB_PREDICTION_CACHE`` asks for: ``off`` (None), ``memory``, ``redis``, or
    ``auto`` (Redis when ``redis_url`` is set, else memory)."""
    mode = (mode or "auto").lower()
    if mode in ("off", "0", "false", "no"):
        return None
    if mode == "redis" or (mode == "auto" and redis_url):
        if not redis_url:
            raise ValueError("HUB_PREDICTION_CACHE=redis needs HUB_REDIS_URL")
        return RedisCache(redis_url, prefix=prefix, ttl_s=ttl_s)
    return MemoryCache(max_entries)


class CachedRun:
    """One batch's dealings with the cache: which inputs are answered, which must run.

    ``lookup`` keys every input (duplicates in the batch share one run), ``missing`` lists the
    inputs to compute (each distinct one once), and ``fill`` puts their outputs in every slot
    that asked for them, stores the ones without an error and marks the hits ``"cached":
    true``."""

    def __init__(self, cache: PredictionCache, version: bytes, params: bytes) -> None:
        self.cache = cache
        self.version = version
        self.params = params

    def lookup(self, inputs: Sequence[Any]) -> tuple[list[Any], list[int], list[list[int]]]:
        """``(slots, run, where)``: ``slots[i]`` is a hit's output (else None), ``run`` the
        indices of the inputs to compute, ``where[j]`` every slot answered by ``run[j]``."""
        keys: list[bytes | None] = []
        for raw in inputs:
            try:
                keys.append(item_key(self.version, self.params, raw))
            except Exception:  # noqa: BLE001 - an input JSON cannot key is just computed
                keys.append(None)
        known = [k for k in keys if k is not None]
        found = dict(zip(known, self.cache.get_many(known), strict=True)) if known else {}
        slots: list[Any] = [None] * len(inputs)
        run: list[int] = []
        where: list[list[int]] = []
        first: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            value = found.get(k) if k is not None else None
            if value is not None:
                slots[i] = orjson.loads(value) | {"cached": True}
                continue
            if k is not None and k in first:
                where[first[k]].append(i)
                continue
            if k is not None:
                first[k] = len(run)
            run.append(i)
            where.append([i])
        self._keys = keys
        return slots, run, where

    def fill(
        self,
        slots: list[Any],
        run: Sequence[int],
        where: Sequence[Sequence[int]],
        outputs: Sequence[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Put the computed ``outputs`` (one per ``run`` entry) into ``slots`` and store the
        good ones."""
        store: dict[bytes, bytes] = {}
        for j, out in enumerate(outputs):
            targets = where[j]
            slots[targets[0]] = out
            for i in targets[1:]:
                slots[i] = dict(out)
            k = self._keys[run[j]]
            if k is not None and "error" not in out:
                try:
                    store[k] = orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)
                except TypeError:
                    continue  # not JSON: not cached
        if store:
            self.cache.put_many(store)
        return slots
