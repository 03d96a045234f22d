"""The ``simulator`` model kind: a physics engine from a domain plugin, run per structure.

Spec: ``{"simulator": "physics.emt", "params": {...}}``. The catalog stores only the engine's
name and parameters; the code is the plugin's. The engine is built on first use (or
:meth:`SimulatorPredictor.warm`): an API process whose simulators run in worker processes
(:mod:`hub.runtime.procpool`) never builds them (a universal potential's weights stay out of it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hub.entities import Version
from hub.params import Params
from hub.plugins import LoadContext, ModelKind, PluginRegistry
from hub.runtime.core import Budget, each_item
from hub.runtime.items import parse_item


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


class SimulatorPredictor:
    def __init__(self, version: Version, ctx: LoadContext) -> None:
        self.version = version
        self.simulator = ctx.plugins.simulator(version.spec["simulator"])
        self.params = dict(version.spec.get("params", {}))
        self._compute: Callable[..., Any] | None = None
        self._lock = threading.Lock()
        self.input_type = ctx.plugins.input_type(self.simulator.input_type)
        self.max_chars = ctx.max_input_chars

    @property
    def compute(self) -> Callable[..., Any]:
        """The engine, built from the version's parameters on first use (once)."""
        if self._compute is None:
            with self._lock:
                if self._compute is None:
                    self._compute = self.simulator.build(**self.params)
        return self._compute

    def warm(self) -> None:
        """Build the engine now."""
        self.compute  # noqa: B018 - built on first access

    def predict(
        self, inputs: Sequence[Any], params: Mapping[str, Any], *, budget: Budget | None = None
    ) -> list[dict[str, Any]]:
        """Run the engine on each input in turn, until ``budget`` runs out. The engine's
        settings are the version's; ``params`` those the simulator declares for a prediction
        (checked by the runtime), passed on when given."""
        units = dict(self.simulator.units)
        given = {k: v for k, v in params.items() if v is not None}
        shown = self.params | given
        engine_fn = self.compute

        def compute(_: int, raw: Any) -> dict[str, Any]:
            obj = parse_item(self.input_type.parse, raw, self.max_chars)
            result = dict(engine_fn(obj, **given))
            engine = result.pop("engine", self.simulator.name)
            extra = self.input_type.describe(obj) if self.input_type.describe else {}
            value = {k: _jsonable(v) for k, v in result.items()}
            return {
                "value": value,
                "unit": {k: units[k] for k in value if k in units},
                "engine": engine,
                "params": shown,
            } | extra

        return each_item(inputs, compute, budget)


def _simulator_params(version: Version, plugins: PluginRegistry) -> type[Params]:
    """A simulator version's prediction parameters: those its engine declares."""
    return plugins.simulator(version.spec["simulator"]).params


SIMULATOR_KIND = ModelKind(name="simulator", load=SimulatorPredictor, params_of=_simulator_params)
