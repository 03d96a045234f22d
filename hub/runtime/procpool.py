"""Warm worker processes for expensive model kinds (``Settings.kind_processes``): simulators
(xTB, EMT, universal potentials) hold the GIL and the CPU, and an engine may abort its whole
process on a bad input; run in these processes, neither reaches the API's event loop, its
thread pool or ``/health/live``.

- One pool per (kind, size, plugin source) in a process, shared by its runtimes; ``spawn``
  children (no fork of TensorFlow or tblite state) started from one long-lived thread, each
  dying with its parent (:func:`hub.lifeline.die_with_parent`). A child loads the plugins
  once and keeps each version's predictor warm; the versions served so far are loaded by a
  replacement while it has no work (a request never waits for versions nobody asked for).
- Only plain data crosses: the version's catalog record, the raw JSON inputs, the checked
  parameters, and JSON-able outputs back (multiprocessing pickles these plain values on its
  own pipe; nothing from a user or the disk is unpickled).
- A child runs a batch in chunks (one item first, larger while items are fast) and reports
  each chunk as it ends. Between items it checks a cancel flag the parent sets when the client
  disconnects, and the request's deadline; a child still busy ``kill_margin_s`` after either
  is killed and replaced, its current items answered ``deadline_exceeded`` (or ``cancelled``).
- A child that dies on its own (an engine abort) gives the item it was running a
  ``worker_crashed`` error; the other items go on in another child, and a new one is spawned.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import multiprocessing as mp
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hub.entities import Version
from hub.runtime.budget import Budget
from hub.runtime.procchild import child_main, version_plain

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often a waiting request checks its deadline and its client
KILL_MARGIN_S = 2.0  # a child still busy this long after the deadline or a cancel is killed


def crash_error(exitcode: int | None) -> dict[str, Any]:
    """The error of the item a child died on."""
    return {
        "error": {
            "code": "worker_crashed",
            "message": "the engine's worker process died while running this input (exit "
            f"code {exitcode}); it was replaced, and the other inputs ran on",
        }
    }


class _Task:
    def __init__(self, loop: asyncio.AbstractEventLoop, n: int) -> None:
        self.loop = loop
        self.event = asyncio.Event()
        self.n = n
        self.outputs: dict[int, dict[str, Any]] = {}
        self.chunk: tuple[int, int] | None = None  # the chunk running: (start, size)
        self.failed: tuple[int, dict[str, Any]] | None = None
        self.dead = False  # the child died (crashed, or killed by us)

    def finish(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # its event loop is gone
            pass


class _Worker:
    def __init__(self, pool: ProcessPool, proc: Any, conn: Any, cancel: Any) -> None:
        self.pool, self.proc, self.conn, self.cancel = pool, proc, conn, cancel
        self.task: _Task | None = None
        self.task_id = 0
        self.killed: str | None = None
        self.ready = False  # taking work
        self.warmed = False  # and every version named by ProcessPool.warm is loaded
        self.gone = False  # its pipe closed: the child is dead
        self.pid = proc.pid
        threading.Thread(target=self._read, daemon=True, name="procpool-reader").start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                break
            task = self.task
            if msg[0] == "ready":
                self.ready = True
                self.pool._release(self)
            elif msg[0] == "warmed":
                self.warmed = True
            elif task is None or msg[1] != self.task_id:
                continue  # a late message of a task given up
            elif msg[0] == "chunk":
                task.chunk = (msg[2], msg[3])
            elif msg[0] == "items":
                task.outputs.update(enumerate(msg[3], msg[2]))
                task.chunk = None
            elif msg[0] == "failed":
                task.failed = (msg[2], msg[3])
                task.finish()
            elif msg[0] == "done":
                task.finish()
        self.gone = True
        self.proc.join(5)
        task, self.task = self.task, None
        if task is not None:
            task.dead = True
            task.finish()
        self.pool._died(self)

    def kill(self, reason: str) -> None:
        self.killed = reason
        if self.proc.is_alive():
            self.proc.kill()


class ProcessPool:
    """``n`` warm child processes running one model kind's predictions (:meth:`run`)."""

    def __init__(self, n: int, plugins_ref: str | None = None, memory_mb: int = 0) -> None:
        self.n = max(1, int(n))
        self.plugins_ref = plugins_ref
        self.memory_mb = memory_mb  # a child's address-space growth per request (0: none)
        self.kill_margin_s = KILL_MARGIN_S
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()
        self._workers: set[_Worker] = set()
        self._warm: dict[tuple, tuple] = {}  # versions served, loaded by every new child
        self._spawns: deque[float] = deque()  # start times of recent spawns (crash loops)
        self._wanted = threading.Semaphore(0)
        self._closed = False
        self._ids = itertools.count(1)
        self._started = False

    def start(self) -> ProcessPool:
        """Start the children (once; those :meth:`warm` named so far are loaded by each)."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        for _ in range(self.n):
            self._wanted.release()
        # children are started from this long-lived thread: PR_SET_PDEATHSIG follows the thread
        threading.Thread(target=self._spawner, daemon=True, name="procpool-spawner").start()
        return self

    def warm(self, plain: dict[str, Any], artifacts: str, max_chars: int) -> None:
        """Have every child started from now on load this version while it has no work."""
        key = (artifacts, plain["model"], plain["version"], plain["created_at"])
        with self._lock:
            if key not in self._warm and len(self._warm) < 64:
                self._warm[key] = (plain, artifacts, max_chars)

    def wait_ready(self, timeout_s: float) -> bool:
        """Start the pool and wait until all its children loaded the versions :meth:`warm`
        named (benchmarks measure warm children; requests need not wait for this)."""
        self.start()
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                if sum(w.warmed for w in self._workers if w.proc.is_alive()) >= self.n:
                    return True
            time.sleep(0.05)
        return False

    def pids(self) -> list[int]:
        """Process ids of the children alive now."""
        with self._lock:
            return [w.proc.pid for w in self._workers if w.proc.is_alive()]

    def _spawner(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed:
                return
            now = time.monotonic()
            while self._spawns and now - self._spawns[0] > 60:
                self._spawns.popleft()
            if len(self._spawns) >= 4 * self.n:  # a crash loop: at most 4n starts a minute
                time.sleep(5.0)
            self._spawns.append(time.monotonic())
            try:
                self._spawn()
            except Exception:  # try again later
                log.exception("process pool: cannot start a child")
                time.sleep(5.0)
                self._wanted.release()

    def _spawn(self) -> None:
        parent, child = self._ctx.Pipe()
        cancel = self._ctx.Event()
        with self._lock:
            warm = list(self._warm.values())
        proc = self._ctx.Process(
            target=child_main,
            args=(child, cancel, self.plugins_ref, os.getpid(), warm, self.memory_mb),
            name="hub-procpool",
            daemon=True,
        )
        proc.start()
        child.close()
        with self._lock:
            self._workers.add(_Worker(self, proc, parent, cancel))

    def _died(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
        if worker.killed is None and not self._closed:
            log.warning(
                "process pool: child %s died (exit code %s)", worker.proc.pid, worker.proc.exitcode
            )
        worker.conn.close()
        if not self._closed:
            self._wanted.release()

    def _release(self, worker: _Worker) -> None:
        """``worker`` is free: to the first waiting request, else idle."""
        if worker.gone:
            return
        with self._lock:
            while self._waiters:
                loop, fut = self._waiters.popleft()
                if fut.done():
                    continue
                try:
                    loop.call_soon_threadsafe(self._give, fut, worker)
                    return
                except RuntimeError:  # that request's event loop is gone
                    continue
            self._idle.append(worker)

    def _give(self, fut: asyncio.Future, worker: _Worker) -> None:
        if fut.done():
            self._release(worker)
        else:
            fut.set_result(worker)

    async def _acquire(self, budget: Budget, disconnected: Callable | None) -> _Worker | None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._idle:
                return self._idle.pop()
            fut = loop.create_future()
            self._waiters.append((loop, fut))
        while True:
            await asyncio.wait({fut}, timeout=POLL_S)
            if fut.done():
                return fut.result()
            if disconnected is not None and await _safely(disconnected):
                budget.cancelled.set()
            if budget.expired():
                fut.cancel()  # a worker handed over meanwhile goes back to the pool (_give)
                return None

    async def run(
        self,
        version: Version,
        inputs: Sequence[Any],
        params: dict[str, Any],
        budget: Budget,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        *,
        artifacts: str,
        max_chars: int,
    ) -> list[dict[str, Any]]:
        """The outputs of ``inputs`` through the pool, in order; items not done when
        ``budget`` runs out get its error. Raises the version's load error."""
        plain = version_plain(version)
        self.warm(plain, artifacts, max_chars)
        self.start()
        # what every task of this request sends: ("run", id, *head, inputs, *tail)
        head = (plain, artifacts, max_chars)
        out: list[dict[str, Any] | None] = [None] * len(inputs)
        pending = list(range(len(inputs)))
        cap = 0  # chunk size cap: 0 grows; 1 after a crash inside a larger chunk
        lost = 0  # children lost before running anything
        while pending and not budget.expired():
            worker = await self._acquire(budget, disconnected)
            if worker is None:
                break
            batch = [inputs[i] for i in pending]
            task = await self._drive(worker, head, batch, params, budget, disconnected, cap)
            for j, o in task.outputs.items():
                out[pending[j]] = o
            if task.failed is not None:
                from hub.errors import error_from_payload

                raise error_from_payload(*task.failed)
            if not task.dead or worker.killed is not None:
                break  # done, or stopped by its budget (the rest get the budget's error)
            crashed = task.chunk
            if crashed is not None and crashed[1] == 1:
                out[pending[crashed[0]]] = crash_error(worker.proc.exitcode)
            elif crashed is not None:
                cap = 1  # find the input at fault: one at a time
            elif not task.outputs:
                lost += 1
                if lost >= 3:
                    for i in pending:
                        out[i] = crash_error(worker.proc.exitcode)
            pending = [i for i in pending if out[i] is None]
        late = budget.error().to_dict()
        return [o if o is not None else {"error": dict(late)} for o in out]

    async def _drive(
        self, worker: _Worker, head: tuple, inputs: list, params: dict, budget: Budget,
        disconnected: Callable | None, cap: int,
    ) -> _Task:  # fmt: skip
        """Run one task on ``worker``; kill it when it overruns its budget."""
        task = _Task(asyncio.get_running_loop(), len(inputs))
        task_id = next(self._ids)
        worker.task_id, worker.task = task_id, task
        worker.cancel.clear()
        remaining = max(budget.deadline - time.monotonic(), 0.0)
        msg = ("run", task_id, *head, inputs, params, remaining, budget.deadline_s, cap)
        try:
            worker.conn.send(msg)
        except (OSError, ValueError):  # the child is gone: its reader thread reports it
            pass
        stop_at: float | None = None
        while not task.event.is_set():
            try:
                await asyncio.wait_for(task.event.wait(), POLL_S)
                break
            except TimeoutError:
                pass
            if worker.gone and not task.event.is_set():  # died before its reader saw the task
                task.dead = True
                break
            if disconnected is not None and await _safely(disconnected):
                budget.cancelled.set()
            if budget.expired():
                worker.cancel.set()
                stop_at = stop_at or time.monotonic() + self.kill_margin_s
                if time.monotonic() >= stop_at and worker.killed is None:
                    why = "cancel" if budget.cancelled.is_set() else "deadline"
                    log.warning("process pool: killing child %s after its %s", worker.pid, why)
                    worker.kill("overran")
        worker.task = None
        if not task.dead:
            self._release(worker)
        return task

    def close(self) -> None:
        """Stop every child (killed; they hold no state worth keeping)."""
        self._closed = True
        self._wanted.release()
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            w.kill("closed")


async def _safely(probe: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return bool(await probe())
    except Exception:  # noqa: BLE001 - a failing probe must not fail the prediction
        return False


_pools: dict[tuple, ProcessPool] = {}
_pools_lock = threading.Lock()


def pool_for(kind: str, n: int, plugins_ref: str | None = None, memory_mb: int = 0) -> ProcessPool:
    """The process's pool of ``n`` children for model kind ``kind`` (made on first use)."""
    key = (kind, n, plugins_ref, memory_mb)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ProcessPool(n, plugins_ref, memory_mb)
        return pool


def close_pools(pools: Sequence[ProcessPool] | None = None) -> None:
    """Close ``pools`` (default: every pool of this process); the next use makes new ones."""
    with _pools_lock:
        for key, pool in list(_pools.items()):
            if pools is None or pool in pools:
                del _pools[key]
                pool.close()


atexit.register(close_pools)  # no warnings and no new children while the interpreter exits
