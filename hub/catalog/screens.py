"""Screens in the catalog: one row per screen, one row per finished chunk.

The catalog is the system of record. A screen's row is written (``queued``) before anything is
handed to Dask; the process that drives it (:mod:`hub.screening.driver`) holds a *lease* on it
(``driver``, renewed through ``updated_at`` every ``lease_s / 3``), exactly as job workers do
(:mod:`hub.catalog.jobs`). A screen whose driver stopped renewing (its hub was killed) is taken
over by the next hub that looks (:meth:`ScreenStore.claim`), and carries on where it stopped.

Chunks are idempotent (:mod:`hub.catalog.screen_chunks`, whose verbs :class:`ScreenStore`
has too); the tables and :class:`Screen` are in :mod:`hub.catalog.screen_rows`.

States: ``queued -> running -> succeeded | failed | cancelled`` (``queued -> cancelled``).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from hub.auth.identity import Caller
from hub.catalog.leases import lease_clock, owned_row, request_cancel
from hub.catalog.rows import utcnow
from hub.catalog.screen_chunks import ScreenChunks
from hub.catalog.screen_rows import Screen, ScreenChunkRow, ScreenRow
from hub.catalog.screen_rows import screen_entity as _entity
from hub.catalog.store import CatalogStore
from hub.entities import FINAL_STATES
from hub.errors import Conflict

__all__ = [
    "Screen",
    "ScreenChunkRow",
    "ScreenRow",
    "ScreenStore",
    "driver_gone_locally",
    "driver_name",
]


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


class ScreenStore(ScreenChunks):
    """Small verbs over the ``screens`` table (and, from :class:`ScreenChunks`, over
    ``screen_chunks``)."""

    def __init__(self, catalog: CatalogStore) -> None:
        self.catalog = catalog

    def _clock(self) -> Any:
        return lease_clock(self.catalog)

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
            request_cancel(s, ScreenRow, screen_id, phase="cancelled")
            s.flush()
            s.refresh(row)
            return _entity(row)

    @staticmethod
    def _row(s: Any, screen_id: str, *, caller: Caller | None = None) -> ScreenRow:
        return owned_row(s, ScreenRow, screen_id, "screen", caller=caller)
