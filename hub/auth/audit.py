"""The audit trail: an append-only, hash-chained record of every write, prediction and job.

Each row says who (user, key id: the key's public prefix, never the key), what (action,
model and resolved version, target), how much (number of inputs, quota cost), the sha256 of
the request's inputs (never the inputs: structures are often confidential), the answer's
HTTP status and error code, the duration and the client address.

**The chain.** Rows are numbered 1, 2, 3... without gaps; each stores ``prev_sha256`` (the
previous row's ``sha256``, 64 zeros for the first) and its own ``sha256``, over all its fields
(:func:`row_sha256`). ``audit_head`` holds the newest id and sha256. :func:`verify_chain`
(``hub audit verify``) recomputes everything: an edited row breaks its own hash, a deleted row
breaks the numbering and the next row's link, deleted newest rows disagree with the head.
Someone who can write the database can still rewrite the whole chain from a row on; record
the head sha256 that ``hub audit verify`` prints elsewhere to pin the history up to it.

**Writes are batched.** :meth:`AuditLog.record` only appends an event to a deque (well under
a microsecond, and it wakes no thread); a writer thread appends the queued events every
``flush_s`` seconds (or as soon as ``max_batch`` events wait), in one transaction that first
takes the catalog's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
``pg_advisory_xact_lock``), then reads the head, chains the batch and moves the head: several
processes writing to one catalog keep one chain. The inputs are hashed by the writer thread
too. :meth:`AuditLog.flush` writes everything recorded so far (at shutdown, and ``atexit``); a
failed write is retried at the next flush, and rows are only dropped (logged) past
``max_pending``.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, event, func, insert, select, text, update

from hub.auth.audit_rows import GENESIS_SHA256, AuditHeadRow, AuditRow
from hub.catalog.rows import as_utc

log = logging.getLogger("hub.audit")

# pg_advisory_xact_lock key of the audit chain (any constant, the same in every process)
PG_AUDIT_LOCK_KEY = 0x6875625F617564  # "hub_aud"
AUDIT = AuditRow.__table__
HEAD = AuditHeadRow.__table__
# the fields of a row covered by its sha256, in this order
HASHED = (
    "id",
    "at",
    "username",
    "key_id",
    "action",
    "model",
    "version",
    "target",
    "n_inputs",
    "inputs_sha256",
    "cost",
    "status",
    "error",
    "duration_us",
    "address",
    "request_id",
    "prev_sha256",
)
_LENGTHS = {c.name: c.type.length for c in AUDIT.columns if getattr(c.type, "length", None)}
_L_USER, _L_KEY, _L_ACTION, _L_MODEL, _L_TARGET, _L_ERROR, _L_ADDRESS, _L_REQUEST = (
    _LENGTHS[c]
    for c in ("username", "key_id", "action", "model", "target", "error", "address", "request_id")
)


# -- hashing ------------------------------------------------------------------------------
def inputs_sha256(inputs: Any) -> str | None:
    """sha256 (hex) of the request's inputs as compact JSON with sorted keys (orjson); None
    when there were none. Equal inputs give equal hashes, so an auditor holding a structure
    can check whether it was sent, but the trail itself does not reveal it."""
    if inputs is None:
        return None
    try:
        data = orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:
        data = repr(inputs).encode()
    return hashlib.sha256(data).hexdigest()


def _as_utc(ts: datetime | None) -> datetime | None:
    """``ts`` in UTC (a naive time is taken as UTC): SQLite compares the stored UTC text."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _iso(ts: datetime) -> str:
    return as_utc(ts).astimezone(UTC).isoformat(timespec="microseconds")


def row_sha256(values: dict[str, Any]) -> str:
    """The sha256 (hex) of an audit row: compact JSON of :data:`HASHED` (time in UTC ISO 8601
    to the microsecond)."""
    canon = [_iso(values[k]) if k == "at" else values[k] for k in HASHED]
    return hashlib.sha256(orjson.dumps(canon)).hexdigest()


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None and len(value) > limit else value


def _fit(value: int | None, bits: int = 64) -> int | None:
    """``value`` clamped to a signed ``bits``-bit column (INTEGER 32, BIGINT 64): one event with
    a 2^64 version or cost (a hostile request) must not stop its whole batch being written."""
    top = 2 ** (bits - 1) - 1
    return None if value is None else max(-top, min(int(value), top))


