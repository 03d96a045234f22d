"""What one prediction may cost: its :class:`Budget` (a deadline and a cancel flag), the
per-item loop that honours it (:func:`each_item`), and the domain-free cost estimate of a
batch (:func:`size_of`, :func:`batch_cost`). Re-exported by :mod:`hub.runtime.core`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.errors import ItemError
from hub.runtime.items import error_item


@dataclass
class Budget:
    """How long a prediction may run: until ``deadline`` (``time.monotonic()`` seconds) or
    until ``cancelled`` is set (its client disconnected). Thread-safe."""

    deadline_s: float
    deadline: float = 0.0
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.deadline_s

    def expired(self) -> bool:
        return self.cancelled.is_set() or time.monotonic() >= self.deadline

    def error(self) -> ItemError:
        """The error of an item not done when the budget ran out."""
        if self.cancelled.is_set():
            return ItemError("the request was cancelled (its client went away)", code="cancelled")
        return ItemError(
            f"not run: the request's deadline of {self.deadline_s:g} s passed first "
            "(send fewer or smaller inputs per request, or submit a job)",
            code="deadline_exceeded",
            limit="deadline_s",
            maximum=self.deadline_s,
        )

    def check(self) -> None:
        """Raise the budget's :class:`ItemError` once it has run out."""
        if self.expired():
            raise self.error()


def each_item(
    inputs: Sequence[Any], run: Callable[[int, Any], dict[str, Any]], budget: Budget | None
) -> list[dict[str, Any]]:
    """``run(i, raw)`` for each input in order, each failure in its own slot; once ``budget``
    has run out, the remaining items get its error without running."""
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(inputs):
        if budget is not None and budget.expired():
            late = {"error": budget.error().to_dict()}
            out.extend(dict(late) for _ in range(len(inputs) - i))
            break
        try:
            out.append(run(i, raw))
        except Exception as exc:  # noqa: BLE001 - each item reports its own failure
            out.append(error_item(exc))
    return out


def size_of(raw: Any, *, max_nodes: int = 100_000) -> float:
    """A domain-free cost estimate of one raw JSON input: the length of its largest string or
    array (a SMILES' characters, a structure's atoms), at least 1. Visits at most
    ``max_nodes`` values, so it is cheap whatever the input."""
    biggest = 1
    stack = [raw]
    seen = 0
    while stack and seen < max_nodes:
        x = stack.pop()
        seen += 1
        if isinstance(x, str):
            biggest = max(biggest, len(x))
        elif isinstance(x, list | tuple):
            biggest = max(biggest, len(x))
            stack.extend(x[: max_nodes - seen])
        elif isinstance(x, dict):
            stack.extend(list(x.values())[: max_nodes - seen])
    return float(biggest)


def batch_cost(inputs: Sequence[Any], cost: Callable[[Any], float] | None) -> float:
    """The estimated cost of a batch: the sum of ``cost(raw)`` (else :func:`size_of`); an
    input the estimate cannot read counts as 1 (its parser will report it)."""
    estimate = cost or size_of
    total = 0.0
    for raw in inputs:
        try:
            total += max(float(estimate(raw)), 0.0)
        except Exception:  # noqa: BLE001 - a malformed input is the parser's to report
            total += 1.0
    return total
