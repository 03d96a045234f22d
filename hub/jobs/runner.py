"""Submitting and running jobs.

- :func:`submit_job` validates a job (model, task, input, parameters) and queues it; errors
  the caller can fix are raised here, before anything is queued.
- :func:`run_job` runs one claimed job in the current process: it loads the model version
  (warm, through the runtime), runs the domain's task, stores the result as a JSON artifact and
  marks the job finished; progress is written to the database at most every ``interval_s``.
  Jobs run on the Dask cluster (:mod:`hub.jobs.dask_runner`), ``hub.train`` runs one in the
  caller's process.

Leases and limits (see :mod:`hub.catalog.jobs` for the lease in the database):

- The process running a job holds a *lease* on it, renewed from a heartbeat thread
  (:class:`Lease`) every ``lease_s / 3`` seconds (at most every 2 s). A job whose lease
  expired (its worker was killed, its host lost power) is re-queued by any hub on the
  catalog, or failed with ``worker_lost`` after ``max_attempts`` lost workers. Starting a hub
  never fails jobs that live workers are running.
- Limits (:class:`JobLimits`, from ``HUB_JOB_*``): a job running longer than
  ``time_limit_s`` fails with ``time_limit_exceeded``; a job whose address space grows by more
  than ``memory_mb`` (``RLIMIT_AS`` while it runs, :func:`memory_limit`) fails with
  ``memory_limit_exceeded``. A cancelled job stops at its next progress report.
- A task that does not unwind ``grace_s`` after its time limit, its cancellation, a stop
  request or the loss of its lease is ended by the heartbeat thread (with ``hard_exit``): the
  job's outcome is written, then the process exits (a Dask nanny starts a new worker).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from hub.catalog.jobs import TRAIN_TASK, JobStore
from hub.entities import Job
from hub.errors import HubError, InvalidRequest, PluginError
from hub.memlimit import memory_limit

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a task when its job was cancelled."""


class Interrupted(Exception):
    """Raised inside a task when its worker is asked to stop: the job goes back to the queue."""


class LeaseLost(Exception):
    """Raised inside a task when another worker or server took the job over."""


