"""Jobs in the catalog database: created queued, claimed by one worker, finished once.

State machine: ``queued -> running -> succeeded | failed | cancelled`` (and ``queued ->
cancelled``). Claims are atomic (a conditional UPDATE), so two workers never run one job.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from hub.catalog.rows import JobRow, utcnow
from hub.catalog.store import CatalogStore
from hub.entities import FINAL_STATES, Job
from hub.errors import InvalidRequest, NotFound


class JobStore:
    def __init__(self, catalog: CatalogStore) -> None:
        self.catalog = catalog

    def create(
        self, *, model: str, version: int, task: str, input: Any, params: dict[str, Any]
    ) -> Job:
        row = JobRow(
            id=str(uuid.uuid4()),
            model=model,
            version=version,
            task=task,
            state="queued",
            input=input,
            params=params,
            step=0,
            total=0,
            message="",
            cancel_requested=False,
        )
        with self.catalog.session() as s:
            s.add(row)
            s.flush()
            return row.to_entity()

    def get(self, job_id: str) -> Job:
        with self.catalog.session() as s:
            return self._row(s, job_id).to_entity()

    def input_of(self, job_id: str) -> Any:
        with self.catalog.session() as s:
            return self._row(s, job_id).input

    def list(self, *, state: str | None = None, limit: int = 100) -> list[Job]:
        stmt = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if state:
            stmt = stmt.where(JobRow.state == state)
        with self.catalog.session() as s:
            return [r.to_entity() for r in s.scalars(stmt).all()]

    def claim_next(self, worker: str) -> Job | None:
        """Atomically take the oldest queued job for ``worker``; None when there is none."""
        with self.catalog.session() as s:
            candidates = s.scalars(
                select(JobRow.id)
                .where(JobRow.state == "queued")
                .order_by(JobRow.created_at)
                .limit(5)
            ).all()
            for job_id in candidates:
                now = utcnow()
                taken = s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.state == "queued")
                    .values(state="running", worker=worker, started_at=now, updated_at=now)
                ).rowcount
                if taken:
                    s.flush()
                    return self._row(s, job_id).to_entity()
        return None

    def progress(self, job_id: str, step: int, total: int, message: str = "") -> bool:
        """Record progress; return True when cancellation was requested."""
        with self.catalog.session() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "running")
                .values(step=step, total=total, message=message[:500], updated_at=utcnow())
            )
            return bool(s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def finish(
        self,
        job_id: str,
        state: str,
        *,
        result_sha256: str | None = None,
        error: dict[str, Any] | None = None,
        message: str = "",
    ) -> Job:
        if state not in FINAL_STATES:
            raise ValueError(state)
        with self.catalog.session() as s:
            now = utcnow()
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.in_(("queued", "running")))
                .values(
                    state=state,
                    result_sha256=result_sha256,
                    error=error,
                    message=message[:500],
                    finished_at=now,
                    updated_at=now,
                )
            )
            return self._row(s, job_id).to_entity()

    def cancel(self, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one when its worker next reports."""
        with self.catalog.session() as s:
            row = self._row(s, job_id)
            if row.state in FINAL_STATES:
                raise InvalidRequest(f"job {job_id} is already {row.state}", code="job_finished")
            now = utcnow()
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "queued")
                .values(
                    state="cancelled",
                    finished_at=now,
                    updated_at=now,
                    message="cancelled before it started",
                )
            )
            s.execute(update(JobRow).where(JobRow.id == job_id).values(cancel_requested=True))
            s.flush()
            s.refresh(row)
            return row.to_entity()

    def fail_running(self, reason: str, *, worker: str | None = None) -> int:
        """Mark running jobs failed (all, or one worker's): after a restart or a crash."""
        stmt = update(JobRow).where(JobRow.state == "running")
        if worker is not None:
            stmt = stmt.where(JobRow.worker == worker)
        now = utcnow()
        with self.catalog.session() as s:
            return s.execute(
                stmt.values(
                    state="failed",
                    finished_at=now,
                    updated_at=now,
                    error={"code": "worker_lost", "message": reason},
                    message=reason,
                )
            ).rowcount

    @staticmethod
    def _row(s: Any, job_id: str) -> JobRow:
        row = s.get(JobRow, job_id) if isinstance(job_id, str) and len(job_id) <= 36 else None
        if row is None:
            raise NotFound(f"no job {str(job_id)[:40]!r}", code="job_not_found")
        return row
