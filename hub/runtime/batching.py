"""Micro-batching: concurrent small requests for the same model version run as one call.

A request that arrives while no call of its group (a version and its checked parameters) is
running runs at once: an idle hub adds no wait. Requests that arrive while one runs are
gathered, for at most ``window_s`` seconds (``HUB_MICROBATCH_MS``, 1 ms by default) or until
``max_items`` inputs, and then go through the predictor as one batch: one featurizer pass and
one compiled model call instead of one per request. Each caller gets back its own slice of the
outputs, in its own order (an input's error stays in its own slot), and an exception of the
whole call (a bad parameter) is raised to every caller of that call.

Used from the event loop only (no locks): :meth:`MicroBatcher.run` is a coroutine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

Call = Callable[[list[Any]], Awaitable[list[Any]]]


class _Group:
    """Inputs gathered for one call."""

    def __init__(self, call: Call, loop: asyncio.AbstractEventLoop) -> None:
        self.call = call
        self.inputs: list[Any] = []
        self.future: asyncio.Future[list[Any]] = loop.create_future()
        self.timer: asyncio.TimerHandle | None = None
        self.started = False


class MicroBatcher:
    """Gathers concurrent requests per key (see the module docstring)."""

    def __init__(self, window_s: float = 0.001, max_items: int = 64) -> None:
        self.window_s = max(0.0, float(window_s))
        self.max_items = max(1, int(max_items))
        self._open: dict[Hashable, _Group] = {}
        self._running: dict[Hashable, int] = {}
        self.calls = 0  # calls made (for tests and benchmarks)
        self.requests = 0

    async def run(self, key: Hashable, inputs: Sequence[Any], call: Call) -> list[Any]:
        """The outputs of ``inputs`` (in order), computed by ``call`` on a batch that may hold
        other callers' inputs of the same ``key``."""
        loop = asyncio.get_running_loop()
        self.requests += 1
        group = self._open.get(key)
        if group is not None and len(group.inputs) + len(inputs) > self.max_items:
            self._start(key, group)
            group = None
        if group is None:
            group = _Group(call, loop)
            self._open[key] = group
            if self._running.get(key, 0) and self.window_s > 0:
                group.timer = loop.call_later(self.window_s, self._start, key, group)
            else:
                loop.call_soon(self._start, key, group)  # idle: run now (after this tick)
        start = len(group.inputs)
        group.inputs.extend(inputs)
        if len(group.inputs) >= self.max_items:
            self._start(key, group)
        outputs = await asyncio.shield(group.future)
        return outputs[start : start + len(inputs)]

    def _start(self, key: Hashable, group: _Group) -> None:
        if group.started:
            return
        group.started = True
        if group.timer is not None:
            group.timer.cancel()
        if self._open.get(key) is group:
            del self._open[key]
        self._running[key] = self._running.get(key, 0) + 1
        self.calls += 1
        task = asyncio.ensure_future(group.call(list(group.inputs)))

        def done(t: asyncio.Task[list[Any]]) -> None:
            left = self._running.get(key, 1) - 1
            if left:
                self._running[key] = left
            else:
                self._running.pop(key, None)
            if t.cancelled():
                group.future.cancel()
            elif t.exception() is not None:
                group.future.set_exception(t.exception())  # type: ignore[arg-type]
            else:
                result = t.result()
                if len(result) != len(group.inputs):
                    group.future.set_exception(
                        RuntimeError(
                            f"a batched call answered {len(result)} outputs for "
                            f"{len(group.inputs)} inputs"
                        )
                    )
                else:
                    group.future.set_result(result)

        task.add_done_callback(done)
