"""The ``keras`` model kind: a featurizer plus a Keras model, run as one compiled function.
The batch loop (parse, featurize on one core or the featurizer's process pool, annotate,
explain, per-item errors, the budget) is :mod:`hub.runtime.featurized`'s; this module is the
Keras part.

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
from typing import Any, Literal

import numpy as np
from pydantic import Field

import hub.keras_env  # noqa: F401 - before Keras
from hub.entities import Version
from hub.errors import InvalidRequest
from hub.params import Params
from hub.plugins import LoadContext, ModelKind
from hub.runtime.featurized import FeaturizedPredictor
from hub.runtime.items import to_json_number

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


class KerasPredictor(FeaturizedPredictor):
    """A warm ``keras`` version: the shared featurized loop (:mod:`hub.runtime.featurized`)
    with a compiled Keras model as its batch predict."""

    def __init__(self, version: Version, ctx: LoadContext) -> None:
        super().__init__(version, ctx)
        self.uncertainty = version.spec.get("uncertainty")
        self.model = load_keras_bytes(ctx.read_artifact(version.artifacts["model"]))
        self.n_features = int(self.model.inputs[0].shape[-1])
        self.forward = compile_forward(self.model, self.n_features)

    def unexplainable(self, method: str) -> InvalidRequest:
        return InvalidRequest(
            "SHAP attributions are given by tree models (kind 'lightgbm'); this version is "
            "a Keras network: explain with true or 'atoms'",
            errors=[{"param": "explain", "message": "'shap' needs a tree model"}],
        )

    def first_output(self, x: np.ndarray) -> np.ndarray:
        return run_rows(self.forward, x.astype(np.float32, copy=False))[:, 0]

    def outputs_of(self, x: np.ndarray) -> list[dict[str, Any]]:
        y = run_rows(self.forward, x.astype(np.float32, copy=False))
        return [self._assemble(row) for row in y]

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
