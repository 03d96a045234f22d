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
other routes use) and a cheap Keras prediction never queues behind them. A kind with
``Settings.kind_processes[kind]`` > 0 (simulators, by default) runs instead in that many warm
worker processes (:mod:`hub.runtime.procpool`): its engines neither hold this process's GIL
nor take it down when they abort. (:meth:`Runtime.predict`, for Python callers and job
workers, always runs in the calling thread.)

Speed (docs/performance.md): outputs are cached per version, input and parameters
(:mod:`hub.runtime.cache`; a hit is marked ``"cached": true`` on its item, and an input
repeated in one batch is computed once); a small request whose version is warm and whose
answers are all in the in-process cache is answered on the event loop, without a thread; and
concurrent small requests for the same version are run as one call
(:mod:`hub.runtime.batching`). Work the version's measured pace says takes at most
``Settings.inline_s`` (a small structure through a fast engine, 5 ms) runs on the event loop:
a thread hop would cost as much as the work, and work that holds the GIL blocks the loop
about as long from a thread.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.config import Settings, load_settings
from hub.entities import Version
from hub.errors import InvalidRequest, PayloadTooLarge, PluginError
from hub.params import check_params
from hub.plugins import LoadContext, ModelKind, PluginRegistry, Predictor, load_plugins
from hub.runtime.batching import MicroBatcher
from hub.runtime.budget import Budget, batch_cost, each_item, size_of  # noqa: F401 - re-exported
from hub.runtime.cache import (
    CachedRun,
    MemoryCache,
    PredictionCache,
    make_cache,
    params_token,
    version_token,
)

RESOLVE_TTL_S = 1.0
DISCONNECT_POLL_S = 0.2
INLINE_MAX = 256  # most inputs of a request prepared on the event loop (cost estimate)
MICROBATCH_WORK_S = 0.05  # most expected work of a request that may be micro-batched


@dataclass(frozen=True)
class Prediction:
    model: str
    version: int
    outputs: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "outputs": self.outputs}


def builtin_kinds() -> dict[str, ModelKind]:
    from hub.runtime.keras_kind import KERAS_KIND
    from hub.runtime.lightgbm_kind import LIGHTGBM_KIND
    from hub.runtime.simulator_kind import SIMULATOR_KIND

    return {k.name: k for k in (KERAS_KIND, LIGHTGBM_KIND, SIMULATOR_KIND)}


@functools.lru_cache(maxsize=256)
def _takes_budget(cls: type) -> bool:
    try:
        return "budget" in inspect.signature(cls.predict).parameters
    except (TypeError, ValueError):
        return False


def _call(
    predictor: Predictor, inputs: Sequence[Any], checked: Mapping[str, Any], budget: Budget
) -> list[dict[str, Any]]:
    """``predictor.predict`` on ``inputs`` (with ``budget`` if it takes one)."""
    if _takes_budget(type(predictor)):
        return predictor.predict(list(inputs), checked, budget=budget)  # type: ignore[call-arg]
    return predictor.predict(list(inputs), checked)