# -- events -------------------------------------------------------------------------------
@dataclass(slots=True)
class AuditEvent:
    """One thing that happened, before it is numbered and chained. ``inputs`` (the raw
    inputs, hashed later by the writer, then dropped) or ``inputs_sha256``."""

    action: str
    user: str | None = None
    key_id: str | None = None
    model: str | None = None
    version: int | None = None
    target: str | None = None
    n_inputs: int = 0
    inputs: Any = None
    inputs_sha256: str | None = None
    cost: int = 0
    status: int = 200
    error: str | None = None
    duration_us: int = 0
    address: str | None = None
    request_id: str | None = None
    # when it happened: a datetime, or seconds since the epoch (time.time(), cheaper to take on
    # the request's path; the writer turns it into a UTC datetime)
    at: datetime | float = field(default_factory=time.time)

    def row(self, row_id: int, prev: str, *, sqlite: bool = False) -> tuple[list[Any], str]:
        """The row to insert as number ``row_id`` after the row whose sha256 is ``prev``: its
        values in the order of :data:`HASHED` and its sha256 (:func:`row_sha256`). For SQLite
        the time is given as SQLAlchemy stores a ``DateTime`` there: naive UTC text."""
        digest = self.inputs_sha256
        if digest is None and self.inputs is not None:
            digest = inputs_sha256(self.inputs)
        at = self.at
        if not isinstance(at, datetime):
            at = datetime.fromtimestamp(at, UTC)
        elif at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        values = [
            row_id,
            at,
            _clip(self.user, _L_USER),
            _clip(self.key_id, _L_KEY),
            _clip(self.action, _L_ACTION) or "unknown",
            _clip(self.model, _L_MODEL),
            _fit(self.version, 32),
            _clip(self.target, _L_TARGET),
            _fit(self.n_inputs, 32),
            digest,
            _fit(self.cost),
            _fit(self.status, 32),
            _clip(self.error, _L_ERROR),
            _fit(self.duration_us),
            _clip(self.address, _L_ADDRESS),
            _clip(self.request_id, _L_REQUEST),
            prev,
        ]
        canon = values.copy()
        iso = canon[1] = at.isoformat(timespec="microseconds")
        if sqlite:
            values[1] = f"{iso[:10]} {iso[11:26]}"
        return values, hashlib.sha256(orjson.dumps(canon)).hexdigest()


def _insert_sql(conn: Any) -> str:
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(c) for c in (*HASHED, "sha256"))
    return f"INSERT INTO audit_log ({names}) VALUES ({', '.join([mark] * (len(HASHED) + 1))})"


