"""Rate limits and quotas: requests per minute and input items per day, per API key (per
client address for callers without a key), configurable per user.

How cost is counted (the "items" of the daily quota are cost units):

- a prediction with a learned model of kind ``keras`` (SMILES, reactions): 1 per input;
- a prediction with any other kind (``simulator``, learned potentials): per input, its atoms
  (:func:`atoms_guess`: the length of ``numbers`` or ``symbols``, the count of a formula or
  of an extxyz file's first line, the heavy atoms written in a SMILES), at least 1: a single
  point costs one unit per atom;
- an explanation (``/explain``): per input, its atoms again (the model runs once per atom);
- a job: the atoms of its input times its steps (``steps`` of a relaxation or MD run,
  ``points`` of an equation of state, the task's defaults included: a relaxation without
  ``steps`` counts 500, its most);
- other writes (aliases, visibility, cancelling a job): 0 items, but they count as requests.

Limits (``hub.config.Settings``, 0 means none): ``rate_per_minute`` and ``items_per_day`` for
a key, ``anonymous_rate_per_minute`` and ``anonymous_items_per_day`` per address; a user's
override in ``user_quotas`` (``hub quotas set``) replaces the key defaults for all their keys.
Windows are fixed: the minute of the wall clock and the UTC day. Over a limit: 429
:class:`~hub.errors.RateLimited` whose detail names the ``limit`` and gives ``retry_after_s``
(the service sends it as ``Retry-After``); a single request costing more than the whole daily
quota can never pass: 413 ``over_daily_quota``.

Counters live in Redis when ``HUB_REDIS_URL`` is set (shared by every process: each process
reserves allowance in chunks and spends it without a round trip, and no more than a limit is
ever admitted across processes; :mod:`hub.auth.counters` says what it costs), in process
otherwise. When Redis does not answer, the counters fall back to the process (logged) rather
than refusing every request.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from hub.auth.audit_rows import UserQuotaRow
from hub.auth.background import Worker
from hub.auth.counters import (
    DAY_S,
    MINUTE_S,
    Counters,
    Limits,
    MemoryCounters,
    RedisCounters,
    Usage,
)
from hub.auth.identity import Caller
from hub.config import Settings
from hub.errors import InvalidRequest, PayloadTooLarge, RateLimited

log = logging.getLogger("hub.quotas")

__all__ = [
    "DAY_S",
    "MINUTE_S",
    "Counters",
    "Limits",
    "MemoryCounters",
    "Quotas",
    "RedisCounters",
    "Usage",
    "atoms_guess",
    "job_cost",
    "make_counters",
    "prediction_cost",
]
OVERRIDES_TTL_S = 30.0
STEP_PARAMS = ("steps", "points")  # a job's parameter that multiplies its cost
_ELEMENT = re.compile(r"Cl|Br|[BCNOPSFI]|[bcnops]|\[[^\]]*\]")


# -- cost ---------------------------------------------------------------------------------
def atoms_guess(raw: Any) -> int:
    """A cheap count of the atoms of a raw input when its type gives no estimate: the length
    of ``numbers`` or ``symbols``, the count of an extxyz file's first line, the atoms written
    in a SMILES (heavy atoms); at least 1."""
    n = 0
    if isinstance(raw, dict):
        for key in ("numbers", "symbols", "positions"):
            value = raw.get(key)
            if isinstance(value, list | tuple):
                n = len(value)
                break
            if key == "symbols" and isinstance(value, str):
                n = sum(int(c or 1) for c in re.findall(r"[A-Z][a-z]?(\d*)", value[:2000]))
                break
        text = raw.get("extxyz")
        if not n and isinstance(text, str):
            first = text.lstrip()[:20].split("\n", 1)[0].strip()
            n = int(first) if first.isdigit() else 1
    elif isinstance(raw, str):
        n = len(_ELEMENT.findall(raw[:20_000]))
    return max(1, n)


def item_size(raw: Any, input_type: Any = None) -> int:
    """The size of one input: its input type's estimate (``InputType.cost``) when it has
    one, else :func:`atoms_guess`; at least 1."""
    estimate = getattr(input_type, "cost", None)
    if estimate is not None:
        try:
            return max(1, int(estimate(raw)))
        except Exception:  # noqa: BLE001 - a bad input is reported by the model, not here
            return 1
    return atoms_guess(raw)


def prediction_cost(
    kind: str | None, inputs: Sequence[Any], *, input_type: Any = None, explain: bool = False
) -> int:
    """Cost units of a predict (or explain) request of ``inputs`` with a model of ``kind``."""
    if not isinstance(inputs, list | tuple):
        return 1
    if kind in ("keras", "lightgbm") and not explain:
        return len(inputs)
    return sum(item_size(raw, input_type) for raw in inputs)


def job_cost(raw: Any, params: dict[str, Any], *, input_type: Any = None) -> int:
    """Cost units of a job: the size of its input times its steps (``steps`` or ``points``
    of the checked parameters, defaults included)."""
    steps = 1
    for key in STEP_PARAMS:
        value = params.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 1:
            steps = int(value)
            break
    return item_size(raw, input_type) * steps


# -- limits ---------------------------------------------------------------------------------
def make_counters(settings: Settings) -> Counters:
    """Redis counters when ``settings.redis_url`` is set, else in-process ones."""
    if settings.redis_url:
        return RedisCounters(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryCounters()


# -- per-user overrides -------------------------------------------------------------------
@dataclass(frozen=True)
class UserQuota:
    user: str
    requests_per_minute: int | None
    items_per_day: int | None


def set_user_quota(
    store: Any,
    user: str,
    *,
    requests_per_minute: int | None = None,
    items_per_day: int | None = None,
) -> UserQuota:
    """Set ``user``'s limits (None keeps the default; 0: no limit)."""
    for name, value in (
        ("requests_per_minute", requests_per_minute),
        ("items_per_day", items_per_day),
    ):
        if value is not None and value < 0:
            raise InvalidRequest(f"{name} must be 0 (no limit) or more, not {value}")
    with store.session() as s:
        row = s.get(UserQuotaRow, user) or UserQuotaRow(user=user)
        row.requests_per_minute = requests_per_minute
        row.items_per_day = items_per_day
        row.updated_at = datetime.now(UTC)
        s.add(row)
    return UserQuota(user, requests_per_minute, items_per_day)


