"""Keras layers the hub's learned models may use, registered so that artifacts containing them
load with ``safe_mode=True`` (no Lambda layers, no pickled code)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hub")
class EnsembleMeanStd(keras.layers.Layer):
    """Input (batch, members): the members' predictions of one quantity. Output (batch, 2):
    their mean and their (population) standard deviation times ``scale``, the ensemble's
    uncertainty (``scale`` is fitted on held-out data so that the spread is calibrated)."""

    def __init__(self, scale: float = 1.0, **kwargs) -> None:  # noqa: ANN003 - Keras kwargs
        super().__init__(**kwargs)
        self.scale = float(scale)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}

    def call(self, x):  # noqa: ANN001, ANN201 - Keras tensors
        mean = ops.mean(x, axis=-1, keepdims=True)
        std = ops.sqrt(ops.maximum(ops.mean(ops.square(x - mean), axis=-1, keepdims=True), 0.0))
        return ops.concatenate([mean, std * self.scale], axis=-1)

    def compute_output_shape(self, input_shape):  # noqa: ANN001, ANN201
        return (input_shape[0], 2)
