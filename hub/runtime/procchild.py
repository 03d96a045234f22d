"""The child side of :mod:`hub.runtime.procpool`: a worker process that loads the plugins once,
keeps each model version's predictor warm, and runs the tasks its parent sends, in chunks,
reporting each chunk as it ends. Only plain data crosses the pipe (see the pool's module)."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from datetime import datetime
from importlib import import_module
from typing import Any

from hub.entities import DatasetInfo, Metric, Version
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
    def __init__(self, plugins_ref: str | None) -> None:
        self.plugins = _plugins(plugins_ref)
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

    def run(self, conn: Any, cancel: Any, msg: tuple) -> None:
        from hub.runtime.core import _call

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
        i, size = 0, 1
        while i < len(inputs) and not budget.expired():
            chunk = inputs[i : i + size]
            conn.send(("chunk", task, i, len(chunk)))
            t0 = time.perf_counter()
            conn.send(("items", task, i, _call(predictor, chunk, params, budget)))
            i += len(chunk)
            if time.perf_counter() - t0 < CHUNK_S:
                size = min(size * 2, cap or MAX_CHUNK)
        conn.send(("done", task))


def _die_with_parent(parent: int) -> None:
    """End this process when ``parent`` is gone: ``PR_SET_PDEATHSIG`` on Linux (SIGKILL: a
    child holds nothing worth a clean exit), and a thread watching ``getppid()`` everywhere."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


def child_main(conn: Any, cancel: Any, plugins_ref: str | None, parent: int, warm: list) -> None:
    """A pool child: load the plugins and ``warm`` versions, then run tasks until the pipe
    closes; dies with ``parent``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one engine per core, no oversubscription
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the server decides
    _die_with_parent(parent)
    child = _Child(plugins_ref)
    for plain, artifacts, max_chars in warm:
        try:
            child.predictor(plain, artifacts, max_chars)
        except Exception as exc:  # noqa: BLE001 - reported when a request needs it
            log.warning("pool child: cannot load %s:%s: %s", plain["model"], plain["version"], exc)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        child.run(conn, cancel, msg)