class Runtime:
    """Everything needed to answer predictions, callable from Python without HTTP."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: CatalogStore | None = None,
        plugins: PluginRegistry | None = None,
        plugins_ref: str | None = None,
    ) -> None:
        """``plugins_ref`` (``module:attr``): where worker processes find ``plugins`` when it
        is not the installed plugins; without it, a runtime given its own ``plugins`` runs
        every kind in its threads."""
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
        s = self.settings
        self.cache: PredictionCache | None = make_cache(
            s.prediction_cache,
            redis_url=s.redis_url,
            prefix=s.redis_prefix,
            max_entries=s.cache_entries,
            ttl_s=s.cache_ttl_s,
        )
        self._tokens: dict[tuple[str, int, Any], bytes] = {}
        self._batchers: dict[int, MicroBatcher] = {}
        self._pace: dict[tuple[str, int], float] = {}  # seconds per cost unit, per version
        self._plugins_ref = plugins_ref
        self._poolable = plugins is None or plugins_ref is not None
        self._pools: set[Any] = set()  # the worker pools this runtime used

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
        declared = self.kind(version).params_for(version, self.plugins)
        return check_params(declared, dict(params or {})).model_dump()

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
        run = self._cached_run(version, checked)
        if run is None:
            outputs = _call(predictor, inputs, checked, budget)
        else:
            slots, todo, where = run.lookup(inputs)
            done = _call(predictor, [inputs[i] for i in todo], checked, budget) if todo else []
            outputs = run.fill(slots, todo, where, done)
        return Prediction(version.model, version.version, outputs)

    # -- cache ----------------------------------------------------------------------------
    def _cached_run(self, version: Version, checked: Mapping[str, Any]) -> CachedRun | None:
        """The cache's view of one batch of ``version`` with ``checked`` parameters (None:
        no cache, or not for this kind: ``HUB_CACHE_KINDS``)."""
        if self.cache is None or not self.settings.for_kind("cache_kinds", version.kind):
            return None
        return CachedRun(self.cache, self.token(version), params_token(checked))

    def token(self, version: Version) -> bytes:
        """:func:`~hub.runtime.cache.version_token` of ``version``, remembered."""
        key = (version.model, version.version, version.created_at)
        token = self._tokens.get(key)
        if token is None:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            token = self._tokens[key] = version_token(version)
        return token

    def cache_health(self) -> str:
        """``ok``, ``off``, or why the configured prediction cache cannot be used."""
        return "off" if self.cache is None else f"{self.cache.name}: {self.cache.health()}"

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
        waits its turn) and cancels the remaining items when it answers true. A small
        request of a warm version is prepared on the event loop, answered there from the
        in-process cache, and its misses micro-batched with concurrent requests."""
        import anyio.to_thread

        self._check_batch(inputs)
        ready = self._warm(ref, inputs)
        if ready is None:
            # resolving, loading and estimating the cost may take a while: not on the loop
            ready = await anyio.to_thread.run_sync(self._prepare, ref, inputs)
        version, predictor = ready
        checked = self.check_params(version, params)
        run = self._cached_run(version, checked)
        if run is not None and isinstance(self.cache, MemoryCache) and len(inputs) <= INLINE_MAX:
            slots, todo, where = run.lookup(inputs)
            if todo:
                missing = [inputs[i] for i in todo]
                done = await self._compute(version, predictor, missing, checked, disconnected)
                slots = run.fill(slots, todo, where, done)
            return Prediction(version.model, version.version, slots)
        outputs = await self._compute(
            version, predictor, inputs, checked, disconnected, cache=run is not None
        )
        return Prediction(version.model, version.version, outputs)

    def _warm(self, ref: str, inputs: Sequence[Any]) -> tuple[Version, Predictor] | None:
        """The version and loaded predictor of ``ref`` when both are at hand (no query, no
        load) and the batch is small, its cost checked; else None."""
        hit = self._resolved.get(ref)
        if hit is None or hit[0] <= time.monotonic() or len(inputs) > INLINE_MAX:
            return None
        version = hit[1]
        predictor = self._loaded.get((version.model, version.version))
        if predictor is None:
            return None
        self.check_cost(version, predictor, inputs)
        return version, predictor

    def _outputs(
        self,
        version: Version,
        predictor: Predictor,
        inputs: Sequence[Any],
        checked: Mapping[str, Any],
        budget: Budget,
        cache: bool,
    ) -> list[dict[str, Any]]:
        """The outputs of ``inputs`` (checked parameters), through the cache if ``cache``."""
        run = self._cached_run(version, checked) if cache else None
        if run is None:
            return _call(predictor, inputs, checked, budget)
        slots, todo, where = run.lookup(inputs)
        done = _call(predictor, [inputs[i] for i in todo], checked, budget) if todo else []
        return run.fill(slots, todo, where, done)

    async def _compute(
        self,
        version: Version,
        predictor: Predictor,
        inputs: Sequence[Any],
        checked: Mapping[str, Any],
        disconnected: Callable[[], Awaitable[bool]] | None,
        *,
        cache: bool = False,
    ) -> list[dict[str, Any]]:
        """Run ``inputs`` in a worker thread: a small batch through the micro-batcher (with
        concurrent requests of the same version and parameters), a large one on its own,
        watching ``disconnected``."""

        pool = self.pool(version.kind)
        if pool is not None:
            return await self._in_pool(pool, version, inputs, checked, disconnected, cache)
        pace_key = (version.model, version.version)
        cost = batch_cost(inputs, getattr(getattr(predictor, "input_type", None), "cost", None))

        def work(batch: Sequence[Any], budget: Budget) -> list[dict[str, Any]]:
            t0 = time.perf_counter()
            out = self._outputs(version, predictor, batch, checked, budget, cache)
            if batch is inputs:  # learn the version's pace (s per cost unit) from its runs
                self._learn_pace(pace_key, cost, time.perf_counter() - t0)
            return out

        s = self.settings
        pace = self._pace.get(pace_key)
        if pace is not None and pace * cost <= s.inline_s and not cache:
            # tiny work (a small structure through a fast engine): a thread hop would cost
            # more than the work itself, and a remote ASE calculator waits on every call
            return work(inputs, self.budget(version.kind))
        # gathered with others only when its work is known to be short: a gathered batch runs
        # without watching its callers' connections, so a long one must run on its own
        short = pace is not None and pace * cost <= MICROBATCH_WORK_S
        if s.microbatch_ms > 0 and len(inputs) <= s.microbatch_max and short:
            key = (self.token(version), params_token(checked), cache)
            return await self._batcher().run(
                key, inputs, lambda batch: self._in_thread(version, work, batch, None)
            )
        return await self._in_thread(version, work, inputs, disconnected)

    def pool(self, kind: str) -> Any:
        """The :class:`~hub.runtime.procpool.ProcessPool` running model kind ``kind`` (None:
        it runs in this process's threads, ``kind_processes`` 0)."""
        n = int(self.settings.for_kind("kind_processes", kind))
        if n <= 0 or not self._poolable:
            return None
        from hub.runtime.procpool import pool_for

        memory_mb = int(self.settings.for_kind("kind_memory_mb", kind))
        pool = pool_for(kind, n, self._plugins_ref, memory_mb)
        self._pools.add(pool)
        return pool

    async def _in_pool(
        self,
        pool: Any,
        version: Version,
        inputs: Sequence[Any],
        checked: Mapping[str, Any],
        disconnected: Callable[[], Awaitable[bool]] | None,
        cache: bool,
    ) -> list[dict[str, Any]]:
        """``inputs`` through the kind's worker processes (and the cache if ``cache``)."""
        import anyio.to_thread

        budget = self.budget(version.kind)
        s = self.settings
        where = str(s.artifacts_dir)

        async def call(batch: Sequence[Any]) -> list[dict[str, Any]]:
            return await pool.run(
                version, batch, dict(checked), budget, disconnected,
                artifacts=where, max_chars=s.max_input_chars,
            )  # fmt: skip

        run = self._cached_run(version, checked) if cache else None
        if run is None:
            return await call(inputs)
        slots, todo, at = await anyio.to_thread.run_sync(run.lookup, inputs)
        done = await call([inputs[i] for i in todo]) if todo else []
        return await anyio.to_thread.run_sync(run.fill, slots, todo, at, done)

    def close_pools(self) -> None:
        """Stop the worker processes of this runtime's kinds (made again on next use)."""
        from hub.runtime.procpool import close_pools

        pools, self._pools = list(self._pools), set()
        close_pools(pools)

    def _learn_pace(self, key: tuple[str, int], cost: float, elapsed_s: float) -> None:
        """Remember how long a version takes per cost unit (a moving average)."""
        if cost <= 0:
            return
        pace = elapsed_s / cost
        old = self._pace.get(key)
        self._pace[key] = pace if old is None else 0.8 * old + 0.2 * pace

    async def _in_thread(
        self,
        version: Version,
        work: Callable[[Sequence[Any], Budget], list[dict[str, Any]]],
        inputs: Sequence[Any],
        disconnected: Callable[[], Awaitable[bool]] | None,
    ) -> list[dict[str, Any]]:
        """``work(inputs, budget)`` in a thread of the kind's limiter, under a fresh budget
        cancelled when ``disconnected()`` answers true."""
        import anyio
        import anyio.to_thread

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

        result: list[dict[str, Any]] | None = None
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            if disconnected is not None:
                tg.start_soon(watch)
            try:
                result = await anyio.to_thread.run_sync(
                    work, inputs, budget, limiter=self._limiter(version.kind)
                )
            except Exception as exc:  # noqa: BLE001 - re-raised below, not as an ExceptionGroup
                error = exc
            finally:
                done.set()
        if error is not None:
            raise error
        assert result is not None
        return result

    def _batcher(self) -> MicroBatcher:
        """The micro-batcher of the running event loop."""
        key = id(asyncio.get_running_loop())
        batcher = self._batchers.get(key)
        if batcher is None:
            if len(self._batchers) > 64:  # batchers of event loops long gone (tests)
                self._batchers.clear()
            s = self.settings
            batcher = self._batchers[key] = MicroBatcher(s.microbatch_ms / 1000, s.microbatch_max)
        return batcher

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
        from hub.runtime.procpool import version_plain

        loaded, pools = [], set()
        for model in self.store.list_models(include_private=True, limit=10_000)[0]:
            try:
                version = self.store.resolve(model.name)
                predictor = self.predictor(version)
                pool = self.pool(version.kind)
                if pool is not None:  # loaded by each worker process before it takes work
                    where = str(self.settings.artifacts_dir)
                    pool.warm(version_plain(version), where, self.settings.max_input_chars)
                    pools.add(pool)
                elif hasattr(predictor, "warm"):
                    predictor.warm()
                loaded.append(model.name)
            except Exception:  # noqa: BLE001 - one broken model must not stop the others
                continue
        for pool in pools:
            pool.start()
        return loaded
