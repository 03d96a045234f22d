"""The ``keras`` model kind: a featurizer plus a Keras model, run as one compiled function.

Spec of a version (written by its recipe)::

    {"input_type": "smiles",
     "featurizer": {"name": "chemistry.rdkit2d_morgan", "params": {...}},
     "outputs": [{"name": "solubility", "unit": "log10(mol/L)"}],
     "uncertainty": "last_column" | null,   # the model's last output column is a std
     "annotators": [{"name": "chemistry.tanimoto_domain", "params": {...},
                     "artifacts": ["training_smiles"]}]}   # evidence added to each output

The artifact (role ``model``) is a ``.keras`` file, checked against its sha256 and loaded with
``safe_mode=True``. Prediction runs the whole batch through one ``tf.function`` with a fixed
input signature (traced once at load), never ``Model.predict``: that costs about 40 ms a call.
The rows go through it in padded chunks of ``FORWARD_ROWS``: the math kernels' summation order
depends on the number of rows, so a molecule's answer would otherwise change in its last bits
(about 1e-6) with the size of the batch it came in. With one fixed shape, an answer does not
depend on its batch: alone, in a 10,000-molecule request, micro-batched with other callers'
requests or read back from the prediction cache, it is the same to the bit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

import hub.keras_env  # noqa: F401 - before Keras
from hub.entities import Version
from hub.errors import InvalidRequest, PluginError
from hub.params import Params
from hub.plugins import LoadContext, ModelKind
from hub.runtime.core import Budget, each_item
from hub.runtime.items import error_item, parse_item, to_json_number

FORWARD_ROWS = 64  # rows of every compiled call (a batch is padded to a multiple of this)


def _register_layers() -> None:
    import hub.runtime.keras_layers  # noqa: F401 - registers the hub's layers for safe_mode


def load_keras_bytes(data: bytes) -> Any:
    """A Keras model from verified ``.keras`` bytes, with ``safe_mode=True`` (no lambdas, no
    arbitrary code)."""
    import keras

    _register_layers()
    with tempfile.NamedTemporaryFile(suffix=".keras", delete=False) as fh:
        fh.write(data)
        path = fh.name
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    finally:
        os.unlink(path)


def compile_forward(model: Any, n_features: int) -> Any:
    """A traced ``tf.function`` running ``model`` in inference mode on a float32 batch."""
    import tensorflow as tf

    @tf.function(
        input_signature=[tf.TensorSpec((None, n_features), tf.float32)], reduce_retracing=True
    )
    def forward(x):  # noqa: ANN001, ANN202 - a TF graph function
        return model(x, training=False)

    forward(tf.zeros((FORWARD_ROWS, n_features), tf.float32))  # trace now, not on a request
    return forward


def run_rows(forward: Any, x: np.ndarray, rows: int = FORWARD_ROWS) -> np.ndarray:
    """``forward`` over the float32 rows ``x`` in chunks of exactly ``rows`` (the last one
    padded with zeros), so that each row's result is independent of the batch around it."""
    n = len(x)
    padded = -n % rows
    if padded:
        x = np.concatenate([x, np.zeros((padded, x.shape[1]), np.float32)])
    parts = [np.asarray(forward(x[s : s + rows])) for s in range(0, len(x), rows)]
    return np.concatenate(parts)[:n]


