"""The counters behind the rate limits and quotas: fixed windows (the wall-clock minute and
the UTC day) per subject (``key:<id>``, ``addr:<ip>``), in process or shared through Redis.

**In process** (:class:`MemoryCounters`): exact, a lock and two dictionaries.

**Redis** (:class:`RedisCounters`), shared by every process of a hub. A request must not wait
for a round trip to Redis (0.1-1 ms on a busy machine: more than the whole budget of
authentication + audit), so each process *reserves* allowance in chunks and spends it
locally:

- a reservation is one atomic script: ``grant = min(wanted, limit - counter)``, then the
  window's counter in Redis grows by ``grant``. The counter is the allowance handed out to
  all processes together, so **no more than the limit is ever admitted in a window, across
  all processes** (as before, when every request was a round trip);
- a request takes its units from the process's allowance when it holds enough (no round
  trip). When the allowance falls to half a chunk, another chunk is reserved in the
  background; the chunk doubles with each reservation, up to 1/64 of the limit, so a key
  used rarely reserves one unit at a time and a busy one a few seconds' worth;
- a request that finds too little allowance reserves what it lacks (one round trip: the
  first request of a window, or near the limit) and is refused when Redis grants less;
- the price: allowance a process reserved and has not spent is lost to the others until the
  window ends, so near the limit a request can be refused while another process still holds
  a few units: at most a chunk (1/64 of the limit) per other process. A process returns its
  unspent allowance when it stops (:meth:`RedisCounters.close`); a killed process's expires
  with its window.

When Redis does not answer, a request is counted in process (logged) rather than refused.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple, Protocol

from hub.auth.background import Worker

log = logging.getLogger("hub.quotas")

MINUTE_S = 60
DAY_S = 86_400
CHUNK_SHARE = 64  # a reservation is at most limit / CHUNK_SHARE units


class Limits(NamedTuple):
    """Most requests in a minute and cost units in a UTC day (0: no limit). A named tuple:
    made on every request, and a frozen dataclass costs several times more to make."""

    per_minute: int
    per_day: int


class Usage(NamedTuple):
    """The counters after a request: requests this minute, units today."""

    minute: int
    day: int


class Counters(Protocol):
    def hit(self, subject: str, cost: int, limits: Limits, now: float) -> tuple[Usage, str | None]:
        """Count one request of ``cost`` units; the usage and the limit refused (or None).
        A refused request's units are not kept."""
        ...