def append(engine: Engine, events: list[AuditEvent]) -> int:
    """Append ``events`` to the chain in one transaction under the chain's lock; the id of
    the last row written. The rows go to the driver's ``executemany`` directly (SQLAlchemy's
    per-row parameter processing would cost more than the rest of the write)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if not sqlite and conn.dialect.name == "postgresql":  # released with the transaction
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK_KEY})
        head = conn.execute(select(HEAD.c.last_id, HEAD.c.last_sha256).where(HEAD.c.id == 1))
        found = head.first()
        last_id, prev = (found[0], found[1]) if found else (0, GENESIS_SHA256)
        rows = []
        for ev in events:
            last_id += 1
            values, prev = ev.row(last_id, prev, sqlite=sqlite)
            values.append(prev)
            rows.append(tuple(values))
        if rows:
            conn.exec_driver_sql(_insert_sql(conn), rows)
            if found:
                conn.execute(
                    update(HEAD).where(HEAD.c.id == 1).values(last_id=last_id, last_sha256=prev)
                )
            else:
                conn.execute(insert(HEAD).values(id=1, last_id=last_id, last_sha256=prev))
        return last_id


# -- the writer ---------------------------------------------------------------------------
def writer_engine(url: str) -> Engine:
    """An engine for the audit writer: SQLite transactions start with ``BEGIN IMMEDIATE``
    (the database's write lock, taken before the head is read)."""
    from hub.catalog.store import make_engine

    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn) -> None:  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class AuditLog:
    """A batched, thread-safe appender of audit rows to one catalog database.

    :meth:`record` appends to a deque (atomic under the GIL, about 0.1 us) and wakes nobody:
    waking the writer thread for every event cost the request a GIL hand-off (tens of
    microseconds, measured by bench/auth_overhead.py). The writer thread wakes every
    ``flush_s`` seconds, or as soon as ``max_batch`` events wait, and appends what it finds;
    :meth:`flush` writes in the calling thread. Taking the events and writing them happen
    under one lock, so rows are chained in the order they were recorded."""

    def __init__(
        self,
        url: str,
        *,
        flush_s: float = 1.0,
        max_batch: int = 2000,
        max_pending: int = 200_000,
    ) -> None:
        self.url = url
        self.flush_s = flush_s
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.engine = writer_engine(url)
        self.written = 0
        self.dropped = 0
        # events, or (function, arguments) making one (record_later)
        self._events: deque[AuditEvent | tuple[Callable[..., AuditEvent], tuple]] = deque()
        self._pending: list[AuditEvent] = []  # failed to write: retried first
        self._write_lock = threading.Lock()
        self._wake = threading.Event()  # set: a full batch waits, or closing
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    def record(self, event: AuditEvent) -> None:
        """Queue ``event`` (returns at once; the writer thread appends it within ``flush_s``)."""
        events = self._events
        events.append(event)
        if self._thread is None:
            self._start()
        elif len(events) >= self.max_batch:
            self._wake.set()

    def record_later(self, make: Callable[..., AuditEvent], *args: Any) -> None:
        """Queue the event ``make(*args)`` will return, made by the writer thread (so a
        request does not pay for building it). ``args`` must not change afterwards."""
        events = self._events
        events.append((make, args))  # type: ignore[arg-type]
        if self._thread is None:
            self._start()
        elif len(events) >= self.max_batch:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="hub-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_s)
            self._wake.clear()
            if self._events or self._pending:
                self._write()

    def _drain(self) -> list[AuditEvent]:
        events = self._events
        out: list[AuditEvent] = []
        while True:
            try:
                item = events.popleft()
            except IndexError:
                return out
            if not isinstance(item, AuditEvent):
                make, args = item
                try:
                    item = make(*args)
                except Exception:  # a bug: say so, loudly, and keep the others
                    log.exception("audit: an event could not be made")
                    self.dropped += 1
                    continue
            out.append(item)

    def _write(self) -> None:
        """Append the failed events, then everything recorded so far (in chunks of
        ``max_batch``), one writer at a time."""
        with self._write_lock:
            todo = self._pending + self._drain()
            self._pending = []
            if not todo:
                return
            i = 0
            try:
                for i in range(0, len(todo), self.max_batch):
                    append(self.engine, todo[i : i + self.max_batch])
                    self.written += len(todo[i : i + self.max_batch])
            except Exception as exc:  # noqa: BLE001 - keep the events, retry at the next flush
                done = self.written
                left = todo[i:]
                if len(left) > self.max_pending:
                    self.dropped += len(left) - self.max_pending
                    log.error(
                        "audit: %d events dropped (database unavailable: %s)",
                        len(left) - self.max_pending,
                        exc,
                    )
                    left = left[-self.max_pending :]
                self._pending = left
                log.warning(
                    "audit: %d events not written yet (%s); %d written", len(left), exc, done
                )

    def flush(self) -> None:
        """Write every event recorded before this call (in the calling thread; waits for a
        write the writer thread is making)."""
        self._write()

    @property
    def pending(self) -> int:
        """Events recorded but not written yet."""
        return len(self._events) + len(self._pending)

    def close(self) -> None:
        """Flush, stop the writer thread and release the database."""
        self.flush()
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self._write()
        self.engine.dispose()


_LOGS: dict[str, AuditLog] = {}
_LOGS_LOCK = threading.Lock()


def audit_log_for(url: str, *, flush_s: float = 1.0) -> AuditLog:
    """The process's :class:`AuditLog` of the catalog at ``url`` (one writer per database)."""
    found = _LOGS.get(url)
    if found is not None and not found._closed:
        return found
    with _LOGS_LOCK:
        found = _LOGS.get(url)
        if found is None or found._closed:
            found = _LOGS[url] = AuditLog(url, flush_s=flush_s)
        return found


def flush_all() -> None:
    """Write what every audit log of this process holds (at shutdown)."""
    for audit in list(_LOGS.values()):
        try:
            audit.flush()
        except Exception as exc:  # noqa: BLE001 - at exit: say so, never raise
            log.error("audit: flush failed at shutdown: %s", exc)