class TimeLimitExceeded(Exception):
    """Raised inside a task that ran longer than its wall-time limit."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class JobLimits:
    """How jobs are leased and bounded; :meth:`from_env` reads ``HUB_JOB_<FIELD>``.

    - ``lease_s`` (30): a running job whose worker has not renewed its lease for this long
      is re-queued (the heartbeat renews it every ``lease_s / 3``).
    - ``max_attempts`` (3): a job that lost this many workers is failed (``worker_lost``).
    - ``time_limit_s`` (7200): wall time of one job, seconds (0: none).
    - ``memory_mb`` (half the machine's memory, at least 8192): how much a job may grow its
      worker process's address space, MiB (0: no limit). Address space counts reservations
      too (TensorFlow reserves about 1.6 GiB at import, each thread a stack), hence the
      generous default; keep it under the Dask worker's own memory limit (a worker its nanny
      kills for memory is a lost worker: re-run, then failed with ``worker_lost``).
    - ``grace_s`` (5): how long a task past its time limit, cancelled, asked to stop or
      without its lease may take to unwind before its process is ended.
    """

    lease_s: float = 30.0
    max_attempts: int = 3
    time_limit_s: float = 7200.0
    memory_mb: int = 8192
    grace_s: float = 5.0

    @classmethod
    def from_env(cls) -> JobLimits:
        d = cls()
        return cls(
            lease_s=_env_float("HUB_JOB_LEASE_S", d.lease_s),
            max_attempts=int(_env_float("HUB_JOB_MAX_ATTEMPTS", d.max_attempts)),
            time_limit_s=_env_float("HUB_JOB_TIME_LIMIT_S", d.time_limit_s),
            memory_mb=int(_env_float("HUB_JOB_MEMORY_MB", _default_memory_mb())),
            grace_s=_env_float("HUB_JOB_GRACE_S", d.grace_s),
        )


def _default_memory_mb() -> int:
    """Half the machine's physical memory in MiB, at least 8192."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        total = 0
    return max(8192, total // 2)


def submit_job(
    runtime: Any,
    *,
    model: str,
    task: str,
    input: Any,
    params: dict[str, Any] | None = None,
    owner: str | None = None,
) -> Job:
    """Validate and queue a job of ``owner``; ``model`` is a reference (``name``,
    ``name@alias``, ``name:3``)."""
    version = runtime.store.resolve(model)
    try:
        spec = runtime.plugins.task(task)
    except PluginError as exc:
        raise InvalidRequest(
            f"unknown task {task!r}; tasks: {', '.join(runtime.plugins.tasks())}",
            code="unknown_task",
        ) from exc
    info = runtime.store.get_model(version.model)
    if not spec.runs_on(info):
        raise InvalidRequest(
            f"task {task!r} does not run on {version.model} ({info.task}, input "
            f"{info.input_type}); its card lists the tasks it runs",
            code="task_not_applicable",
        )
    checked = spec.check_params(dict(params or {}))
    obj = runtime.plugins.input_type(spec.input_type).parse(input)  # a bad input fails now
    if spec.check_input is not None:  # too expensive with this input: 422 now, not a failed job
        spec.check_input(obj, checked)
    return runtime.jobs.create(
        model=version.model,
        version=version.version,
        task=task,
        input=input,
        params=checked,
        owner=owner,
    )


def _run_task(runtime: Any, job: Job, progress: Any) -> dict[str, Any]:
    """The job's computation: training a model from a table (the hub's own task), or a
    domain's task on a loaded model version."""
    if job.task == TRAIN_TASK:
        from hub.training import run_training_job  # TensorFlow: imported by workers only

        return run_training_job(runtime, job, progress)
    task = runtime.plugins.task(job.task)
    version = runtime.store.get_version(job.model, job.version)
    predictor = runtime.predictor(version)
    obj = runtime.plugins.input_type(task.input_type).parse(runtime.jobs.input_of(job.id))
    return task.run(predictor, obj, job.params, progress)


class Lease:
    """A worker's hold on one running job: a heartbeat thread renews it every ``lease_s / 3``
    seconds (at most 2 s apart) and watches the wall-time limit, a cancel request and the
    worker's stop request (``stopping``, or ``should_stop()`` turning true).

    :meth:`check` (called from the task's progress callback) raises :class:`Cancelled`,
    :class:`Interrupted`, :class:`LeaseLost` or :class:`TimeLimitExceeded`. With
    ``hard_exit``, a task that does not unwind within ``grace_s`` of such an event is stopped
    by the heartbeat thread itself: it writes the job's outcome (failed, cancelled, or given
    back to the queue) and ends the process with ``os._exit``.
    """

    def __init__(
        self,
        jobs: JobStore,
        job: Job,
        worker: str,
        limits: JobLimits,
        stopping: threading.Event | None = None,
        *,
        hard_exit: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.jobs, self.job, self.worker, self.limits = jobs, job, worker, limits
        self.stopping = stopping or threading.Event()
        self.should_stop = should_stop
        self.lost = threading.Event()
        self.cancelled = threading.Event()
        self.hard_exit = hard_exit
        self._done = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5)

    @property
    def over_time(self) -> bool:
        limit = self.limits.time_limit_s
        return limit > 0 and time.monotonic() - self._started > limit

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"job {self.job.id} was taken over by another worker")
        if self.cancelled.is_set():
            raise Cancelled
        if self.over_time:
            raise TimeLimitExceeded(
                f"the job ran longer than its wall-time limit of {self.limits.time_limit_s:g} s"
            )
        if self.stopping.is_set():
            raise Interrupted("its worker is stopping")

    def _beat(self) -> None:
        every = max(min(self.limits.lease_s / 3, 2.0), 0.05)
        overdue_since: float | None = None
        while not self._done.wait(every):
            try:
                if not self.jobs.heartbeat(self.job.id, self.worker):
                    self.lost.set()
                elif self.jobs.cancel_requested(self.job.id):
                    self.cancelled.set()
            # the database is away, or the job holds all its memory: keep trying (the lease
            # may expire)
            except (HubError, MemoryError) as exc:
                log.warning("job %s: heartbeat failed: %r", self.job.id, exc)
            if self.should_stop is not None and self.should_stop():
                self.stopping.set()
            events = (self.lost, self.cancelled, self.stopping)
            if not (self.over_time or any(e.is_set() for e in events)):
                continue
            overdue_since = overdue_since or time.monotonic()
            if time.monotonic() - overdue_since >= self.limits.grace_s and self.hard_exit:
                self._hard_stop()

    def _hard_stop(self) -> None:
        """The task did not unwind in time: settle the job and end the worker process."""
        try:
            if self.lost.is_set():
                pass  # another worker holds it: nothing of ours to write
            elif self.over_time:
                limit = self.limits.time_limit_s
                self.jobs.finish(
                    self.job.id,
                    "failed",
                    worker=self.worker,
                    message=f"time limit of {limit:g} s exceeded",
                    error={
                        "code": "time_limit_exceeded",
                        "message": f"the job ran longer than its wall-time limit of {limit:g} s",
                    },
                )
            elif self.cancelled.is_set():
                self.jobs.finish(
                    self.job.id, "cancelled", worker=self.worker, message="cancelled while running"
                )
            else:
                self.jobs.release(self.job.id, self.worker, "its worker was stopped")
        finally:
            log.warning(
                "job %s did not stop within %g s: ending its worker",
                self.job.id,
                self.limits.grace_s,
            )
            os._exit(70)


