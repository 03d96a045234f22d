"""The hub's Keras pieces, for a recipe that trains a Keras model (imports Keras: import this
module inside the function that trains, not at the top of a domain module).

- :class:`EnsembleMeanStd` and :class:`SelectColumns`: layers registered for ``safe_mode``
  loading, so a saved ``.keras`` artifact using them loads without pickled code.
- :func:`load_keras_bytes`: a model from verified ``.keras`` bytes (``safe_mode=True``).
- :func:`compile_forward`: a traced ``tf.function`` running a model on a float32 batch, as the
  hub's ``keras`` model kind serves it (use it to score a model exactly as it will be served).
"""

from hub.runtime.keras_kind import compile_forward, load_keras_bytes
from hub.runtime.keras_layers import EnsembleMeanStd, SelectColumns

__all__ = ["EnsembleMeanStd", "SelectColumns", "compile_forward", "load_keras_bytes"]