atexit.register(flush_all)


# -- reading and verifying ----------------------------------------------------------------
@dataclass(frozen=True)
class AuditEntry:
    """One audit row as read back."""

    id: int
    at: datetime
    user: str | None
    key_id: str | None
    action: str
    model: str | None
    version: int | None
    target: str | None
    n_inputs: int
    inputs_sha256: str | None
    cost: int
    status: int
    error: str | None
    duration_us: int
    address: str | None
    request_id: str | None
    prev_sha256: str
    sha256: str

    @classmethod
    def of(cls, row: Any) -> AuditEntry:
        values = dict(row._mapping)
        values["at"] = as_utc(values["at"])
        values["user"] = values.pop("username")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def query_audit(
    engine: Engine,
    *,
    user: str | None = None,
    action: str | None = None,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Audit rows, newest first, filtered (``until`` excluded; naive times are UTC), and how
    many match."""
    since, until = _as_utc(since), _as_utc(until)
    where = []
    if user is not None:
        where.append(AUDIT.c.username == user)
    if action is not None:
        where.append(AUDIT.c.action == action)
    if model is not None:
        where.append(AUDIT.c.model == model)
    if since is not None:
        where.append(AUDIT.c.at >= since)
    if until is not None:
        where.append(AUDIT.c.at < until)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(AUDIT).where(*where)) or 0
        rows = conn.execute(
            select(AUDIT).where(*where).order_by(AUDIT.c.id.desc()).limit(limit).offset(offset)
        )
        return [AuditEntry.of(r) for r in rows], count


@dataclass
class Verification:
    """What :func:`verify_chain` found: ``ok`` when nothing, else the first ``problems``."""

    rows: int = 0
    head_id: int = 0
    head_sha256: str = GENESIS_SHA256
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str, limit: int) -> None:
        if len(self.problems) < limit:
            self.problems.append(problem)
        else:
            self.more_problems += 1


def _rows(engine: Engine, up_to: int, chunk: int = 5000) -> Iterator[Any]:
    last = 0
    with engine.connect() as conn:
        while True:
            batch = conn.execute(
                select(AUDIT)
                .where(AUDIT.c.id > last, AUDIT.c.id <= up_to)
                .order_by(AUDIT.c.id)
                .limit(chunk)
            ).all()
            if not batch:
                return
            yield from batch
            last = batch[-1].id


def verify_chain(engine: Engine, *, max_problems: int = 20) -> Verification:
    """Recompute the chain from the first row to the head: every id in turn, every link,
    every row's sha256, and the head. Rows appended while it runs (after the head it read)
    are left for the next run."""
    out = Verification()
    with engine.connect() as conn:
        head = conn.execute(select(HEAD.c.last_id, HEAD.c.last_sha256).where(HEAD.c.id == 1))
        found = head.first()
        newest = conn.scalar(select(func.max(AUDIT.c.id))) or 0
    if found is None:
        out.add("the audit head (audit_head, id 1) is missing", max_problems)
        up_to = newest
    else:
        out.head_id, out.head_sha256 = int(found[0]), found[1]
        up_to = out.head_id
    expected_id, prev = 1, GENESIS_SHA256
    for row in _rows(engine, up_to):
        values = dict(row._mapping)
        out.rows += 1
        if values["id"] != expected_id:
            gap = (
                f"row {expected_id}"
                if values["id"] == expected_id + 1
                else f"rows {expected_id}-{values['id'] - 1}"
            )
            out.add(f"{gap} missing (deleted)", max_problems)
        elif values["prev_sha256"] != prev:
            out.add(f"row {values['id']}: does not follow row {expected_id - 1}", max_problems)
        if row_sha256(values) != values["sha256"]:
            out.add(f"row {values['id']}: changed (its sha256 does not match)", max_problems)
        expected_id, prev = values["id"] + 1, values["sha256"]
    last = expected_id - 1
    if found is not None:
        if last < out.head_id:
            out.add(
                f"rows after {last} missing (deleted): the head is at row {out.head_id}",
                max_problems,
            )
        elif last == out.head_id and out.head_id and prev != out.head_sha256:
            out.add(f"row {last}: does not match the head's sha256", max_problems)
    return out