def run_job(
    runtime: Any,
    job: Job,
    *,
    interval_s: float = 0.5,
    worker: str | None = None,
    limits: JobLimits | None = None,
    stopping: threading.Event | None = None,
    hard_exit: bool = False,
    should_stop: Callable[[], bool] | None = None,
    limit_memory: bool = False,
) -> Job:
    """Run a job already claimed by ``worker`` (default: the job's) to its end, holding its
    lease; returns the job as the catalog has it afterwards.

    Outcomes: ``succeeded`` with the result stored; ``cancelled``; ``failed`` with a typed
    error (the task's own, ``time_limit_exceeded``, ``memory_limit_exceeded`` or
    ``task_failed``); back to ``queued`` when the worker is stopping; untouched when another
    worker took the job over (the lease was lost). See :class:`Lease` for ``stopping``,
    ``should_stop`` and ``hard_exit``; with ``limit_memory``, the task runs under
    :func:`memory_limit` of ``limits.memory_mb`` (a worker process's job: never in a user's
    own process)."""
    jobs: JobStore = runtime.jobs
    limits = limits or JobLimits.from_env()
    holder = worker or job.worker or ""
    last = 0.0

    def finish(state: str, **kw: Any) -> Job:
        return jobs.finish(job.id, state, worker=holder, **kw)

    lease = Lease(jobs, job, holder, limits, stopping, hard_exit=hard_exit, should_stop=should_stop)
    with lease:

        def progress(step: int, total: int, message: str = "") -> None:
            nonlocal last
            lease.check()
            now = time.monotonic()
            if now - last >= interval_s or step >= total:
                last = now
                if jobs.progress(job.id, step, total, message, worker=holder):
                    raise Cancelled

        try:
            with memory_limit(limits.memory_mb if limit_memory else 0):
                result = _run_task(runtime, job, progress)
                data = orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)
            sha = runtime.artifacts.put_bytes(data)
            done = finish("succeeded", result_sha256=sha, message="done")
            if done.result_sha256 != sha:  # another worker holds it now; swept as an orphan
                log.warning("job %s: result not recorded, the job is %s", job.id, done.state)
            return done
        except Cancelled:
            return finish("cancelled", message="cancelled while running")
        except Interrupted:
            jobs.release(job.id, holder, "its worker was stopped (the hub is shutting down)")
            return jobs.get(job.id)
        except LeaseLost:
            log.warning("job %s: lease lost; another worker runs it", job.id)
            return jobs.get(job.id)
        except TimeLimitExceeded as exc:
            return finish(
                "failed",
                message=str(exc),
                error={"code": "time_limit_exceeded", "message": str(exc)},
            )
        except MemoryError:
            msg = (
                f"the job needed more memory than its limit of {limits.memory_mb} MiB"
                if limits.memory_mb > 0
                else "the job ran out of memory"
            )
            return finish(
                "failed", message=msg, error={"code": "memory_limit_exceeded", "message": msg}
            )
        except HubError as exc:
            return finish("failed", error=exc.to_dict(), message=exc.message)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            return finish(
                "failed",
                message=str(exc)[:300],
                error={"code": "task_failed", "message": f"{type(exc).__name__}: {str(exc)[:300]}"},
            )
