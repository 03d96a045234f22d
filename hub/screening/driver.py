"""Driving a screen through its phases on Dask, under a lease in the catalog.

:class:`ScreenDriver` runs in the process that submitted the screen (``hub screen``, or the
API's :class:`ScreenSupervisor`); it holds no data, only futures. It claims the screen's row
(the catalog is the system of record), submits each phase's tasks (:mod:`hub.screening.tasks`)
with deterministic keys, and polls every ``poll_s``: progress goes to the row (which renews its
lease), a cancel request cancels the remaining tasks at once (running ones stop at their next
check, within a second or two). A lost Dask worker's tasks are re-run by the scheduler (at most
``distributed.scheduler.allowed-failures`` times, then the screen fails with ``worker_lost``).

A killed driver leaves its screen ``running`` with a lease that stops being renewed; the next
hub (or ``hub screen`` run again) claims it and carries on: chunks already recorded are not
computed again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from hub.catalog.screens import Screen, ScreenStore, driver_name
from hub.config import Settings
from hub.errors import HubError
from hub.screening import tasks

log = logging.getLogger(__name__)

# share of the whole screen each phase stands for, for one progress fraction
WEIGHTS = {"prepare": 0.05, "keys": 0.3, "dedupe": 0.05, "score": 0.55, "assemble": 0.05}
ORDER = list(WEIGHTS)


def fraction(phase: str, step: int, total: int) -> float:
    """The whole screen's progress (0 to 1) from its phase and the phase's progress."""
    if phase in ("succeeded",):
        return 1.0
    if phase not in WEIGHTS:
        return 0.0
    i = ORDER.index(phase)
    before = sum(WEIGHTS[p] for p in ORDER[:i])
    return before + WEIGHTS[phase] * (step / total if total else 0.0)


class _Stop(Exception):
    def __init__(self, state: str, error: dict[str, Any] | None, message: str) -> None:
        super().__init__(message)
        self.state, self.error, self.message = state, error, message


def _typed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task, its hub errors turned into a plain exception holding their dict (an
    exception's keyword fields do not survive pickling on the way back from the worker)."""

    def run(*args: Any) -> Any:
        try:
            return fn(*args)
        except HubError as exc:
            raise TaskError(exc.to_dict()) from None

    run.__name__ = fn.__name__
    return run


class TaskError(Exception):
    """A task's hub error, as its dict (``code``, ``message``, ``detail``)."""


def _submit_fn(name: str) -> Callable[..., Any]:
    return _typed(getattr(tasks, name))


