"""The ``keras`` model kind: a featurizer plus a Keras model, run as one compiled function.

Spec of a version (written by its recipe)::

    {"input_type": "smiles",
     "featurizer": {"name": "chemistry.morgan_descriptors", "params": {...}},
     "outputs": [{"name": "solubility", "unit": "log10(mol/L)"}],
     "uncertainty": "last_column" | null}   # the model's last output column is a std

The artifact (role ``model``) is a ``.keras`` file, checked against its sha256 and loaded with
``safe_mode=True``. Prediction runs the whole batch through one ``tf.function`` with a fixed
input signature (traced once at load), never ``Model.predict``: that costs about 40 ms a call.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hub.entities import Version
from hub.errors import PluginError
from hub.plugins import LoadContext, ModelKind
from hub.runtime.items import error_item, parse_item, to_json_number

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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

    forward(tf.zeros((1, n_features), tf.float32))  # trace now, not on the first request
    return forward


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

    def predict(self, inputs: Sequence[Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
        slots: list[dict[str, Any] | None] = [None] * len(inputs)
        rows: list[np.ndarray] = []
        where: list[int] = []
        extras: dict[int, dict[str, Any]] = {}
        describe = self.input_type.describe
        for i, raw in enumerate(inputs):
            try:
                obj = parse_item(self.input_type.parse, raw, self.max_chars)
                rows.append(self.featurize(obj))
                where.append(i)
                if describe is not None:
                    extras[i] = describe(obj)
            except Exception as exc:  # noqa: BLE001 - each item reports its own failure
                slots[i] = error_item(exc)
        if rows:
            y = np.asarray(self.forward(np.stack(rows).astype(np.float32, copy=False)))
            for j, i in enumerate(where):
                slots[i] = self._assemble(y[j]) | extras.get(i, {})
        return slots  # type: ignore[return-value]

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


KERAS_KIND = ModelKind(name="keras", load=KerasPredictor)
