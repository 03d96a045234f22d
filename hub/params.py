"""Declared parameters of predictions and jobs: one pydantic model per model kind and task.

A model kind (:class:`hub.plugins.ModelKind`) and a task (:class:`hub.plugins.Task`) name the
:class:`Params` subclass of their parameters. The hub then

- checks every request's ``params`` with :func:`check_params`: one 422 shape everywhere
  (:class:`~hub.errors.InvalidRequest` with ``errors: [{param, message}]``);
- lists them, with types, units and bounds, in ``/openapi.json`` and on each model's card
  (:func:`params_schema`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.errors import InvalidRequest


class Params(BaseModel):
    """Strict parameters: unknown names are refused, no string or float where an integer is
    declared, no bool where a number is. Give each field a ``description`` with its unit."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(Params):
    """This model takes no parameters in a prediction (its settings are fixed by the version)."""


def check_params(model: type[Params], params: Any, *, what: str = "parameters") -> Params:
    """``params`` validated and converted by ``model``, defaults filled in; otherwise
    :class:`~hub.errors.InvalidRequest` naming every bad one (``errors``) and the known ones."""
    if not isinstance(params, dict):
        raise InvalidRequest("'params' must be an object", errors=[{"param": "params"}])
    if params and not model.model_fields:
        names = [str(k)[:100] for k in list(params)[:10]]
        raise InvalidRequest(
            f"this model takes no {what} (got {names}); its settings are fixed by the version",
            errors=[{"param": k, "message": "not a parameter"} for k in names],
        )
    try:
        return model(**params)
    except ValidationError as exc:
        problems = _problems(exc)
        text = "; ".join(f"{p['param']}: {p['message']}" for p in problems[:5])
        known = ", ".join(model.model_fields) or "none"
        raise InvalidRequest(f"invalid {what}: {text} ({what}: {known})", errors=problems) from exc


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    """One entry per bad parameter: pydantic reports a value that fits no member of a union
    (``explain: bool | "atoms" | "shap"``) once per member, under the member's name."""
    by_param: dict[str, list[str]] = {}
    for e in exc.errors(include_url=False, include_input=False):
        loc = e["loc"]
        at = [str(x) for x in loc[1:] if isinstance(x, int)]  # an item of a list parameter
        message = f"item {'.'.join(at)}: {e['msg']}" if at else e["msg"]
        by_param.setdefault(str(loc[0]) if loc else "params", []).append(message)
    return [{"param": p, "message": "; or ".join(dict.fromkeys(m))} for p, m in by_param.items()]


def params_schema(model: type[Params] | None) -> dict[str, Any]:
    """The declared parameters as JSON Schema (an empty object schema when there are none)."""
    if model is None:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    return model.model_json_schema()