class ScreenDriver:
    """Drive one screen to its end (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        screen_id: str,
        *,
        client: Any = None,
        store: ScreenStore | None = None,
        name: str | None = None,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        on_progress: Callable[[Screen, float], None] | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        from hub.catalog import CatalogStore

        self.settings, self.id = settings, screen_id
        self._client = client
        self.store = store or ScreenStore(CatalogStore(settings.database_url))
        self.name = name or driver_name()
        self.lease_s, self.poll_s = lease_s, poll_s
        self.on_progress = on_progress
        self.stopping = stopping or threading.Event()

    @property
    def client(self) -> Any:
        if self._client is None:
            from hub.engine import client

            self._client = client(self.settings)
        return self._client

    def claim(self) -> bool:
        return self.store.claim(self.id, self.name, lease_s=self.lease_s)

    def run(self, *, claimed: bool = False) -> Screen:
        """Claim (unless ``claimed``) and drive the screen; returns it as the catalog has it
        afterwards (still ``running`` if another driver took it over or we were stopped)."""
        if not claimed and not self.claim():
            return self.store.get(self.id)
        try:
            rows, n_in = self._one("prepare", "prepare", (), 1)
            self._report("prepare", 1, 1, rows=rows)
            self._many("keys", "keys", n_in)
            unique, n_uniq = self._one("dedupe", "dedupe", (n_in,), 1)
            self._report("dedupe", 1, 1, unique=unique)
            self._many("score", "score", n_uniq)
            sha = self._one("assemble", "assemble", (n_in, n_uniq), 1)
            return self.store.finish(
                self.id, "succeeded", driver=self.name, result_sha256=sha, message="done"
            )
        except _Stop as stop:
            if stop.state == "detached":
                return self.store.get(self.id)
            return self.store.finish(
                self.id, stop.state, driver=self.name, error=stop.error, message=stop.message
            )

    # -- phases ---------------------------------------------------------------------------
    def _key(self, phase: str, k: int) -> str:
        return f"hub-screen-{phase}-{self.id}-{k}"

    def _one(self, phase: str, fn: str, args: tuple, total: int) -> Any:
        fut = self.client.submit(
            _submit_fn(fn), self.settings, self.id, *args, key=self._key(phase, 0)
        )
        self._wait(phase, [fut])
        return fut.result()

    def _many(self, phase: str, fn: str, n: int) -> None:
        futs = [
            self.client.submit(_submit_fn(fn), self.settings, self.id, k, key=self._key(phase, k))
            for k in range(n)
        ]
        self._wait(phase, futs)

    def _wait(self, phase: str, futs: list[Any]) -> None:
        """Poll ``futs`` to their end, reporting progress and watching for cancellation, the
        lease and failures."""
        total = len(futs)
        try:
            while True:
                done = [f for f in futs if f.done()]
                for f in done:
                    if f.status != "finished":
                        self._failed(f)
                self._report(phase, len(done), total)
                if len(done) == total:
                    return
                if self.stopping.wait(self.poll_s):
                    raise _Stop("detached", None, "the driver is stopping")
        except _Stop as stop:
            if stop.state in ("cancelled", "failed"):
                self.client.cancel(futs, force=True)
            else:
                for f in futs:
                    f.release()
            raise

    def _failed(self, fut: Any) -> None:
        from distributed.scheduler import KilledWorker

        if fut.status == "cancelled":
            if self.store.cancel_requested(self.id):
                raise _Stop("cancelled", None, "cancelled while running")
            raise _Stop("detached", None, "its tasks were cancelled on the cluster")
        exc = fut.exception()
        name = type(exc).__name__
        if isinstance(exc, KilledWorker):
            msg = f"the workers running a chunk died too often ({exc})"[:500]
            raise _Stop("failed", {"code": "worker_lost", "message": msg}, msg)
        if name == "ScreenCancelled":
            raise _Stop("cancelled", None, "cancelled while running")
        if isinstance(exc, TaskError) and isinstance(exc.args[0], dict):
            err = exc.args[0]
            raise _Stop("failed", err, str(err.get("message", ""))[:500])
        msg = f"{name}: {str(exc)[:300]}"
        log.error("screen %s: a task failed: %s", self.id, msg)
        raise _Stop("failed", {"code": "task_failed", "message": msg}, msg)

    def _report(self, phase: str, step: int, total: int, **fields: int) -> None:
        ours, cancel = self.store.progress(
            self.id, self.name, phase=phase, step=step, total=total, **fields
        )
        if not ours:
            raise _Stop("detached", None, "another driver holds the screen now")
        if cancel:
            raise _Stop("cancelled", None, "cancelled while running")
        if self.on_progress is not None:
            self.on_progress(self.store.get(self.id), fraction(phase, step, total))


class ScreenSupervisor:
    """Drives the screens of a serving process: those submitted here, and every screen whose
    driver is gone (a hub killed mid-screen), checked every ``check_s``."""

    def __init__(
        self, settings: Settings, *, lease_s: float | None = None, check_s: float = 2.0
    ) -> None:
        from hub.catalog import CatalogStore

        if lease_s is None:
            from hub.jobs.runner import JobLimits

            lease_s = JobLimits.from_env().lease_s
        self.settings, self.lease_s, self.check_s = settings, lease_s, check_s
        self.store = ScreenStore(CatalogStore(settings.database_url))
        self.name = driver_name()
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._loop: threading.Thread | None = None

    def start(self) -> ScreenSupervisor:
        self._loop = threading.Thread(target=self._watch, name="screen-supervisor", daemon=True)
        self._loop.start()
        return self

    def drive(self, screen_id: str) -> bool:
        """Drive ``screen_id`` in a thread of this process if it can be claimed."""
        with self._guard:
            t = self._threads.get(screen_id)
            if t is not None and t.is_alive():
                return True
            if not self.store.claim(screen_id, self.name, lease_s=self.lease_s):
                return False
            driver = ScreenDriver(
                self.settings,
                screen_id,
                store=self.store,
                name=self.name,
                lease_s=self.lease_s,
                stopping=self._stop,
            )
            t = threading.Thread(
                target=self._run, args=(driver,), name=f"screen-{screen_id[:8]}", daemon=True
            )
            self._threads[screen_id] = t
            t.start()
            return True

    def _run(self, driver: ScreenDriver) -> None:
        try:
            driver.run(claimed=True)
        except Exception:
            log.exception("screen %s: its driver failed", driver.id)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                for screen_id in self.store.orphans(lease_s=self.lease_s):
                    self.drive(screen_id)
            except HubError as exc:  # the database is away for a moment
                log.warning("screen supervisor: %s", exc)
            self._stop.wait(self.check_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop driving: screens stay ``running`` in the catalog and the next hub (or this
        one restarted) carries on with them."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for t in list(self._threads.values()) + ([self._loop] if self._loop else []):
            t.join(max(deadline - time.monotonic(), 0.1))


_supervisors: dict[str, ScreenSupervisor] = {}
_sup_lock = threading.Lock()


def supervisor_for(settings: Settings) -> ScreenSupervisor:
    """The screen supervisor of this process for ``settings``'s catalog, started on first
    use (``hub serve`` starts it at once, so a restarted hub resumes orphaned screens)."""
    with _sup_lock:
        sup = _supervisors.get(settings.database_url)
        if sup is None:
            sup = _supervisors[settings.database_url] = ScreenSupervisor(settings).start()
        return sup


def stop_supervisors() -> None:
    """Stop every screen supervisor of this process (their screens stay resumable)."""
    with _sup_lock:
        for sup in _supervisors.values():
            sup.stop()
        _supervisors.clear()
