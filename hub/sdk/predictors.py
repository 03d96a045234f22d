"""The predictor base a model kind made of a featurizer and a model subclasses.

:class:`FeaturizedPredictor` owns the batch loop: parsing with the version's input type and
the hub's per-item limits, featurizing (through the featurizer's batch door for text when it
has one), the annotators' evidence (the applicability domain), the ``explain`` dispatch, the
request's deadline and the typed per-item errors. A kind gives only its model's batch predict,
:meth:`~FeaturizedPredictor.outputs_of` (feature rows ``(n, n_features)`` -> one output dict
per row), and, to be explained by atom occlusion, :meth:`~FeaturizedPredictor.first_output`.
The version's spec names ``input_type``, ``featurizer`` (``{"name", "params"}``), ``outputs``
and optional ``annotators``; its ``model`` artifact is the kind's to read.

Imported by name (``from hub.sdk.predictors import FeaturizedPredictor``), not re-exported by
``hub.sdk``: it brings NumPy and the plugin registry, which a client does not need.
"""

from hub.runtime.featurized import FeaturizedPredictor

__all__ = ["FeaturizedPredictor"]
