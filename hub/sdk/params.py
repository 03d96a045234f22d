"""Declared parameters (:mod:`hub.params`): subclass :class:`Params` for a model kind's
predictions (``ModelKind(params=...)``) or a task's jobs (``Task(params=...)``); the hub checks
requests with :func:`check_params` and lists the fields in the OpenAPI and on the cards."""

from hub.params import NoParams, Params, check_params, params_schema

__all__ = ["NoParams", "Params", "check_params", "params_schema"]
