"""The featurized-predictor base: a featurizer, then the model's own batch predict.

The ``keras`` and ``lightgbm`` kinds (and any kind made of a featurizer plus a model that
scores feature rows) share this loop; a subclass gives only what is its own:

- :meth:`FeaturizedPredictor.outputs_of`: the model's batch predict, feature rows
  ``(n, n_features)`` -> one output dict per row (``value``, ``unit``, ``uncertainty``);
- :meth:`FeaturizedPredictor.first_output`: the first output per row, for the input type's
  explainer (atom occlusion);
- :attr:`FeaturizedPredictor.explain_methods` and :meth:`FeaturizedPredictor.explain_row`:
  the explanations it gives besides ``atoms`` (``shap`` for trees).

The base owns the rest: the version's featurizer and annotators (the applicability domain) built
through the plugin contract (:mod:`hub.plugins`), the ``explain`` parameter's dispatch, the
per-item limits and typed per-item errors (:func:`~hub.runtime.items.parse_item`,
:func:`~hub.runtime.items.error_item`), the request's :class:`~hub.runtime.budget.Budget`, and
the choice between two ways of featurizing a batch:

- **item by item** (:func:`~hub.runtime.budget.each_item`): parse with the input type, featurize,
  describe, annotate and explain each input, the budget checked between items. Used for
  explanations, for inputs that are not all text, and for featurizers without a batch door.
- **the featurizer's batch door for text**: a built featurizer may offer
  ``parse_and_featurize(strings) -> [(parsed, row) | exception]``, in order, parsing exactly as
  its input type does; it decides itself where a batch runs (the chemistry featurizer sends
  batches from its ``parallel_threshold`` to a warm process pool on every core and keeps
  smaller ones in process). The hub calls it on chunks of at most :data:`STRING_CHUNK` inputs,
  checking the budget between chunks; the answers are those of the item path (tested).

Every row then goes through the model in one batch call; a subclass's model must answer a row
the same whatever batch it comes in (the Keras parts run in padded chunks of fixed shape,
:func:`hub.runtime.keras_kind.run_rows`), so that an answer does not depend on its batch, on
micro-batching or on the prediction cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hub.entities import Version
from hub.errors import InvalidRequest, PluginError
from hub.plugins import LoadContext
from hub.runtime.budget import Budget, each_item
from hub.runtime.items import error_item, parse_item

STRING_CHUNK = 4096  # text inputs per call of the featurizer's batch door (budget checked between)

Featurized = tuple[list[Any], list[np.ndarray], list[int]]  # slots, feature rows, their slots


class FeaturizedPredictor:
    """A warm version made of a featurizer and a model; see the module docstring."""

    explain_methods: tuple[str, ...] = ("atoms",)  # the ``explain`` values this kind gives

    def __init__(self, version: Version, ctx: LoadContext) -> None:
        spec = version.spec
        self.version = version
        self.input_type = ctx.plugins.input_type(spec["input_type"])
        self.fspec = dict(spec["featurizer"])
        self.featurize = ctx.plugins.featurizer(self.fspec["name"]).build(
            **self.fspec.get("params", {})
        )
        self.outputs = spec["outputs"]
        self.max_chars = ctx.max_input_chars
        if "model" not in version.artifacts:
            raise PluginError(f"{version.ref} has no 'model' artifact")
        self.annotators = [self._annotator(a, version, ctx) for a in spec.get("annotators", ())]

    @staticmethod
    def _annotator(entry: Mapping[str, Any], version: Version, ctx: LoadContext) -> Any:
        missing = [r for r in entry.get("artifacts", ()) if r not in version.artifacts]
        if missing:
            raise PluginError(f"{version.ref} lacks the artifacts {missing} of {entry['name']}")
        data = {r: ctx.read_artifact(version.artifacts[r]) for r in entry.get("artifacts", ())}
        return ctx.plugins.annotator(entry["name"]).build(data, **entry.get("params", {}))

    # -- what a kind gives -----------------------------------------------------------------
    def outputs_of(self, x: np.ndarray) -> list[dict[str, Any]]:
        """The model's batch predict: one output dict per feature row of ``x``."""
        raise NotImplementedError

    def first_output(self, x: np.ndarray) -> np.ndarray:
        """The model's first output for each feature row of ``x``, shape (n,)."""
        raise NotImplementedError

    def explain_row(self, method: str, obj: Any, row: np.ndarray) -> dict[str, Any]:
        """The explanation ``method`` (one of :attr:`explain_methods` but ``atoms``) of one
        parsed input and its feature row."""
        raise NotImplementedError

    def unexplainable(self, method: str) -> InvalidRequest:
        """The error for an ``explain`` value this kind does not give."""
        return InvalidRequest(
            f"this version cannot explain with {method!r}",
            errors=[{"param": "explain", "message": f"one of {list(self.explain_methods)}"}],
        )

    # -- the shared loop ---------------------------------------------------------------------
    def explain_method(self, params: Mapping[str, Any]) -> str | None:
        """The explanation asked for (``True`` means ``atoms``), checked against this kind and
        input type; None for none."""
        explain = params.get("explain", False)
        if explain is True:
            explain = "atoms"
        if not explain:
            return None
        method = str(explain)
        if method not in self.explain_methods:
            raise self.unexplainable(method)
        if method == "atoms" and self.input_type.explain is None:
            raise InvalidRequest(f"inputs of type {self.input_type.name!r} cannot be explained")
        return method

    def predict_objects(self, objs: Sequence[Any]) -> np.ndarray:
        """The first output of already-parsed inputs (used by explainers), shape (n,)."""
        return self.first_output(np.stack([self.featurize(o) for o in objs]))

    def predict(
        self, inputs: Sequence[Any], params: Mapping[str, Any], *, budget: Budget | None = None
    ) -> list[dict[str, Any]]:
        """Parse, featurize and annotate each input (stopping when ``budget`` runs out), then
        run the featurized ones through the model in one batch; a bad input gets its own
        ``{"error": {...}}``."""
        method = self.explain_method(params)
        many = getattr(self.featurize, "parse_and_featurize", None)
        if many is not None and method is None and all(isinstance(x, str) for x in inputs):
            slots, rows, where = self._featurize_strings(inputs, many, budget)
        else:
            slots, rows, where = self._featurize_items(inputs, method, budget)
        if rows:
            for i, out in zip(where, self.outputs_of(np.stack(rows)), strict=True):
                slots[i] = out | slots[i]
        return slots

    def _annotate(self, obj: Any) -> dict[str, Any]:
        """What the input type says of a parsed input, then the annotators' evidence."""
        describe = self.input_type.describe
        extra = describe(obj) if describe is not None else {}
        for annotate in self.annotators:
            extra |= annotate(obj)
        return extra

    def _featurize_items(
        self, inputs: Sequence[Any], method: str | None, budget: Budget | None
    ) -> Featurized:
        rows: list[np.ndarray] = []
        where: list[int] = []

        def run(i: int, raw: Any) -> dict[str, Any]:
            obj = parse_item(self.input_type.parse, raw, self.max_chars)
            row = self.featurize(obj)
            extra = self._annotate(obj)
            if method == "atoms":
                extra["explanation"] = self.input_type.explain(obj, self.predict_objects)
            elif method is not None:
                extra["explanation"] = self.explain_row(method, obj, row)
            rows.append(row)
            where.append(i)
            return extra

        return each_item(inputs, run, budget), rows, where

    def _featurize_strings(
        self, inputs: Sequence[str], many: Any, budget: Budget | None
    ) -> Featurized:
        """Text through the featurizer's batch door, after the hub's per-item limits (length,
        Unicode), in chunks with the budget checked between them."""
        slots: list[Any] = [None] * len(inputs)
        todo: list[int] = []
        for i, raw in enumerate(inputs):
            try:
                parse_item(str, raw, self.max_chars)  # length and Unicode, before any parser
                todo.append(i)
            except Exception as exc:  # noqa: BLE001 - each item reports its own failure
                slots[i] = error_item(exc)
        rows: list[np.ndarray] = []
        where: list[int] = []
        chunks = _chunks(todo, STRING_CHUNK)
        for k, chunk in enumerate(chunks):
            if budget is not None and budget.expired():
                late = {"error": budget.error().to_dict()}
                for i in (i for rest in chunks[k:] for i in rest):
                    slots[i] = dict(late)
                break
            for i, result in zip(chunk, many([inputs[i] for i in chunk]), strict=True):
                if isinstance(result, BaseException):
                    slots[i] = error_item(result)
                    continue
                obj, row = result
                try:
                    slots[i] = self._annotate(obj)
                except Exception as exc:  # noqa: BLE001 - each item reports its own failure
                    slots[i] = error_item(exc)
                    continue
                rows.append(row)
                where.append(i)
        return slots, rows, where


def _chunks(items: list[int], most: int) -> list[list[int]]:
    """``items`` in consecutive chunks of at most ``most``, of even sizes (so no small tail
    chunk runs alone)."""
    if not items:
        return []
    n = -(-len(items) // most)
    size = -(-len(items) // n)
    return [items[s : s + size] for s in range(0, len(items), size)]
