"""The declared parameters of every model kind and task, and the input limits, in
``/openapi.json``.

A prediction's ``params`` depend on the model's kind (``explain`` for Keras models, ``top_k``
for reaction templates, none for simulators), a job's on its task (``fmax``, ``steps``, ...):
each kind's and task's :class:`~hub.params.Params` becomes a named schema
(``KerasParams``, ``RelaxParams``, ...), and ``PredictRequest.params`` / ``JobCreate.params``
are documented as one of them. A trainer's (``hub train``: ``members``, ``epochs``, ...,
:attr:`hub.plugins.Trainer.params_model`) too, named in the train route's ``params`` form
field. ``x-hub-parameters`` maps each kind, task and trainer to its schema.
The limits each input type enforces (:attr:`hub.plugins.InputType.limits`) are listed in
``PredictRequest.inputs`` and in ``x-hub-input-limits``; a model's own limits are on its card.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from hub.params import NoParams, Params
from hub.plugins import PluginRegistry, load_plugins
from hub.runtime.core import builtin_kinds

REF = "#/components/schemas/{model}"
TRAIN_ROUTE = "/v1/models/{name}/train"


def declared_params(plugins: PluginRegistry) -> dict[str, dict[str, type[Params]]]:
    """``{"kinds": {kind: Params}, "tasks": {task: Params}, "trainers": {trainer: Params}}``
    of the installed plugins (a trainer that declares none is left out)."""
    kinds = {k.name: k.params for k in builtin_kinds().values()}
    for domain in plugins.domains.values():
        kinds |= {k.name: k.params for k in domain.model_kinds}
        # a simulator that declares its own (GFN2-xTB's charge and spin): "simulator <name>"
        kinds |= {
            f"simulator {s.name}": s.params for s in domain.simulators if s.params is not NoParams
        }
    tasks = {
        name: plugins.task(name).params or NoParams
        for name in plugins.tasks()
        if plugins.task(name).params is not None
    }
    trainers = {
        t.name: t.params_model
        for domain in plugins.domains.values()
        for t in domain.trainers
        if t.params_model is not None
    }
    return {"kinds": kinds, "tasks": tasks, "trainers": trainers}


def _document_trainers(schema: dict[str, Any], by: dict[str, type[Params]]) -> dict[str, str]:
    """The train route's ``params`` form field (a JSON object in a string) names the schema
    of each trainer's parameters."""
    if by:
        listing = "; ".join(f"{key}: {model.__name__}" for key, model in sorted(by.items()))
        post = schema.get("paths", {}).get(TRAIN_ROUTE, {}).get("post", {})
        form = post.get("requestBody", {}).get("content", {}).get("multipart/form-data", {})
        ref = form.get("schema", {}).get("$ref", "")
        body = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        prop = body.get("properties", {}).get("params")
        if prop is not None:
            prop["description"] = (
                f"{prop.get('description', '')}; declared per trainer ({listing}): unknown "
                "names, wrong types and values out of range: 422 naming each"
            )
    return {k: m.__name__ for k, m in by.items()}


def _one_of(
    schema: dict[str, Any], name: str, by: dict[str, type[Params]], what: str
) -> dict[str, Any]:
    models = sorted(set(by.values()), key=lambda m: m.__name__)
    listing = "; ".join(f"{key}: {model.__name__}" for key, model in sorted(by.items()))
    prop = schema["components"]["schemas"].get(name, {}).get("properties", {}).get("params")
    if prop is None:
        return {}
    prop.clear()
    prop.update(
        {
            "title": "Params",
            "description": f"The parameters of the {what} ({listing}); a model's card lists its "
            "own. Unknown names, wrong types and values out of range: 422 naming each.",
            "anyOf": [{"$ref": REF.format(model=m.__name__)} for m in models],
            "default": {},
        }
    )
    return {k: m.__name__ for k, m in by.items()}


def _document_limits(schema: dict[str, Any], plugins: PluginRegistry) -> None:
    limits = {
        it.name: dict(it.limits)
        for d in plugins.domains.values()
        for it in d.input_types
        if it.limits
    }
    schema["x-hub-input-limits"] = limits
    inputs = (
        schema["components"]["schemas"]
        .get("PredictRequest", {})
        .get("properties", {})
        .get("inputs")
    )
    if inputs is not None:
        listing = "; ".join(
            f"{name}: " + ", ".join(f"{k} {v}" for k, v in lim.items())
            for name, lim in sorted(limits.items())
        )
        inputs["description"] = (
            f"{inputs.get('description', '')}. Limits of each input type, over which an "
            f"input gets its own typed error: {listing}. Each model's own limits (atoms, "
            "cost, deadline) are on its card."
        )


def document_parameters(app: FastAPI, plugins: PluginRegistry | None = None) -> None:
    """Add the declared parameters to ``app``'s OpenAPI (see the module's docstring)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        declared = declared_params(plugins or load_plugins())
        models = {m for group in declared.values() for m in group.values()}
        _, defs = models_json_schema(
            [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
            ref_template=REF,
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
        schema["x-hub-parameters"] = {
            "model_kinds": _one_of(schema, "PredictRequest", declared["kinds"], "model's kind"),
            "tasks": _one_of(schema, "JobCreate", declared["tasks"], "job's task"),
            "trainers": _document_trainers(schema, declared["trainers"]),
        }
        _document_limits(schema, plugins or load_plugins())
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
