"""Jobs on Dask: the hub's one job engine, on the cluster of the screens (the embedded
``LocalCluster``, or the one at ``HUB_DASK_SCHEDULER``).

:class:`JobDispatcher` runs in the hub. The job's row is written (``queued``) before anything
reaches Dask; while jobs are queued, the dispatcher keeps one task in flight per worker thread
(or per ``slots``). Each task (:func:`run_next_job`, on a worker) claims the next job itself
(``claim_next``: per-user fair share, an atomic claim) under a holder name of its own, and
runs it through :func:`hub.jobs.runner.run_job` (the domain's task, or training) with its
limits: the lease renewed from the worker, the wall time, the memory (``RLIMIT_AS`` while the
job runs: :func:`~hub.memlimit.memory_limit`), cancellation. So:

- A job whose worker died (its host, its process, the OOM killer) stops renewing its lease;
  any dispatcher on the catalog re-queues it once the lease expired, and fails it with
  ``worker_lost`` after ``HUB_JOB_MAX_ATTEMPTS`` lost workers (the count of
  :meth:`~hub.catalog.jobs.JobStore.requeue_lost`). A task Dask re-runs after its worker died
  claims whatever is queued then: a job never runs twice at once.
- A restarted hub never fails live work: jobs whose workers renew their lease (on a remote
  cluster they go on while the hub is away) are left alone, and their results are kept.
- A stopped hub gives its jobs back: the embedded cluster stops with it, and the jobs its
  tasks held are re-queued at once (not counted as lost attempts). A Dask worker that is
  closing (``hub worker`` stopped) gives its job back too.
- A task that does not stop within ``HUB_JOB_GRACE_S`` of its time limit or its cancellation
  ends its worker process (the nanny starts a new one) after writing the job's outcome.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from hub.catalog.jobs import JobStore
from hub.config import Settings
from hub.errors import HubError
from hub.jobs.runner import JobLimits, run_job

log = logging.getLogger(__name__)

_CLOSING = frozenset({"closing", "closing_gracefully", "closed", "failed"})


def holder_name() -> str:
    """A new holder name for one Dask task: ``dask-<host>-<random>``."""
    return f"dask-{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"


def task_key(holder: str) -> str:
    """The Dask key of the task that runs a job as ``holder``."""
    return f"hub-job-{holder}"


def _worker_closing() -> Callable[[], bool] | None:
    """True once this task's Dask worker is closing (None outside a worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    return lambda: getattr(worker.status, "name", str(worker.status)) in _CLOSING


def run_next_job(settings: Settings, holder: str, limits: JobLimits) -> dict[str, Any] | None:
    """On a Dask worker: claim the next queued job as ``holder`` and run it to its end, under
    its limits; returns ``{"id", "state"}``, or None when the queue was empty."""
    from hub.engine import worker_runtime

    runtime = worker_runtime(settings)
    job = runtime.jobs.claim_next(holder)
    if job is None:
        return None
    done = run_job(
        runtime,
        job,
        worker=holder,
        limits=limits,
        hard_exit=True,
        should_stop=_worker_closing(),
        limit_memory=True,
    )
    return {"id": done.id, "state": done.state}


class JobDispatcher:
    """Feeds queued jobs to Dask and re-queues those whose workers are gone (see the module
    docstring); ``slots``: most tasks in flight (0: the cluster's worker threads). The
    embedded cluster is started by the first queued job, not before."""

    def __init__(
        self,
        settings: Settings,
        *,
        limits: JobLimits | None = None,
        slots: int = 0,
        check_s: float = 0.5,
        client: Any = None,
    ) -> None:
        from hub.catalog import CatalogStore

        self.settings, self.slots, self.check_s = settings, slots, check_s
        self.limits = limits or JobLimits.from_env()
        self.jobs = JobStore(CatalogStore(settings.database_url))
        self._client = client
        self._inflight: dict[str, Any] = {}  # holder -> future
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def client(self) -> Any:
        """The Dask client: the one given, else this process's (made again if it was
        closed, as after :func:`hub.engine.shutdown`)."""
        if self._client is not None:
            return self._client
        from hub.engine import client

        return client(self.settings)

    def start(self) -> JobDispatcher:
        self._thread = threading.Thread(target=self._loop, name="job-dispatcher", daemon=True)
        self._thread.start()
        return self

    def recover(self) -> tuple[int, int]:
        """Re-queue (or fail, after ``max_attempts``) the jobs whose lease expired; returns
        (re-queued, failed). Jobs whose workers renew their lease are left alone."""
        out = self.jobs.requeue_lost(
            f"its worker's lease expired (no heartbeat for {self.limits.lease_s:g} s)",
            lease_s=self.limits.lease_s,
            max_attempts=self.limits.max_attempts,
        )
        if out != (0, 0):
            log.warning("jobs that lost their worker: %d re-queued, %d failed", *out)
        return out

    def _capacity(self) -> int:
        if self.slots:
            return self.slots
        try:
            info = self.client.scheduler_info()
            return max(sum(w.get("nthreads", 1) for w in info["workers"].values()), 1)
        except Exception:  # noqa: BLE001 - the cluster is starting: one task at a time
            return 1

    def tick(self) -> None:
        """One round: collect finished tasks, re-queue lost jobs, submit tasks for the
        queued ones."""
        for holder, fut in list(self._inflight.items()):
            gone = getattr(fut.client, "status", "running") in ("closing", "closed")
            if fut.done() or gone:
                del self._inflight[holder]
                if not gone and fut.status == "error":
                    log.warning("job task %s failed: %s", holder, fut.exception())
        self.recover()
        queued = self.jobs.count_queued()
        if not queued:
            return
        want = min(queued, self._capacity()) - len(self._inflight)
        for _ in range(max(want, 0)):
            holder = holder_name()
            self._inflight[holder] = self.client.submit(
                run_next_job, self.settings, holder, self.limits, key=task_key(holder)
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.check_s):
            try:
                self.tick()
            except HubError as exc:  # the database is away: try again next round
                log.warning("job dispatcher: %s", exc)
            except Exception:
                log.exception("job dispatcher")

    def stop(self, *, give_back: bool = True) -> None:
        """Stop dispatching. With ``give_back`` (an embedded cluster, which stops with the
        hub), the jobs this dispatcher's tasks hold go back to the queue at once; on a remote
        cluster pass False: they run on and their results are recorded."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.check_s + 5)
        for holder, fut in self._inflight.items():
            if give_back:
                try:
                    fut.cancel()
                except Exception:  # noqa: BLE001 - its client may be gone already
                    pass
                try:
                    for job_id in self.jobs.running_of(holder):
                        self.jobs.release(job_id, holder, "its hub was stopped")
                except HubError as exc:
                    log.warning("job dispatcher: could not give back jobs: %s", exc)
        self._inflight.clear()
        self.jobs.catalog.close()
