"""Keras layers the hub's learned models may use, registered so that artifacts containing them
load with ``safe_mode=True`` (no Lambda layers, no pickled code)."""

from __future__ import annotations

import hub.keras_env  # noqa: F401 - before Keras

# isort: split
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


@keras.saving.register_keras_serializable(package="hub")
class SelectColumns(keras.layers.Layer):
    """Input (batch, n_features). Output (batch, len(indices)): the feature columns a model was
    trained on. Sparse fingerprints of a narrow data set (an HTE plate) set a few hundred of
    their thousands of bits; a column never set in training carries no information, and
    dropping it before the first dense layer makes training and prediction several times
    cheaper without changing what the model can learn."""

    def __init__(self, indices: list[int] | tuple[int, ...] = (), **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def get_config(self) -> dict:
        return {**super().get_config(), "indices": self.indices}

    def call(self, x):  # noqa: ANN001, ANN201 - Keras tensors
        return ops.take(x, ops.convert_to_tensor(self.indices, dtype="int32"), axis=-1)

    def compute_output_shape(self, input_shape):  # noqa: ANN001, ANN201
        return (input_shape[0], len(self.indices))
