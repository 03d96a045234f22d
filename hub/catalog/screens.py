"""Screens in the catalog: one row per screen, one row per finished chunk.

The catalog is the system of record. A screen's row is written (``queued``) before anything is
handed to Dask; the process that drives it (:mod:`hub.screening.driver`) holds a *lease* on it
(``driver``, renewed through ``updated_at`` every ``lease_s / 3``), exactly as job workers do
(:mod:`hub.catalog.jobs`). A screen whose driver stopped renewing (its hub was killed) is taken
over by the next hub that looks (:meth:`ScreenStore.claim`), and carries on where it stopped.

Chunks are idempotent: each finished chunk is one row of ``screen_chunks`` keyed by (screen,
phase, k) with the sha256 of its result file; the first writer wins (:meth:`chunk_done`), a
chunk re-run after a crash finds its row and is not computed or written again.

States: ``queued -> running -> succeeded | failed | cancelled`` (``queued -> cancelled``).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from hub.auth.identity import Caller
from hub.catalog.rows import Base, as_utc, utcnow
from hub.catalog.store import CatalogStore
from hub.entities import FINAL_STATES
from hub.errors import AlreadyExists, Conflict, NotFound


class ScreenRow(Base):
    __tablename__ = "screens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    # [{"ref": "chemistry.solubility", "model": "chemistry.solubility", "version": 1}, ...]
    models: Mapped[list] = mapped_column(JSON)
    input_sha256: Mapped[str] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(String(200), default="")
    input_format: Mapped[str] = mapped_column(String(10))
    input_column: Mapped[str] = mapped_column(String(100), default="smiles")
    input_type: Mapped[str] = mapped_column(String(100))
    chunk_size: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)  # inputs (rows of the result)
    unique: Mapped[int] = mapped_column(Integer, default=0)  # distinct keys scored
    phase: Mapped[str] = mapped_column(String(20), default="")
    step: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    result_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    driver: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScreenChunkRow(Base):
    __tablename__ = "screen_chunks"

    screen_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phase: Mapped[str] = mapped_column(String(20), primary_key=True)
    k: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Screen:
    """A screen as the catalog has it (see :class:`ScreenRow` for the fields)."""

    id: str
    owner: str | None
    state: str
    models: list[dict[str, Any]]
    input_sha256: str
    input_name: str
    input_format: str
    input_column: str
    input_type: str
    chunk_size: int
    rows: int
    unique: int
    phase: str
    step: int
    total: int
    message: str
    error: dict[str, Any] | None
    result_sha256: str | None
    driver: str | None
    cancel_requested: bool
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("created_at", "started_at", "finished_at", "updated_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        return out


def _entity(row: ScreenRow) -> Screen:
    return Screen(
        id=row.id,
        owner=row.owner,
        state=row.state,
        models=list(row.models or []),
        input_sha256=row.input_sha256,
        input_name=row.input_name,
        input_format=row.input_format,
        input_column=row.input_column,
        input_type=row.input_type,
        chunk_size=row.chunk_size,
        rows=row.rows,
        unique=row.unique,
        phase=row.phase,
        step=row.step,
        total=row.total,
        message=row.message,
        error=row.error,
        result_sha256=row.result_sha256,
        driver=row.driver,
        cancel_requested=row.cancel_requested,
        created_at=as_utc(row.created_at),
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        updated_at=as_utc(row.updated_at),
    )


def driver_name(pid: int | None = None) -> str:
    """``driver-<host>-<pid>``: the name this process drives screens under."""
    return f"driver-{socket.gethostname()[:40]}-{pid or os.getpid()}"


def driver_gone_locally(driver: str | None) -> bool:
    """True when ``driver`` was a process of this host that is not running any more."""
    prefix = f"driver-{socket.gethostname()[:40]}-"
    if not driver or not driver.startswith(prefix):
        return False
    pid_text = driver[len(prefix) :]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ScreenStore:
    """Small verbs over the ``screens`` and ``screen_chunks`` tables."""

    def __init__(self, catalog: CatalogStore) -> None:
        self.catalog = catalog

    def _clock(self) -> Any:
        if self.catalog.engine.dialect.name == "postgresql":
            return func.now()
        return utcnow()

    def create(
        self,
        *,
        models: list[dict[str, Any]],
        input_sha256: str,
        input_name: str,
        input_format: str,
        input_column: str,
        input_type: str,
        chunk_size: int,
        owner: str | None = None,
    ) -> Screen:
        row = ScreenRow(
            id=str(uuid.uuid4()),
            owner=owner,
            state="queued",
            models=models,
            input_sha256=input_sha256,
            input_name=input_name[:200],
            input_format=input_format,
            input_column=input_column[:100],
            input_type=input_type,
            chunk_size=int(chunk_size),
            rows=0,
            unique=0,
            phase="queued",
            step=0,
            total=0,
            message="",
            cancel_requested=False,
        )
        with self.catalog.session() as s:
            s.add(row)
            s.flush()
            return _entity(row)

    def get(self, screen_id: str, *, caller: Caller | None = None) -> Screen:
        with self.catalog.session() as s:
            return _entity(self._row(s, screen_id, caller=caller))

    def list(self, *, limit: int = 100, caller: Caller | None = None) -> list[Screen]:
        stmt = select(ScreenRow).order_by(ScreenRow.created_at.desc()).limit(limit)
        if caller is not None and not caller.is_admin:
            stmt = stmt.where(ScreenRow.owner == caller.user)
        with self.catalog.session() as s:
            return [_entity(r) for r in s.scalars(stmt).all()]

    def find_same(
        self, *, input_sha256: str, models: list[dict[str, Any]], column: str, chunk_size: int
    ) -> Screen | None:
        """The newest screen of the same input, models, column and chunk size that is not
        failed or cancelled (``hub screen`` run again resumes it, or reuses its result)."""
        with self.catalog.session() as s:
            rows = s.scalars(
                select(ScreenRow)
                .where(
                    ScreenRow.input_sha256 == input_sha256,
                    ScreenRow.input_column == column,
                    ScreenRow.chunk_size == chunk_size,
                    ScreenRow.state.in_(("queued", "running", "succeeded")),
                )
                .order_by(ScreenRow.created_at.desc())
            ).all()
            for row in rows:
                if list(row.models) == models:
                    return _entity(row)
        return None

    # -- the driver's lease ---------------------------------------------------------------
    def claim(self, screen_id: str, driver: str, *, lease_s: float) -> bool:
        """Make ``driver`` the screen's driver when it has none, is ``driver`` already, is a
        dead process of this host, or stopped renewing its lease ``lease_s`` ago."""
        with self.catalog.session() as s:
            row = self._row(s, screen_id)
            if row.state in FINAL_STATES:
                return False
            current = row.driver
        stale = self._clock() - timedelta(seconds=lease_s)
        cond = (ScreenRow.driver.is_(None)) | (ScreenRow.driver == driver)
        if driver_gone_locally(current):
            cond = cond | (ScreenRow.driver == current)
        cond = cond | (ScreenRow.updated_at < stale)
        with self.catalog.session() as s:
            return bool(
                s.execute(
                    update(ScreenRow)
                    .where(ScreenRow.id == screen_id, ScreenRow.state.in_(("queued", "running")))
                    .where(cond)
                    .values(
                        driver=driver,
                        state="running",
                        started_at=func.coalesce(ScreenRow.started_at, utcnow()),
                        updated_at=self._clock(),
                    )
                ).rowcount
            )

    def orphans(self, *, lease_s: float) -> list[str]:
        """Screens waiting for a driver: queued or running, and whose driver is none, a dead
        process of this host, or silent for ``lease_s`` seconds."""
        stale = self._clock() - timedelta(seconds=lease_s)
        with self.catalog.session() as s:
            rows = s.execute(
                select(ScreenRow.id, ScreenRow.driver, ScreenRow.updated_at).where(
                    ScreenRow.state.in_(("queued", "running"))
                )
            ).all()
            old = set(
                s.scalars(
                    select(ScreenRow.id).where(
                        ScreenRow.state.in_(("queued", "running")), ScreenRow.updated_at < stale
                    )
                ).all()
            )
        return [i for i, d, _ in rows if d is None or driver_gone_locally(d) or i in old]

    def progress(
        self,
        screen_id: str,
        driver: str,
        *,
        phase: str,
        step: int,
        total: int,
        message: str = "",
        **fields: int,
    ) -> tuple[bool, bool]:
        """Record progress (which renews the lease); returns (still ours, cancel requested)."""
        with self.catalog.session() as s:
            ours = s.execute(
                update(ScreenRow)
                .where(
                    ScreenRow.id == screen_id,
                    ScreenRow.driver == driver,
                    ScreenRow.state == "running",
                )
                .values(
                    phase=phase,
                    step=step,
                    total=total,
                    message=message[:500],
                    updated_at=self._clock(),
                    **fields,
                )
            ).rowcount
            cancel = s.scalar(select(ScreenRow.cancel_requested).where(ScreenRow.id == screen_id))
            return bool(ours), bool(cancel)

    def cancel_requested(self, screen_id: str) -> bool:
        """True when the screen was cancelled (or is gone): workers stop its chunks."""
        with self.catalog.session() as s:
            row = s.execute(
                select(ScreenRow.cancel_requested, ScreenRow.state).where(ScreenRow.id == screen_id)
            ).first()
        return row is None or bool(row[0]) or row[1] in ("cancelled", "failed")

    def finish(
        self,
        screen_id: str,
        state: str,
        *,
        driver: str | None = None,
        result_sha256: str | None = None,
        error: dict[str, Any] | None = None,
        message: str = "",
    ) -> Screen:
        """Finish the screen once (with ``driver``: only while that driver holds it)."""
        if state not in FINAL_STATES:
            raise ValueError(state)
        stmt = update(ScreenRow).where(
            ScreenRow.id == screen_id, ScreenRow.state.in_(("queued", "running"))
        )
        if driver is not None:
            stmt = stmt.where(ScreenRow.driver == driver)
        now = utcnow()
        with self.catalog.session() as s:
            s.execute(
                stmt.values(
                    state=state,
                    result_sha256=result_sha256,
                    error=error,
                    message=message[:500],
                    phase=state,
                    finished_at=now,
                    updated_at=now,
                )
            )
            return _entity(self._row(s, screen_id))

    def cancel(self, screen_id: str, *, caller: Caller | None = None) -> Screen:
        """Ask the screen to stop: a queued one stops now, a running one within seconds (its
        driver cancels the chunks on the cluster; workers check between batches)."""
        with self.catalog.session() as s:
            row = self._row(s, screen_id, caller=caller)
            if row.state in FINAL_STATES:
                raise Conflict(f"screen {screen_id} is already {row.state}", code="screen_finished")
            now = utcnow()
            s.execute(
                update(ScreenRow)
                .where(ScreenRow.id == screen_id, ScreenRow.state == "queued")
                .values(
                    state="cancelled",
                    phase="cancelled",
                    finished_at=now,
                    updated_at=now,
                    message="cancelled before it started",
                )
            )
            s.execute(
                update(ScreenRow).where(ScreenRow.id == screen_id).values(cancel_requested=True)
            )
            s.flush()
            s.refresh(row)
            return _entity(row)

    # -- chunks ---------------------------------------------------------------------------
    def chunk_done(
        self, screen_id: str, phase: str, k: int, sha256: str, rows: int, worker: str = ""
    ) -> bool:
        """Record chunk ``k`` of ``phase`` as done; False when it already was (the first
        result stays: a chunk is written once)."""
        try:
            with self.catalog.session() as s:
                s.add(
                    ScreenChunkRow(
                        screen_id=screen_id,
                        phase=phase,
                        k=int(k),
                        sha256=sha256,
                        rows=int(rows),
                        worker=worker[:200],
                    )
                )
            return True
        except AlreadyExists:
            return False

    def chunk(self, screen_id: str, phase: str, k: int) -> tuple[str, int] | None:
        """(sha256, rows) of a finished chunk, else None."""
        with self.catalog.session() as s:
            row = s.get(ScreenChunkRow, (screen_id, phase, int(k)))
            return (row.sha256, row.rows) if row is not None else None

    def chunks(self, screen_id: str, phase: str) -> dict[int, tuple[str, int]]:
        """Every finished chunk of ``phase``: k -> (sha256, rows)."""
        with self.catalog.session() as s:
            rows = s.execute(
                select(ScreenChunkRow.k, ScreenChunkRow.sha256, ScreenChunkRow.rows).where(
                    ScreenChunkRow.screen_id == screen_id, ScreenChunkRow.phase == phase
                )
            ).all()
        return {k: (sha, n) for k, sha, n in rows}

    def shas(self) -> set[str]:
        """Every sha256 screens refer to (inputs, chunks, results): kept by the sweep."""
        with self.catalog.session() as s:
            out = set(s.scalars(select(ScreenChunkRow.sha256)).all())
            for a, b in s.execute(select(ScreenRow.input_sha256, ScreenRow.result_sha256)).all():
                out |= {x for x in (a, b) if x}
        return out

    @staticmethod
    def _row(s: Any, screen_id: str, *, caller: Caller | None = None) -> ScreenRow:
        row = (
            s.get(ScreenRow, screen_id)
            if isinstance(screen_id, str) and len(screen_id) <= 36
            else None
        )
        if row is not None and caller is not None and not caller.is_admin:
            if caller.user is None or row.owner != caller.user:
                row = None
        if row is None:
            raise NotFound(f"no screen {str(screen_id)[:40]!r}", code="screen_not_found")
        return row
