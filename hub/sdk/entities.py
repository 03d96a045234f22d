"""The catalog's plain records a domain writes or reads (see :mod:`hub.entities`).

A recipe describes its model with :class:`ModelInfo` and :class:`OutputSpec`, reports
:class:`Metric` s and the :class:`DatasetInfo` it trained on; a model kind's loader gets the
:class:`Version` it loads (its ``spec`` and ``artifacts``).
"""

from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, Version

__all__ = ["DatasetInfo", "Metric", "ModelInfo", "OutputSpec", "Version"]
