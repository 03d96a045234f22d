"""Jobs in the catalog database: created queued, claimed by one worker, finished once.

State machine: ``queued -> running -> succeeded | failed | cancelled`` (and ``queued ->
cancelled``; ``running -> queued`` when a job is re-queued). Claims are atomic (a conditional
UPDATE), so two workers never run one job.

Leases. A running job belongs to the worker named in ``worker`` for as long as that worker
renews its lease: every :meth:`JobStore.heartbeat` (and every progress report) sets
``updated_at`` to now. A job whose ``updated_at`` is older than the lease (``lease_s``) has
lost its worker: :meth:`JobStore.requeue_lost` puts it back in the queue, or fails it with
``worker_lost`` once it has lost ``max_attempts`` workers. The count of lost attempts is kept
in the ``error`` field of a queued or running job (``{"code": "worker_lost", "attempts": n,
...}``) and cleared when the job finishes well. No job is failed because another server
started, and :meth:`JobStore.finish` takes the result of the worker that holds the lease (or of
a job re-queued but not yet claimed again), so a result is never thrown away.

Fair share. :meth:`JobStore.claim_next` takes the oldest queued job of the owner with the
fewest running jobs (jobs without an owner form one group), so one user's long jobs do not
starve the others.

Builds. ``hub serve --build`` records each model it is going to build as a job of task
:data:`BUILD_TASK` (``version`` 0, ``params["minutes"]`` the expected time); job workers never
claim those, the background build runs them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from hub.auth.identity import Caller
from hub.catalog.leases import lease_clock, owned_row, request_cancel
from hub.catalog.rows import JobRow, utcnow
from hub.catalog.store import CatalogStore
from hub.entities import FINAL_STATES, Job
from hub.errors import Conflict

BUILD_TASK = "build"  # a model being built by `hub serve --build` (never claimed by workers)
# a model trained from a user's table (hub.training): version 0 of the model to be, run by the
# job workers like a domain's task; its input is what hub.training.run_training_job reads
TRAIN_TASK = "train"


class JobStore:
    def __init__(self, catalog: CatalogStore) -> None:
        self.catalog = catalog

    def create(
        self,
        *,
        model: str,
        version: int,
        task: str,
        input: Any,
        params: dict[str, Any],
        owner: str | None = None,
    ) -> Job:
        """Queue a job of ``owner`` (the submitter's user name; None: no one, admins only)."""
        row = JobRow(
            owner=owner,
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

    def get(self, job_id: str, *, caller: Caller | None = None) -> Job:
        """The job; with ``caller``, only their own (admins: any), else not found."""
        with self.catalog.session() as s:
            return self._row(s, job_id, caller=caller).to_entity()

    def input_of(self, job_id: str) -> Any:
        with self.catalog.session() as s:
            return self._row(s, job_id).input

    def list(
        self, *, state: str | None = None, limit: int = 100, caller: Caller | None = None
    ) -> list[Job]:
        """The newest jobs (with ``caller``: their own; admins: all)."""
        stmt = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if state:
            stmt = stmt.where(JobRow.state == state)
        if caller is not None and not caller.is_admin:
            stmt = stmt.where(JobRow.owner == caller.user)  # NULL never equals: none for anon
        with self.catalog.session() as s:
            return [r.to_entity() for r in s.scalars(stmt).all()]

    def claim_next(self, worker: str) -> Job | None:
        """Atomically take a queued job for ``worker`` (None when there is none): the oldest
        job of the owner with the fewest running jobs. The claim starts the worker's lease."""
        with self.catalog.session() as s:
            owner = func.coalesce(JobRow.owner, "")
            waiting = dict(
                s.execute(
                    select(owner, func.min(JobRow.created_at))
                    .where(JobRow.state == "queued", JobRow.task != BUILD_TASK)
                    .group_by(owner)
                ).all()
            )
            if not waiting:
                return None
            running = dict(
                s.execute(
                    select(owner, func.count())
                    .where(JobRow.state == "running", JobRow.task != BUILD_TASK)
                    .group_by(owner)
                ).all()
            )
            order = sorted(waiting, key=lambda o: (running.get(o, 0), waiting[o]))
            for who in order:
                candidates = s.scalars(
                    select(JobRow.id)
                    .where(JobRow.state == "queued", JobRow.task != BUILD_TASK, owner == who)
                    .order_by(JobRow.created_at)
                    .limit(5)
                ).all()
                for job_id in candidates:
                    if self._take(s, job_id, worker):
                        s.flush()
                        return self._row(s, job_id).to_entity()
        return None

    def _lease_clock(self) -> Any:
        return lease_clock(self.catalog)

    def _take(self, s: Any, job_id: str, worker: str) -> bool:
        now = self._lease_clock()
        return bool(
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "queued")
                .values(state="running", worker=worker, started_at=now, updated_at=now)
            ).rowcount
        )

    def claim(self, job_id: str, worker: str) -> Job | None:
        """Take one given queued job (a build) for ``worker``; None if it is not queued."""
        with self.catalog.session() as s:
            if not self._take(s, job_id, worker):
                return None
            s.flush()
            return self._row(s, job_id).to_entity()

    def heartbeat(self, job_id: str, worker: str) -> bool:
        """Renew ``worker``'s lease on a running job; False when the worker no longer holds it
        (the job was re-queued, taken by another worker or finished)."""
        with self.catalog.session() as s:
            return bool(
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.state == "running", JobRow.worker == worker)
                    .values(updated_at=self._lease_clock())
                ).rowcount
            )

    def cancel_requested(self, job_id: str) -> bool:
        """True when cancelling the job was asked for (or it is gone)."""
        with self.catalog.session() as s:
            flag = s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id))
        return flag is None or bool(flag)

    def count_queued(self) -> int:
        """Jobs waiting for a worker (build records are not)."""
        with self.catalog.session() as s:
            return int(
                s.scalar(
                    select(func.count()).where(JobRow.state == "queued", JobRow.task != BUILD_TASK)
                )
                or 0
            )

    def progress(
        self, job_id: str, step: int, total: int, message: str = "", *, worker: str | None = None
    ) -> bool:
        """Record progress (which renews the lease); return True when cancellation was
        requested. With ``worker``, only while that worker holds the job."""
        stmt = update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
        if worker is not None:
            stmt = stmt.where(JobRow.worker == worker)
        with self.catalog.session() as s:
            s.execute(
                stmt.values(
                    step=step, total=total, message=message[:500], updated_at=self._lease_clock()
                )
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
        worker: str | None = None,
    ) -> Job:
        """Finish a job once. With ``worker``, only if that worker holds the lease, or the job
        was re-queued and nobody took it yet (its result is then accepted, not thrown away);
        check the returned job's ``state`` and ``result_sha256`` to know which happened."""
        if state not in FINAL_STATES:
            raise ValueError(state)
        stmt = update(JobRow).where(JobRow.id == job_id)
        if worker is None:
            stmt = stmt.where(JobRow.state.in_(("queued", "running")))
        else:
            stmt = stmt.where(
                ((JobRow.state == "running") & (JobRow.worker == worker))
                | ((JobRow.state == "queued") & JobRow.worker.is_(None))
            )
        with self.catalog.session() as s:
            now = utcnow()
            s.execute(
                stmt.values(
                    state=state,
                    result_sha256=result_sha256,
                    error=error,
                    message=message[:500],
                    finished_at=now,
                    updated_at=now,
                )
            )
            return self._row(s, job_id).to_entity()

    def cancel(self, job_id: str, *, caller: Caller | None = None) -> Job:
        """A queued job is cancelled at once; a running one when its worker next reports.
        With ``caller``, only their own job (admins: any), else not found."""
        with self.catalog.session() as s:
            row = self._row(s, job_id, caller=caller)
            if row.state in FINAL_STATES:
                raise Conflict(f"job {job_id} is already {row.state}", code="job_finished")
            request_cancel(s, JobRow, job_id)
            s.flush()
            s.refresh(row)
            return row.to_entity()

    def release(self, job_id: str, worker: str, reason: str) -> bool:
        """Give a running job back to the queue (its worker is stopping): it runs again from
        the start on the next free worker; this does not count as a lost attempt."""
        with self.catalog.session() as s:
            return bool(
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.state == "running", JobRow.worker == worker)
                    .values(
                        state="queued",
                        worker=None,
                        started_at=None,
                        step=0,
                        total=0,
                        message=f"re-queued: {reason}"[:500],
                        updated_at=utcnow(),
                    )
                ).rowcount
            )

    def running_of(self, worker: str) -> list[str]:
        """Ids of the jobs ``worker`` holds."""
        with self.catalog.session() as s:
            return list(
                s.scalars(
                    select(JobRow.id).where(JobRow.state == "running", JobRow.worker == worker)
                ).all()
            )

    def result_shas(self) -> set[str]:
        """The sha256 of every job result the catalog refers to, and of every file of a
        screen (its input, chunks and result): what the artifact sweep must keep."""
        from hub.catalog.screens import ScreenStore

        with self.catalog.session() as s:
            jobs = {
                sha
                for sha in s.scalars(
                    select(JobRow.result_sha256).where(JobRow.result_sha256.is_not(None))
                ).all()
                if sha
            }
        return jobs | ScreenStore(self.catalog).shas()

    def requeue_lost(
        self,
        reason: str,
        *,
        worker: str | None = None,
        lease_s: float | None = None,
        workers: list[str] | None = None,
        max_attempts: int = 3,
    ) -> tuple[int, int]:
        """Put back in the queue the running jobs that lost their worker: those of ``worker``
        (or of any of ``workers``), and/or those whose lease is older than ``lease_s``
        seconds. A job that has now lost ``max_attempts`` workers is failed with
        ``worker_lost`` instead, and a build is cancelled. Returns (re-queued, failed).

        Each change is conditional on the row being unchanged since it was read, so a lease
        renewed meanwhile is left alone."""
        holders = [w for w in [worker, *(workers or [])] if w]
        cond = []
        if holders:
            cond.append(JobRow.worker.in_(holders))
        if lease_s is not None:
            cond.append(JobRow.updated_at < self._lease_clock() - timedelta(seconds=lease_s))
        if not cond:
            raise ValueError("give worker(s) or lease_s")

        requeued = failed = 0
        with self.catalog.session() as s:
            rows = s.execute(
                select(
                    JobRow.id, JobRow.worker, JobRow.updated_at, JobRow.error, JobRow.task
                ).where(JobRow.state == "running", or_(*cond))
            ).all()
        for job_id, holder, seen, error, task in rows:
            lost = int((error or {}).get("attempts", 0)) + 1 if isinstance(error, dict) else 1
            now = utcnow()
            if task == BUILD_TASK:
                values: dict[str, Any] = dict(
                    state="cancelled",
                    finished_at=now,
                    message=f"the build stopped before it finished ({reason})"[:500],
                )
            elif lost >= max_attempts:
                values = dict(
                    state="failed",
                    finished_at=now,
                    error={
                        "code": "worker_lost",
                        "message": f"{reason}; gave up after {lost} attempt(s)",
                        "attempts": lost,
                    },
                    message=f"{reason}; gave up after {lost} attempt(s)"[:500],
                )
            else:
                values = dict(
                    state="queued",
                    worker=None,
                    started_at=None,
                    step=0,
                    total=0,
                    error={"code": "worker_lost", "message": reason, "attempts": lost},
                    message=f"re-queued after attempt {lost}: {reason}"[:500],
                )
            with self.catalog.session() as s:
                done = s.execute(
                    update(JobRow)
                    .where(
                        JobRow.id == job_id,
                        JobRow.state == "running",
                        JobRow.worker == holder,
                        JobRow.updated_at == seen,
                    )
                    .values(updated_at=now, **values)
                ).rowcount
            if done and task == BUILD_TASK:  # its builder is gone: so are the builds after it
                self.cancel_builds("the build process stopped before it got there")
            if done and values["state"] == "queued":
                requeued += 1
            elif done:
                failed += 1
        return requeued, failed

    # -- builds ---------------------------------------------------------------------------
    def announce_build(self, model: str, *, minutes: float, worker_hint: str = "") -> Job:
        """Record that ``model`` is queued for a build expected to take ``minutes``; an older
        build record of the same model still queued is cancelled (superseded)."""
        with self.catalog.session() as s:
            now = utcnow()
            s.execute(
                update(JobRow)
                .where(JobRow.task == BUILD_TASK, JobRow.model == model, JobRow.state == "queued")
                .values(
                    state="cancelled",
                    finished_at=now,
                    updated_at=now,
                    message="superseded by a newer build",
                )
            )
        return self.create(
            model=model,
            version=0,
            task=BUILD_TASK,
            input={},
            params={"minutes": float(minutes), **({"by": worker_hint} if worker_hint else {})},
        )

    def cancel_builds(self, reason: str) -> int:
        """Cancel every build still queued (its builder stopped); returns how many."""
        now = utcnow()
        with self.catalog.session() as s:
            return s.execute(
                update(JobRow)
                .where(JobRow.task == BUILD_TASK, JobRow.state == "queued")
                .values(state="cancelled", finished_at=now, updated_at=now, message=reason[:500])
            ).rowcount

    def build_of(self, model: str) -> Job | None:
        """The newest queued or running build of ``model`` (None when none is pending)."""
        with self.catalog.session() as s:
            row = s.scalar(
                select(JobRow)
                .where(
                    JobRow.task == BUILD_TASK,
                    JobRow.model == model,
                    JobRow.state.in_(("queued", "running")),
                )
                .order_by(JobRow.created_at.desc())
                .limit(1)
            )
            return row.to_entity() if row else None

    @staticmethod
    def _row(s: Any, job_id: str, *, caller: Caller | None = None) -> JobRow:
        return owned_row(s, JobRow, job_id, "job", caller=caller)
