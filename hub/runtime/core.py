"""The runtime: resolve a reference, load its version once, keep it warm, run batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.config import Settings, load_settings
from hub.entities import Version
from hub.errors import InvalidRequest, PayloadTooLarge, PluginError
from hub.plugins import LoadContext, ModelKind, PluginRegistry, Predictor, load_plugins

RESOLVE_TTL_S = 1.0


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

    def _load(self, version: Version) -> Predictor:
        kind = self.plugins.model_kind(version.kind) or builtin_kinds().get(version.kind)
        if kind is None:
            raise PluginError(
                f"{version.ref} is of kind {version.kind!r}, which no installed plugin provides"
            )
        ctx = LoadContext(
            plugins=self.plugins,
            read_artifact=self.artifacts.read,
            max_input_chars=self.settings.max_input_chars,
        )
        return kind.load(version, ctx)

    def predict(
        self, ref: str, inputs: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> Prediction:
        """Predict ``inputs`` (a list of raw JSON inputs) with the model ``ref`` points at."""
        if not isinstance(inputs, list | tuple):
            raise InvalidRequest("'inputs' must be a list")
        if len(inputs) > self.settings.max_batch:
            raise PayloadTooLarge(
                f"batch of {len(inputs)} inputs is over the limit of {self.settings.max_batch}",
                limit=self.settings.max_batch,
            )
        version = self.resolve(ref)
        outputs = self.predictor(version).predict(list(inputs), dict(params or {}))
        return Prediction(version.model, version.version, outputs)

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
