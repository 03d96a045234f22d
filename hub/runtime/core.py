"""The runtime: resolve a reference, load its version once, keep it warm, run batches.

Every prediction runs under a :class:`Budget`: a deadline per model kind
(``Settings.deadline_s``) and a cancel flag set when the HTTP client goes away. Predictors
check it between items (:func:`each_item`); the items not done get a ``deadline_exceeded``
(or ``cancelled``) error in their slot. Before any work, a batch's estimated cost (the sum of
its input type's per-item :attr:`~hub.plugins.InputType.cost`) is bounded per kind
(``Settings.max_batch_cost``, 413 ``too_expensive``).

Concurrency: :meth:`Runtime.predict_async` runs the work in a thread, at most
``Settings.kind_threads[kind]`` at once per model kind; requests over that wait without
holding a thread, so expensive simulators cannot take AnyIO's shared thread pool (which the
other routes use) and a cheap Keras prediction never queues behind them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.config import Settings, load_settings
from hub.entities import Version
from hub.errors import InvalidRequest, ItemError, PayloadTooLarge, PluginError
from hub.params import check_params
from hub.plugins import LoadContext, ModelKind, PluginRegistry, Predictor, load_plugins
from hub.runtime.items import error_item

RESOLVE_TTL_S = 1.0
DISCONNECT_POLL_S = 0.2


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


@dataclass(frozen=True)
class Prediction:
    model: str
    version: int
    outputs: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "outputs": self.outputs}


def builtin_kinds() -> dict[str, ModelKind]:
    from hub.runtime.keras_kind import KERAS_KIND
    from hub.runtime.simulator_kind import SIMULATOR_KIND

    return {k.name: k for k in (KERAS_KIND, SIMULATOR_KIND)}


@functools.lru_cache(maxsize=256)
def _takes_budget(cls: type) -> bool:
    try:
        return "budget" in inspect.signature(cls.predict).parameters
    except (TypeError, ValueError):
        return False


class Runtime:
    """Everything needed to answer predictions, callable from Python without HTTP."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: CatalogStore | None = None,
        plugins: PluginRegistry | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.store = store or CatalogStore(self.settings.database_url)
        self.artifacts = ArtifactStore(self.settings.artifacts_dir)
        self.plugins = plugins or load_plugins()
        self.jobs = JobStore(self.store)
        self._loaded: dict[tuple[str, int], Predictor] = {}
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._guard = threading.Lock()
        self._resolved: dict[str, tuple[float, Version]] = {}
        self._limiters: dict[tuple[int, str], Any] = {}

    def resolve(self, ref: str) -> Version:
        """The version ``ref`` points at, remembered for ``RESOLVE_TTL_S`` seconds: a
        prediction should not cost catalog queries, and an alias move shows within that time."""
        now = time.monotonic()
        hit = self._resolved.get(ref)
        if hit is not None and hit[0] > now:
            return hit[1]
        version = self.store.resolve(ref)
        if len(self._resolved) > 10_000:
            self._resolved.clear()
        self._resolved[ref] = (now + RESOLVE_TTL_S, version)
        return version

    def predictor(self, version: Version) -> Predictor:
        """The warm predictor of ``version``, loading it the first time (once, even under
        concurrent requests)."""
        key = (version.model, version.version)
        hit = self._loaded.get(key)
        if hit is not None:
            return hit
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._loaded:
                self._loaded[key] = self._load(version)
            return self._loaded[key]

    def kind(self, version: Version) -> ModelKind:
        """The :class:`ModelKind` that serves ``version`` (a plugin's, else a built-in one)."""
        kind = self.plugins.model_kind(version.kind) or builtin_kinds().get(version.kind)
        if kind is None:
            raise PluginError(
                f"{version.ref} is of kind {version.kind!r}, which no installed plugin provides"
            )
        return kind

    def _load(self, version: Version) -> Predictor:
        kind = self.kind(version)
        ctx = LoadContext(
            plugins=self.plugins,
            read_artifact=self.artifacts.read,
            max_input_chars=self.settings.max_input_chars,
        )
        return kind.load(version, ctx)

    # -- limits ---------------------------------------------------------------------------
    def budget(self, kind: str) -> Budget:
        """A fresh :class:`Budget` with the deadline of model kind ``kind`` (seconds)."""
        return Budget(float(self.settings.for_kind("deadline_s", kind)))

    def _check_batch(self, inputs: Any) -> None:
        if not isinstance(inputs, list | tuple):
            raise InvalidRequest("'inputs' must be a list")
        if len(inputs) > self.settings.max_batch:
            raise PayloadTooLarge(
                f"batch of {len(inputs)} inputs is over the limit of {self.settings.max_batch}",
                limit=self.settings.max_batch,
            )

    def check_cost(self, version: Version, predictor: Predictor, inputs: Sequence[Any]) -> float:
        """The batch's estimated cost; 413 ``too_expensive`` over the kind's
        ``max_batch_cost`` (before any work)."""
        input_type = getattr(predictor, "input_type", None)
        cost = batch_cost(inputs, getattr(input_type, "cost", None))
        limit = float(self.settings.for_kind("max_batch_cost", version.kind))
        if cost > limit:
            raise PayloadTooLarge(
                f"the batch's estimated cost {cost:g} is over the limit of {limit:g} for "
                f"{version.kind} models (max_batch_cost: the sum over items of their size, "
                "atoms or characters); split it into smaller requests or submit a job",
                code="too_expensive",
                limit="max_batch_cost",
                value=cost,
                maximum=limit,
            )
        return cost

    def check_params(self, version: Version, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """A prediction's ``params`` checked against the declared parameters of the version's
        kind (:mod:`hub.params`): defaults filled in, or one 422 naming every bad one."""
        return check_params(self.kind(version).params, dict(params or {})).model_dump()

    def _prepare(self, ref: str, inputs: Sequence[Any]) -> tuple[Version, Predictor]:
        version = self.resolve(ref)
        predictor = self.predictor(version)
        self.check_cost(version, predictor, inputs)
        return version, predictor

    def _run(
        self,
        version: Version,
        predictor: Predictor,
        inputs: Sequence[Any],
        params: Mapping[str, Any] | None,
        budget: Budget,
    ) -> Prediction:
        checked = self.check_params(version, params)
        if _takes_budget(type(predictor)):
            outputs = predictor.predict(list(inputs), checked, budget=budget)  # type: ignore[call-arg]
        else:
            outputs = predictor.predict(list(inputs), checked)
        return Prediction(version.model, version.version, outputs)

    # -- predictions ----------------------------------------------------------------------
    def predict(
        self,
        ref: str,
        inputs: Sequence[Any],
        params: Mapping[str, Any] | None = None,
        *,
        budget: Budget | None = None,
    ) -> Prediction:
        """Predict ``inputs`` (a list of raw JSON inputs) with the model ``ref`` points at,
        within ``budget`` (default: the deadline of the model's kind)."""
        self._check_batch(inputs)
        version, predictor = self._prepare(ref, inputs)
        return self._run(version, predictor, inputs, params, budget or self.budget(version.kind))

    async def predict_async(
        self,
        ref: str,
        inputs: Sequence[Any],
        params: Mapping[str, Any] | None = None,
        *,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
    ) -> Prediction:
        """:meth:`predict` for an event loop: the work runs in a thread, at most
        ``kind_threads`` per model kind; ``disconnected()`` is polled while it runs (or
        waits its turn) and cancels the remaining items when it answers true."""
        import anyio.to_thread

        self._check_batch(inputs)
        # resolving, loading and estimating the cost may take a while: not on the event loop
        version, predictor = await anyio.to_thread.run_sync(self._prepare, ref, inputs)
        budget = self.budget(version.kind)
        done = anyio.Event()

        async def watch() -> None:
            try:
                while not done.is_set():
                    if await disconnected():  # type: ignore[misc]
                        budget.cancelled.set()
                        return
                    with anyio.move_on_after(DISCONNECT_POLL_S):
                        await done.wait()
            except Exception:  # noqa: BLE001 - a failing probe must not fail the prediction
                return

        result: Prediction | None = None
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            if disconnected is not None:
                tg.start_soon(watch)
            try:
                result = await anyio.to_thread.run_sync(
                    self._run,
                    version,
                    predictor,
                    inputs,
                    params,
                    budget,
                    limiter=self._limiter(version.kind),
                )
            except Exception as exc:  # noqa: BLE001 - re-raised below, not as an ExceptionGroup
                error = exc
            finally:
                done.set()
        if error is not None:
            raise error
        assert result is not None
        return result

    def _limiter(self, kind: str) -> Any:
        """The capacity limiter of model kind ``kind`` on the running event loop."""
        import anyio

        key = (id(asyncio.get_running_loop()), kind)
        limiter = self._limiters.get(key)
        if limiter is None:
            if len(self._limiters) > 64:  # limiters of event loops long gone (tests)
                self._limiters.clear()
            threads = max(1, int(self.settings.for_kind("kind_threads", kind)))
            limiter = self._limiters[key] = anyio.CapacityLimiter(threads)
        return limiter

    def warm_versions(self) -> list[str]:
        """References (``name:version``) of the versions loaded in this process."""
        return sorted(f"{m}:{v}" for m, v in self._loaded)

    def warm(self) -> list[str]:
        """Load the default version of every model now; return what was loaded."""
        loaded = []
        for model in self.store.list_models(include_private=True, limit=10_000)[0]:
            try:
                self.predictor(self.store.resolve(model.name))
                loaded.append(model.name)
            except Exception:  # noqa: BLE001 - one broken model must not stop the others
                continue
        return loaded
