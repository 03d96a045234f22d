"""Submitting and running jobs.

- :func:`submit_job` validates a job (model, task, input, parameters) and queues it; errors
  the caller can fix are raised here, before anything is queued.
- :func:`run_job` runs one claimed job in the current process: it loads the model version
  (warm, through the runtime), runs the domain's task, stores the result as a JSON artifact and
  marks the job finished; progress is written to the database at most every ``interval_s``.
- :func:`worker_main` is a worker process's loop; :class:`JobSupervisor` keeps ``n`` of them
  alive, so a long MD run never blocks predictions.

Processes and leases (see :mod:`hub.catalog.jobs` for the lease in the database):

- A worker holds a *lease* on the job it runs and renews it every ``lease_s / 3`` seconds from
  a heartbeat thread (:class:`Lease`). A job whose lease expired (its worker was killed, its
  host lost power) is re-queued by any supervisor on the catalog, or failed with
  ``worker_lost`` after ``max_attempts`` lost workers. Starting a server never fails jobs that
  another server's workers are running.
- A worker dies with its parent: ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` on Linux (sent when the
  *thread* that started it exits: start supervisors from a long-lived thread), and a thread
  watching ``getppid()`` everywhere (:func:`die_with_parent`).
- SIGTERM asks a worker to stop: the running job is given back to the queue (it runs again
  from the start on the next worker) and the worker exits within ``grace_s``. SIGINT is
  ignored by workers (Ctrl-C reaches the whole process group; the server decides).
- Limits (:class:`JobLimits`, from ``HUB_JOB_*``): a job running longer than
  ``time_limit_s`` fails with ``time_limit_exceeded``; each worker process runs under
  ``RLIMIT_AS`` of ``memory_mb`` and a job that runs out of it fails with
  ``memory_limit_exceeded``.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson

from hub.catalog.jobs import TRAIN_TASK, JobStore
from hub.config import Settings
from hub.entities import Job
from hub.errors import HubError, InvalidRequest, PluginError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


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
    - ``memory_mb`` (half the machine's memory, at least 8192): address-space limit of each
      worker process, MiB (0: none). Address space counts reservations too (TensorFlow
      reserves about 1.6 GiB at import, each thread a stack), hence the generous default.
    - ``grace_s`` (5): how long a worker asked to stop, or past the time limit, may take to
      unwind before it exits anyway.
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


# -- processes -------------------------------------------------------------------------------
def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send ``sig`` to this process when the thread that started it exits;
    False where ``prctl`` is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int, *, grace_s: float = 5.0, check_s: float = 1.0) -> None:
    """Make this process stop when ``parent_pid`` is gone: SIGTERM to itself (the clean path),
    and ``os._exit`` ``grace_s`` later if it is still alive."""
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl could take effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(check_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def apply_memory_limit(memory_mb: int) -> None:
    """Limit this process's address space (``RLIMIT_AS``) to ``memory_mb`` MiB (0: none);
    allocations over it raise ``MemoryError``."""
    if memory_mb <= 0:
        return
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    limit = int(memory_mb) * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class Lease:
    """A worker's hold on one running job: a heartbeat thread renews it every ``lease_s / 3``
    seconds and watches the wall-time limit and the worker's stop request.

    :meth:`check` (called from the task's progress callback) raises :class:`Interrupted`,
    :class:`LeaseLost` or :class:`TimeLimitExceeded`. A task that never reports progress is
    stopped by the heartbeat thread itself ``grace_s`` after such an event: it writes the
    job's outcome (given back to the queue, or failed) and ends the process with ``os._exit``.
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
    ) -> None:
        self.jobs, self.job, self.worker, self.limits = jobs, job, worker, limits
        self.stopping = stopping or threading.Event()
        self.lost = threading.Event()
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
        if self.over_time:
            raise TimeLimitExceeded(
                f"the job ran longer than its wall-time limit of {self.limits.time_limit_s:g} s"
            )
        if self.stopping.is_set():
            raise Interrupted("its worker is stopping")

    def _beat(self) -> None:
        every = max(self.limits.lease_s / 3, 0.05)
        overdue_since: float | None = None
        while not self._done.wait(every):
            try:
                if not self.jobs.heartbeat(self.job.id, self.worker):
                    self.lost.set()
            except HubError as exc:  # the database is away: keep trying, the lease may expire
                log.warning("job %s: heartbeat failed: %s", self.job.id, exc)
            if not (self.lost.is_set() or self.over_time or self.stopping.is_set()):
                continue
            overdue_since = overdue_since or time.monotonic()
            if time.monotonic() - overdue_since >= self.limits.grace_s and self.hard_exit:
                self._hard_stop()

    def _hard_stop(self) -> None:
        """The task did not unwind in time: settle the job and end the worker process."""
        try:
            if self.over_time and not self.lost.is_set():
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
            elif not self.lost.is_set():
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
) -> Job:
    """Run a job already claimed by ``worker`` (default: the job's) to its end, holding its
    lease; returns the job as the catalog has it afterwards.

    Outcomes: ``succeeded`` with the result stored; ``cancelled``; ``failed`` with a typed
    error (the task's own, ``time_limit_exceeded``, ``memory_limit_exceeded`` or
    ``task_failed``); back to ``queued`` when the worker is stopping; untouched when another
    worker took the job over (the lease was lost)."""
    jobs: JobStore = runtime.jobs
    limits = limits or JobLimits.from_env()
    holder = worker or job.worker or ""
    last = 0.0

    def finish(state: str, **kw: Any) -> Job:
        return jobs.finish(job.id, state, worker=holder, **kw)

    with Lease(jobs, job, holder, limits, stopping, hard_exit=hard_exit) as lease:

        def progress(step: int, total: int, message: str = "") -> None:
            nonlocal last
            lease.check()
            now = time.monotonic()
            if now - last >= interval_s or step >= total:
                last = now
                if jobs.progress(job.id, step, total, message, worker=holder):
                    raise Cancelled

        try:
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
                f"the job needed more memory than its worker's limit of {limits.memory_mb} MiB"
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


