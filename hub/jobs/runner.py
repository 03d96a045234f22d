"""Submitting and running jobs.

- :func:`submit_job` validates a job (model, task, input, parameters) and queues it; errors
  the caller can fix are raised here, before anything is queued.
- :func:`run_job` runs one claimed job in the current process: it loads the model version
  (warm, through the runtime), runs the domain's task, stores the result as a JSON artifact and
  marks the job finished; progress is written to the database at most every ``interval_s``.
- :func:`worker_main` is a worker process's loop; :class:`JobSupervisor` keeps ``n`` of them
  alive, so a long MD run never blocks predictions. When a worker dies its running job is
  marked failed with the reason, and a new worker takes its place. At start-up, jobs left
  ``running`` by a previous server are marked failed: none stays "running" for ever.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from typing import Any

import orjson

from hub.catalog.jobs import JobStore
from hub.config import Settings
from hub.entities import Job
from hub.errors import HubError, InvalidRequest, PluginError

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a task when its job was cancelled."""


def submit_job(
    runtime: Any,
    *,
    model: str,
    task: str,
    input: Any,
    params: dict[str, Any] | None = None,
    owner: str | None = None,
) -> Job:
    """Validate and queue a job; ``model`` is a reference (``name``, ``name@alias``, ``name:3``)."""
    version = runtime.store.resolve(model)
    try:
        spec = runtime.plugins.task(task)
    except PluginError as exc:
        raise InvalidRequest(
            f"unknown task {task!r}; tasks: {', '.join(runtime.plugins.tasks())}",
            code="unknown_task",
        ) from exc
    checked = spec.check_params(dict(params or {}))
    runtime.plugins.input_type(spec.input_type).parse(input)  # a bad input fails now, typed
    return runtime.jobs.create(
        model=version.model,
        version=version.version,
        task=task,
        input=input,
        params=checked,
        owner=owner,
    )


def run_job(runtime: Any, job: Job, *, interval_s: float = 0.5) -> Job:
    """Run a job already claimed by this process to its end."""
    jobs: JobStore = runtime.jobs
    last = 0.0

    def progress(step: int, total: int, message: str = "") -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= interval_s or step >= total:
            last = now
            if jobs.progress(job.id, step, total, message):
                raise Cancelled

    try:
        task = runtime.plugins.task(job.task)
        version = runtime.store.get_version(job.model, job.version)
        predictor = runtime.predictor(version)
        obj = runtime.plugins.input_type(task.input_type).parse(jobs.input_of(job.id))
        result = task.run(predictor, obj, job.params, progress)
        sha = runtime.artifacts.put_bytes(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY))
        return jobs.finish(job.id, "succeeded", result_sha256=sha, message="done")
    except Cancelled:
        return jobs.finish(job.id, "cancelled", message="cancelled while running")
    except HubError as exc:
        return jobs.finish(job.id, "failed", error=exc.to_dict(), message=exc.message)
    except Exception as exc:
        log.exception("job %s failed", job.id)
        return jobs.finish(
            job.id,
            "failed",
            message=str(exc)[:300],
            error={"code": "task_failed", "message": f"{type(exc).__name__}: {str(exc)[:300]}"},
        )


def worker_main(settings: Settings, name: str, poll_s: float = 0.2) -> None:
    """A worker process: claim and run jobs until told to stop (SIGTERM)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one engine per worker, no oversubscription
    from hub.runtime import Runtime

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime = Runtime(settings)
    while not stop.is_set():
        job = runtime.jobs.claim_next(name)
        if job is None:
            stop.wait(poll_s)
            continue
        run_job(runtime, job)


class JobSupervisor:
    """Keeps ``n`` worker processes running; recovers the jobs of dead ones."""

    def __init__(self, settings: Settings, n: int = 1, *, check_s: float = 1.0) -> None:
        from hub.catalog import CatalogStore

        self.settings = settings
        self.n = n
        self.check_s = check_s
        self.jobs = JobStore(CatalogStore(settings.database_url))
        self.procs: dict[str, mp.process.BaseProcess] = {}
        self._ctx = mp.get_context("spawn")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0

    def start(self, *, recover: bool = True) -> JobSupervisor:
        """Start the workers; with ``recover``, first mark failed the jobs a previous server
        left running (only the process that owns all workers may do that)."""
        if recover:
            failed = self.jobs.fail_running("the hub stopped while this job was running")
            if failed:
                log.warning("marked %d interrupted job(s) failed", failed)
        for _ in range(self.n):
            self._spawn()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="job-supervisor")
        self._thread.start()
        return self

    def _spawn(self) -> None:
        self._count += 1
        name = f"worker-{os.getpid()}-{self._count}"
        proc = self._ctx.Process(
            target=worker_main, args=(self.settings, name), name=name, daemon=True
        )
        proc.start()
        self.procs[name] = proc

    def _watch(self) -> None:
        while not self._stop.wait(self.check_s):
            for name, proc in list(self.procs.items()):
                if proc.is_alive() or self._stop.is_set():
                    continue
                reason = f"worker process died (exit code {proc.exitcode})"
                lost = self.jobs.fail_running(reason, worker=name)
                log.warning("%s: %s; %d job(s) failed", name, reason, lost)
                del self.procs[name]
                self._spawn()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            proc.join(timeout_s)
            if proc.is_alive():
                proc.kill()
        self.jobs.catalog.close()