def windows(now: float) -> tuple[int, int]:
    """The minute and the UTC day of ``now`` (seconds since the epoch), as numbers."""
    return int(now // MINUTE_S), int(now // DAY_S)


class MemoryCounters:
    """Fixed-window counters in this process (one lock; old windows dropped as time moves)."""

    def __init__(self) -> None:
        self._minute: dict[str, int] = {}
        self._day: dict[str, int] = {}
        self._windows = (-1, -1)
        self._lock = threading.Lock()

    def hit(self, subject: str, cost: int, limits: Limits, now: float) -> tuple[Usage, str | None]:
        minute, day = int(now // MINUTE_S), int(now // DAY_S)
        with self._lock:
            if minute != self._windows[0]:
                self._minute.clear()
            if day != self._windows[1]:
                self._day.clear()
            self._windows = (minute, day)
            m = self._minute[subject] = self._minute.get(subject, 0) + 1
            d = self._day.get(subject, 0)
            if limits.per_minute and m > limits.per_minute:
                return Usage(m, d), "requests_per_minute"
            if limits.per_day and d + cost > limits.per_day:
                return Usage(m, d), "items_per_day"
            if cost:
                self._day[subject] = d + cost
            return Usage(m, d + cost), None


# KEYS: the window's counter; ARGV: limit, units wanted, seconds to keep the counter.
# Returns {units granted, the counter after}.
_RESERVE = """
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = tonumber(ARGV[2])
local room = tonumber(ARGV[1]) - c
if room < grant then grant = room end
if grant <= 0 then return {0, c} end
c = redis.call('INCRBY', KEYS[1], grant)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {grant, c}
"""

# KEYS: a window's counter; ARGV: units not spent (a counter already expired stays absent)
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 0
"""


class _Lease:
    """Allowance this process holds for one counter of one window."""

    __slots__ = ("chunk", "counter", "refilling", "units")

    def __init__(self) -> None:
        self.units = 0  # reserved in Redis, not spent yet
        self.counter = 0  # the Redis counter after this process's last reservation
        self.chunk = 1  # units of the next reservation made ahead of need
        self.refilling = False


class RedisCounters:
    """The same fixed windows in Redis, shared by every process of the hub, spent from
    allowance reserved ahead (see the module's docstring). Keys: ``<prefix>q:m:<minute>:
    <subject>`` and ``<prefix>q:d:<day>:<subject>``, expiring after their window; their value
    is the allowance handed out in the window."""

    def __init__(self, url: str, *, prefix: str = "hub:", timeout_s: float = 0.5) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._script = self.client.register_script(_RESERVE)
        self._fallback = MemoryCounters()
        self._warned_at = 0.0
        # per kind of window (its ttl): (the current window, {key: its lease})
        self._leases: dict[int, tuple[int, dict[str, _Lease]]] = {}
        self._lock = threading.Lock()
        self._worker = Worker("hub-quota-reserve")
        self.round_trips = 0  # reservations made while a request waited (bench, tests)

    def ping(self) -> None:
        """Raise when Redis does not answer (``redis.exceptions.ConnectionError``)."""
        self.client.ping()

    def hit(self, subject: str, cost: int, limits: Limits, now: float) -> tuple[Usage, str | None]:
        import redis

        minute, day = windows(now)
        try:
            used_minute = used_day = 0
            if limits.per_minute:
                key = f"{self.prefix}q:m:{minute}:{subject}"
                ok, used_minute = self._take(key, 1, limits.per_minute, MINUTE_S + 5, minute)
                if not ok:
                    return Usage(used_minute + 1, 0), "requests_per_minute"
            if limits.per_day and cost:
                key = f"{self.prefix}q:d:{day}:{subject}"
                ok, used_day = self._take(key, cost, limits.per_day, DAY_S + 60, day)
                if not ok:
                    return Usage(used_minute, used_day), "items_per_day"
            return Usage(used_minute, used_day), None
        except redis.RedisError as exc:
            if time.monotonic() - self._warned_at > 30:
                self._warned_at = time.monotonic()
                log.warning("quota counters: Redis unavailable (%s); counting in process", exc)
            return self._fallback.hit(subject, cost, limits, now)

    def _lease(self, key: str, ttl_s: int, window: int) -> _Lease:
        """The lease of ``key`` in ``window`` (made if needed; the leases of the kind's past
        windows are dropped). Call with the lock held."""
        leases = self._leases.get(ttl_s)
        if leases is None or leases[0] != window:
            leases = self._leases[ttl_s] = (window, {})
        lease = leases[1].get(key)
        if lease is None:
            lease = leases[1][key] = _Lease()
        return lease

    def _take(self, key: str, need: int, limit: int, ttl_s: int, window: int) -> tuple[bool, int]:
        """Spend ``need`` units of ``key``'s allowance, reserving what is missing; whether
        they were granted, and the units used in the window (this request's included when
        granted) as far as this process knows."""
        with self._lock:
            lease = self._lease(key, ttl_s, window)
            if lease.units >= need:
                lease.units -= need
                self._top_up(key, lease, limit, ttl_s)
                return True, lease.counter - lease.units
            missing = need - lease.units
            chunk = lease.chunk
        granted, counter = self._reserve(key, missing + chunk, limit, ttl_s)
        self.round_trips += 1
        with self._lock:
            lease.units += granted
            lease.counter = max(lease.counter, counter)
            lease.chunk = min(max(1, limit // CHUNK_SHARE), lease.chunk * 2)
            if lease.units >= need:
                lease.units -= need
                return True, lease.counter - lease.units
            return False, lease.counter - lease.units

    def _top_up(self, key: str, lease: _Lease, limit: int, ttl_s: int) -> None:
        """Reserve another chunk in the background when the allowance is down to half a
        chunk (with the lock held)."""
        if lease.refilling or lease.units * 2 > lease.chunk:
            return
        lease.refilling = True
        chunk = lease.chunk

        def reserve() -> None:
            granted = 0
            try:
                granted, counter = self._reserve(key, chunk, limit, ttl_s)
            finally:
                with self._lock:
                    lease.refilling = False
                    if granted:
                        lease.units += granted
                        lease.counter = max(lease.counter, counter)
                        lease.chunk = min(max(1, limit // CHUNK_SHARE), lease.chunk * 2)

        self._worker.submit(reserve)

    def _reserve(self, key: str, want: int, limit: int, ttl_s: int) -> tuple[int, int]:
        granted, counter = self._script(keys=[key], args=[limit, want, ttl_s])
        return int(granted), int(counter)

    def close(self) -> None:
        """Give the allowance this process reserved and did not spend back to Redis (best
        effort: at shutdown)."""
        import redis

        self._worker.drain()
        with self._lock:
            unspent = {
                key: lease.units
                for _, leases in self._leases.values()
                for key, lease in leases.items()
                if lease.units > 0
            }
            self._leases.clear()
        try:
            give_back = self.client.register_script(_GIVE_BACK)
            for key, units in unspent.items():
                give_back(keys=[key], args=[units])
        except redis.RedisError as exc:
            log.warning("quota counters: unspent allowance not returned to Redis: %s", exc)