def worker_main(
    settings: Settings,
    name: str,
    poll_s: float = 0.2,
    *,
    parent_pid: int | None = None,
    limits: JobLimits | None = None,
) -> None:
    """A worker process: claim and run jobs until told to stop (SIGTERM) or its parent
    ``parent_pid`` is gone."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one engine per worker, no oversubscription
    limits = limits or JobLimits.from_env()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid is not None:
        die_with_parent(parent_pid, grace_s=limits.grace_s)
    apply_memory_limit(limits.memory_mb)
    from hub.runtime import Runtime

    runtime = Runtime(settings)
    while not stopping.is_set():
        try:
            job = runtime.jobs.claim_next(name)
        except HubError as exc:  # the database is away for a moment
            log.warning("%s: cannot claim jobs: %s", name, exc)
            stopping.wait(5 * poll_s)
            continue
        if job is None:
            stopping.wait(poll_s)
            continue
        run_job(runtime, job, worker=name, limits=limits, stopping=stopping, hard_exit=True)


def worker_prefix(pid: int | None = None) -> str:
    """``worker-<host>-<pid>``: the names of a supervisor's workers start with this."""
    return f"worker-{socket.gethostname()[:40]}-{pid or os.getpid()}"


def _gone_locally(worker: str) -> bool:
    """True when ``worker`` was started by a supervisor of this host that is not running
    any more (or by an earlier life of this very process id, as after a container restart)."""
    prefix = f"worker-{socket.gethostname()[:40]}-"
    if not worker.startswith(prefix):
        return False
    pid_text = worker[len(prefix) :].split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # we are starting: none of the workers named after us exists yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class JobSupervisor:
    """Keeps ``n`` worker processes running; re-queues the jobs of dead ones."""

    def __init__(
        self,
        settings: Settings,
        n: int = 1,
        *,
        check_s: float = 1.0,
        limits: JobLimits | None = None,
    ) -> None:
        from hub.catalog import CatalogStore

        self.settings = settings
        self.n = n
        self.check_s = check_s
        self.limits = limits or JobLimits.from_env()
        self.jobs = JobStore(CatalogStore(settings.database_url))
        self.procs: dict[str, mp.process.BaseProcess] = {}
        self._ctx = mp.get_context("spawn")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0
        self._prefix = worker_prefix()
        self._born: dict[str, float] = {}
        self._backoff_s = 0.0

    def start(self, *, recover: bool = True) -> JobSupervisor:
        """Start the workers; with ``recover``, first re-queue the jobs whose workers are
        gone: those of dead servers of this host at once, any other once its lease expired.
        Jobs whose workers still renew their lease are left alone, whoever runs them."""
        if recover:
            self.recover()
        for _ in range(self.n):
            self._spawn()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="job-supervisor")
        self._thread.start()
        return self

    def recover(self) -> tuple[int, int]:
        """Re-queue (or fail, after ``max_attempts``) jobs that lost their worker; returns
        (re-queued, failed)."""
        dead = [w for w in self.jobs.running_workers() if w not in self.procs and _gone_locally(w)]
        a = (0, 0)
        if dead:
            a = self.jobs.requeue_lost(
                "its server stopped", workers=dead, max_attempts=self.limits.max_attempts
            )
        b = self.jobs.requeue_lost(
            f"its worker's lease expired (no heartbeat for {self.limits.lease_s:g} s)",
            lease_s=self.limits.lease_s,
            max_attempts=self.limits.max_attempts,
        )
        requeued, failed = a[0] + b[0], a[1] + b[1]
        if requeued or failed:
            log.warning("jobs that lost their worker: %d re-queued, %d failed", requeued, failed)
        return requeued, failed

    def _spawn(self) -> None:
        self._count += 1
        name = f"{self._prefix}-{self._count}"
        proc = self._ctx.Process(
            target=worker_main,
            args=(self.settings, name),
            kwargs={"parent_pid": os.getpid(), "limits": self.limits},
            name=name,
            daemon=True,
        )
        proc.start()
        self.procs[name] = proc
        self._born[name] = time.monotonic()

    def _watch(self) -> None:
        next_sweep = time.monotonic() + self.limits.lease_s / 2
        while not self._stop.wait(self.check_s):
            try:
                self._check_workers()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.limits.lease_s / 2
                    self.recover()
            except HubError as exc:  # the database is away: try again next round
                log.warning("job supervisor: %s", exc)

    def _check_workers(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.is_alive() or self._stop.is_set():
                continue
            reason = f"worker process died (exit code {proc.exitcode})"
            requeued, failed = self.jobs.requeue_lost(
                reason, worker=name, max_attempts=self.limits.max_attempts
            )
            log.warning("%s: %s; %d job(s) re-queued, %d failed", name, reason, requeued, failed)
            del self.procs[name]
            quick = time.monotonic() - self._born.pop(name, 0.0) < 10
            self._backoff_s = min(self._backoff_s * 2 or 1.0, 60.0) if quick else 0.0
            if self._backoff_s and self._stop.wait(self._backoff_s):  # a crash loop: slow down
                return
            self._spawn()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the workers: each gives its running job back to the queue and exits (killed
        after ``timeout_s``, its job then given back here)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.check_s + 5)
        for proc in self.procs.values():
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + timeout_s
        for proc in self.procs.values():
            proc.join(max(deadline - time.monotonic(), 0.1))
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        try:
            for name in self.procs:
                for job_id in self.jobs.running_of(name):
                    self.jobs.release(job_id, name, "its worker was stopped")
        except HubError as exc:
            log.warning("job supervisor: could not give back jobs: %s", exc)
        self.procs.clear()
        self.jobs.catalog.close()
