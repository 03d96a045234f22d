"""One background thread for the work a request should not wait for (reading a cache entry
again before it expires, reserving quota allowance in Redis).

The thread starts on the first task and ends after ``idle_s`` seconds without one, so an app
made and dropped (tests make hundreds) leaves no thread behind. Submitting a task wakes the
thread: callers submit once per cache entry or allowance chunk, never once per request.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("hub.auth")


class Worker:
    """Runs submitted callables one after the other in a daemon thread (``name``); a task's
    exception is logged at debug level and dropped (its caller has a fallback)."""

    def __init__(self, name: str, *, idle_s: float = 10.0) -> None:
        self.name = name
        self.idle_s = idle_s
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, task: Callable[[], None]) -> None:
        """Run ``task`` soon in the worker's thread (returns at once)."""
        self._tasks.put(task)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                task = self._tasks.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._tasks.empty():
                        self._thread = None
                        return
                continue
            try:
                task()
            except Exception:  # the caller has a fallback for a failed task
                log.debug("%s: background task failed", self.name, exc_info=True)

    def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until every task submitted so far has run (tests); False on timeout."""
        done = threading.Event()
        self.submit(done.set)
        return done.wait(timeout_s)