def clear_user_quota(store: Any, user: str) -> None:
    """Back to the defaults for ``user``."""
    with store.session() as s:
        s.execute(delete(UserQuotaRow).where(UserQuotaRow.user == user))


def list_user_quotas(store: Any) -> list[UserQuota]:
    with store.session() as s:
        rows = s.scalars(select(UserQuotaRow).order_by(UserQuotaRow.user)).all()
        return [UserQuota(r.user, r.requests_per_minute, r.items_per_day) for r in rows]


# -- the quota check ----------------------------------------------------------------------
class Quotas:
    """The limits of one hub: :meth:`charge` a caller for a request before its work."""

    def __init__(
        self, settings: Settings, store: Any = None, *, counters: Counters | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.counters = counters or make_counters(settings)
        self._overrides: dict[str, UserQuota] = {}
        self._overrides_until = 0.0
        self._overrides_read = False
        self._lock = threading.Lock()
        self._worker = Worker("hub-quota-overrides")

    def forget(self) -> None:
        """Read the per-user overrides again on the next request (and wait for them)."""
        self._overrides_until = 0.0
        self._overrides_read = False

    def _override(self, user: str) -> UserQuota | None:
        """``user``'s override: read once, then again every ``OVERRIDES_TTL_S`` seconds in
        the background (a request never waits for that query but the first)."""
        if self.store is not None and time.monotonic() >= self._overrides_until:
            if not self._overrides_read:
                self._read_overrides()
            else:
                self._overrides_until = float("inf")  # one read at a time
                self._worker.submit(self._read_overrides)
        return self._overrides.get(user)

    def _read_overrides(self) -> None:
        with self._lock:
            try:
                self._overrides = {q.user: q for q in list_user_quotas(self.store)}
            except Exception as exc:  # noqa: BLE001 - keep the last known overrides
                log.warning("quota overrides not read: %s", exc)
            self._overrides_read = True
            self._overrides_until = time.monotonic() + OVERRIDES_TTL_S

    def close(self) -> None:
        """Give unspent allowance back to Redis (at shutdown)."""
        close = getattr(self.counters, "close", None)
        if close is not None:
            close()

    def limits_for(self, caller: Caller) -> Limits:
        """The caller's limits: per address when anonymous, else the key defaults or the
        user's override."""
        s = self.settings
        if caller.user is None:
            return Limits(s.anonymous_rate_per_minute, s.anonymous_items_per_day)
        found = self._override(caller.user)
        if found is None:
            return Limits(s.rate_per_minute, s.items_per_day)
        rpm, per_day = found.requests_per_minute, found.items_per_day
        return Limits(
            s.rate_per_minute if rpm is None else rpm,
            s.items_per_day if per_day is None else per_day,
        )

    @staticmethod
    def subject_of(caller: Caller) -> str | None:
        """What is counted: the key (``key:<id>``), else the client address of an anonymous
        caller (``addr:<ip>``); None for a user without a key (the process itself)."""
        if caller.key_id:
            return f"key:{caller.key_id}"
        if caller.anonymous:
            return f"addr:{caller.address or 'unknown'}"
        return None

    def charge(self, caller: Caller, cost: int, *, now: float | None = None) -> Usage | None:
        """Count one request of ``cost`` units for ``caller``; raise :class:`RateLimited`
        (429) over a limit, :class:`PayloadTooLarge` (413) for a request over the whole daily
        quota. The process itself (``SYSTEM``) is not counted."""
        subject = self.subject_of(caller)
        if subject is None:
            return None
        limits = self.limits_for(caller)
        if limits.per_day and cost > limits.per_day:
            raise PayloadTooLarge(
                f"this request costs {cost} items, more than the daily quota of "
                f"{limits.per_day} items",
                code="over_daily_quota",
                limit="items_per_day",
                allowed=limits.per_day,
                cost=cost,
            )
        now = time.time() if now is None else now
        usage, refused = self.counters.hit(subject, cost, limits, now)
        if refused is None:
            return usage
        who = "this key" if caller.key_id else "this client address"
        if refused == "requests_per_minute":
            retry = MINUTE_S - now % MINUTE_S
            raise RateLimited(
                f"rate limit: {who} may make {limits.per_minute} requests per minute",
                limit="requests_per_minute",
                allowed=limits.per_minute,
                used=usage.minute,
                retry_after_s=max(1, int(retry + 0.999)),
            )
        retry = DAY_S - now % DAY_S
        raise RateLimited(
            f"daily quota: {who} may use {limits.per_day} items per day (UTC); "
            f"{usage.day} used, this request costs {cost}",
            limit="items_per_day",
            allowed=limits.per_day,
            used=usage.day,
            cost=cost,
            retry_after_s=max(1, int(retry + 0.999)),
        )
