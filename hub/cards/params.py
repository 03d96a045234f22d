"""What a card says about calling a model: its prediction parameters, the jobs it runs with
theirs, and the limits of one input. Read from the plugins' declarations (:mod:`hub.params`,
:attr:`hub.plugins.InputType.limits`) and the version's spec (``limits``, or a simulator's
``params.limits``), never from a loaded model."""

from __future__ import annotations

from typing import Any

from hub.cards.schemas import ParameterPublic, TaskPublic
from hub.entities import ModelInfo, Version
from hub.errors import PluginError
from hub.params import params_schema
from hub.plugins import PluginRegistry
from hub.runtime.core import builtin_kinds

_BOUNDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
}


def parameters_of(schema: dict[str, Any]) -> list[ParameterPublic]:
    """The fields of a :class:`~hub.params.Params` JSON Schema, in declaration order."""
    out = []
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        kinds = [o.get("type", "") for o in options if o.get("type") != "null"]
        enum = next((o["enum"] for o in options if "enum" in o), None)
        bounds = {ours: prop[theirs] for theirs, ours in _BOUNDS.items() if theirs in prop}
        out.append(
            ParameterPublic(
                name=name,
                type=" or ".join(k for k in kinds if k) or "any",
                default=prop.get("default"),
                description=prop.get("description", ""),
                enum=enum,
                **bounds,
            )
        )
    return out


def prediction_parameters(plugins: PluginRegistry, version: Version) -> list[ParameterPublic]:
    kind = plugins.model_kind(version.kind) or builtin_kinds().get(version.kind)
    if kind is None:
        return []
    return parameters_of(params_schema(kind.params_for(version, plugins)))


def model_tasks(plugins: PluginRegistry, model: ModelInfo) -> list[TaskPublic]:
    """The tasks that run on ``model`` (:meth:`~hub.plugins.Task.runs_on`), with their declared
    parameters."""
    tasks = (plugins.task(name) for name in plugins.tasks())
    return [
        TaskPublic(
            name=t.name,
            description=t.description,
            parameters=parameters_of(params_schema(t.params)) if t.params else [],
        )
        for t in tasks
        if t.runs_on(model)
    ]


def model_limits(plugins: PluginRegistry, version: Version | None, input_type: str) -> dict:
    """The input type's limits, then those the version's spec declares (which win)."""
    try:
        limits = dict(plugins.input_type(input_type).limits)
    except PluginError:
        limits = {}
    if version is not None:
        spec = version.spec
        own = spec.get("limits") or (spec.get("params") or {}).get("limits") or {}
        if isinstance(own, dict):
            limits |= own
    return limits