class KerasPredictor:
    def __init__(self, version: Version, ctx: LoadContext) -> None:
        spec = version.spec
        self.version = version
        self.input_type = ctx.plugins.input_type(spec["input_type"])
        fspec = spec["featurizer"]
        self.featurize = ctx.plugins.featurizer(fspec["name"]).build(**fspec.get("params", {}))
        self.outputs = spec["outputs"]
        self.uncertainty = spec.get("uncertainty")
        self.max_chars = ctx.max_input_chars
        if "model" not in version.artifacts:
            raise PluginError(f"{version.ref} has no 'model' artifact")
        self.model = load_keras_bytes(ctx.read_artifact(version.artifacts["model"]))
        self.n_features = int(self.model.inputs[0].shape[-1])
        self.forward = compile_forward(self.model, self.n_features)
        self.annotators = [self._annotator(a, version, ctx) for a in spec.get("annotators", ())]

    @staticmethod
    def _annotator(entry: Mapping[str, Any], version: Version, ctx: LoadContext) -> Any:
        missing = [r for r in entry.get("artifacts", ()) if r not in version.artifacts]
        if missing:
            raise PluginError(f"{version.ref} lacks the artifacts {missing} of {entry['name']}")
        data = {r: ctx.read_artifact(version.artifacts[r]) for r in entry.get("artifacts", ())}
        return ctx.plugins.annotator(entry["name"]).build(data, **entry.get("params", {}))

    def _check_params(self, params: Mapping[str, Any]) -> bool:
        """``explain``, when this version's input type can be explained (the types and names
        were checked by the runtime against :class:`KerasParams`)."""
        if params.get("explain") == "shap":
            raise InvalidRequest(
                "SHAP attributions are given by tree models (kind 'lightgbm'); this version is "
                "a Keras network: explain with true or 'atoms'",
                errors=[{"param": "explain", "message": "'shap' needs a tree model"}],
            )
        explain = params.get("explain", False) in (True, "atoms")
        if explain and self.input_type.explain is None:
            raise InvalidRequest(f"inputs of type {self.input_type.name!r} cannot be explained")
        return explain

    def predict_objects(self, objs: Sequence[Any]) -> np.ndarray:
        """The first output for already-parsed inputs (used by explainers), shape (n,)."""
        x = np.stack([self.featurize(o) for o in objs]).astype(np.float32, copy=False)
        return run_rows(self.forward, x)[:, 0]

    def predict(
        self, inputs: Sequence[Any], params: Mapping[str, Any], *, budget: Budget | None = None
    ) -> list[dict[str, Any]]:
        """Parse and featurize each input (stopping when ``budget`` runs out), then run the
        featurized ones through the model in one call."""
        explain = self._check_params(params)
        many = getattr(self.featurize, "parse_and_featurize", None)
        if many is not None and not explain and all(isinstance(x, str) for x in inputs):
            return self._predict_strings(inputs, many, budget)
        rows: list[np.ndarray] = []
        where: list[int] = []
        describe = self.input_type.describe

        def featurize(i: int, raw: Any) -> dict[str, Any]:
            obj = parse_item(self.input_type.parse, raw, self.max_chars)
            row = self.featurize(obj)
            extra = describe(obj) if describe is not None else {}
            for annotate in self.annotators:
                extra |= annotate(obj)
            if explain:
                extra["explanation"] = self.input_type.explain(obj, self.predict_objects)
            rows.append(row)
            where.append(i)
            return extra

        slots = each_item(inputs, featurize, budget)
        if rows:
            y = run_rows(self.forward, np.stack(rows).astype(np.float32, copy=False))
            for j, i in enumerate(where):
                slots[i] = self._assemble(y[j]) | slots[i]
        return slots

    def _predict_strings(
        self, inputs: Sequence[str], many: Any, budget: Budget | None
    ) -> list[dict[str, Any]]:
        """Text inputs through the featurizer's own batch door, ``parse_and_featurize(strings)
        -> [(parsed, row) | exception]`` (which parses with this input type's parser, and may
        use every core for a large batch), after the hub's per-item limits; then the model in
        one call. The same outputs as item by item."""
        slots: list[Any] = [None] * len(inputs)
        todo: list[int] = []
        for i, raw in enumerate(inputs):
            try:
                parse_item(str, raw, self.max_chars)  # length and Unicode, before any parser
                todo.append(i)
            except Exception as exc:  # noqa: BLE001 - each item reports its own failure
                slots[i] = error_item(exc)
        if budget is not None and budget.expired():
            late = {"error": budget.error().to_dict()}
            return [s if s is not None else dict(late) for s in slots]
        results = many([inputs[i] for i in todo]) if todo else []
        describe = self.input_type.describe
        rows: list[np.ndarray] = []
        where: list[int] = []
        for i, result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                slots[i] = error_item(result)
                continue
            obj, row = result
            try:
                extra = describe(obj) if describe is not None else {}
                for annotate in self.annotators:
                    extra |= annotate(obj)
            except Exception as exc:  # noqa: BLE001 - each item reports its own failure
                slots[i] = error_item(exc)
                continue
            slots[i] = extra
            rows.append(row)
            where.append(i)
        if rows:
            y = run_rows(self.forward, np.stack(rows).astype(np.float32, copy=False))
            for j, i in enumerate(where):
                slots[i] = self._assemble(y[j]) | slots[i]
        return slots

    def _assemble(self, y: np.ndarray) -> dict[str, Any]:
        std = to_json_number(y[-1]) if self.uncertainty == "last_column" else None
        vals = y[:-1] if self.uncertainty == "last_column" else y
        if len(self.outputs) == 1:
            out = {"value": to_json_number(vals[0]), "unit": self.outputs[0]["unit"]}
        else:
            named = zip(self.outputs, vals, strict=False)
            out = {
                "value": {o["name"]: to_json_number(v) for o, v in named},
                "unit": {o["name"]: o["unit"] for o in self.outputs},
            }
        if std is not None:
            out["uncertainty"] = std
        return out


class KerasParams(Params):
    explain: bool | Literal["atoms", "shap"] = Field(
        False,
        description="attribute each prediction to the input's atoms (SMILES inputs): true or "
        "'atoms' ('shap' is for tree models)",
    )


KERAS_KIND = ModelKind(name="keras", load=KerasPredictor, params=KerasParams)
