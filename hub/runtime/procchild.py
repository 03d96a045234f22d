"""The child side of :mod:`hub.runtime.procpool`: a worker process that loads the plugins once,
keeps each model version's predictor warm, and runs the tasks its parent sends, in chunks,
reporting each chunk as it ends. Only plain data crosses the pipe (see the pool's module)."""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import asdict
from datetime import datetime
from importlib import import_module
from typing import Any

from hub.entities import DatasetInfo, Metric, Version
from hub.lifeline import die_with_parent
from hub.memlimit import memory_limit
from hub.runtime.budget import Budget

log = logging.getLogger(__name__)

CHUNK_S = 0.05  # a child grows its chunks while one takes less than this
MAX_CHUNK = 1024


def version_plain(v: Version) -> dict[str, Any]:
    """A version's catalog record as plain data (what a child loads it from)."""
    d = asdict(v)
    d["created_at"] = v.created_at.isoformat() if v.created_at else None
    return d


def version_from(d: dict[str, Any]) -> Version:
    d = dict(d)
    d["created_at"] = datetime.fromisoformat(d["created_at"]) if d["created_at"] else None
    d["dataset"] = DatasetInfo(**d["dataset"]) if d["dataset"] else None
    d["metrics"] = tuple(Metric(**m) for m in d["metrics"])
    return Version(**d)


def _plugins(ref: str | None) -> Any:
    """The plugin registry: the installed plugins, or ``module:attr`` (a registry or a
    callable returning one, for registries that are not entry points)."""
    if ref is None:
        from hub.plugins import load_plugins

        return load_plugins()
    module, _, attr = ref.partition(":")
    obj = getattr(import_module(module), attr)
    return obj() if callable(obj) else obj


class _Child:
    def __init__(self, plugins_ref: str | None, memory_mb: int = 0) -> None:
        self.plugins = _plugins(plugins_ref)
        self.memory_mb = memory_mb  # RLIMIT_AS growth allowed per request (0: none)
        self.loaded: dict[tuple, Any] = {}
        self.stores: dict[str, Any] = {}

    def predictor(self, plain: dict[str, Any], artifacts: str, max_chars: int) -> Any:
        key = (artifacts, plain["model"], plain["version"], plain["created_at"])
        hit = self.loaded.get(key)
        if hit is None:
            from hub.artifacts import ArtifactStore
            from hub.plugins import LoadContext
            from hub.runtime.core import builtin_kinds

            version = version_from(plain)
            kind = self.plugins.model_kind(version.kind) or builtin_kinds()[version.kind]
            store = self.stores.get(artifacts) or ArtifactStore(artifacts)
            self.stores[artifacts] = store
            ctx = LoadContext(
                plugins=self.plugins, read_artifact=store.read, max_input_chars=max_chars
            )
            hit = kind.load(version, ctx)
            if hasattr(hit, "warm"):
                hit.warm()  # build the engine now, not on the first item
            self.loaded[key] = hit
        return hit

    def warm(self, plain: dict[str, Any], artifacts: str, max_chars: int) -> None:
        """Load a version before a request needs it; a failure is reported when one does."""
        try:
            self.predictor(plain, artifacts, max_chars)
        except Exception as exc:  # noqa: BLE001 - reported when a request needs it
            log.warning("pool child: cannot load %s:%s: %s", plain["model"], plain["version"], exc)

    def run(self, conn: Any, cancel: Any, msg: tuple) -> None:
        _, task, plain, artifacts, max_chars, inputs, params, remaining_s, deadline_s, cap = msg
        budget = Budget(deadline_s, time.monotonic() + remaining_s, cancel)
        try:
            predictor = self.predictor(plain, artifacts, max_chars)
        except Exception as exc:  # noqa: BLE001 - the parent raises it as the load's error
            from hub.errors import HubError

            status = exc.status if isinstance(exc, HubError) else 500
            payload = exc.to_dict() if isinstance(exc, HubError) else {"code": "plugin_error"}
            payload.setdefault("message", f"{type(exc).__name__}: {str(exc)[:300]}")
            conn.send(("failed", task, status, payload))
            return
        with memory_limit(self.memory_mb):  # an item over it: memory_limit_exceeded
            self._items(conn, task, predictor, inputs, params, budget, cap)
        conn.send(("done", task))

    def _items(
        self, conn: Any, task: Any, predictor: Any, inputs: list, params: Any, budget: Any, cap: int
    ) -> None:
        from hub.runtime.core import _call

        i, size = 0, 1
        while i < len(inputs) and not budget.expired():
            chunk = inputs[i : i + size]
            conn.send(("chunk", task, i, len(chunk)))
            t0 = time.perf_counter()
            conn.send(("items", task, i, _call(predictor, chunk, params, budget)))
            i += len(chunk)
            if time.perf_counter() - t0 < CHUNK_S:
                size = min(size * 2, cap or MAX_CHUNK)


def child_main(
    conn: Any,
    cancel: Any,
    plugins_ref: str | None,
    parent: int,
    warm: list,
    memory_mb: int = 0,
) -> None:
    """A pool child: load the plugins, then run tasks until the pipe closes, loading the
    ``warm`` versions while no task waits (a request never waits for versions nobody asked
    for: loading every simulator, universal potentials included, takes a minute on a busy
    machine). Each task runs under an address-space limit of what the child maps then plus
    ``memory_mb`` MiB (0: none; ``Settings.kind_memory_mb``); dies with ``parent``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one engine per core, no oversubscription
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the server decides
    # a child holds nothing worth a clean exit: SIGKILL, at once
    die_with_parent(parent, signum=signal.SIGKILL)
    child = _Child(plugins_ref, memory_mb)
    conn.send(("ready", os.getpid()))
    pending = list(warm)
    if not pending:
        conn.send(("warmed", os.getpid()))
    while True:
        try:
            if pending and not conn.poll():  # idle: load the next version before it is asked
                child.warm(*pending.pop(0))
                if not pending:
                    conn.send(("warmed", os.getpid()))
                continue
            msg = conn.recv()
        except (EOFError, OSError):
            return
        child.run(conn, cancel, msg)
