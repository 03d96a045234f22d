"""``hub.sdk``: the one module of the hub a domain imports (chemistry, physics, a third party's).

What a domain author finds here, each in a small module whose names (its ``__all__``) are all
re-exported below, except Keras and the training pipeline:

- :mod:`hub.sdk.plugins`   the records a domain fills in: :class:`Domain`, :class:`InputType`,
  :class:`Featurizer`, :class:`Simulator`, :class:`ModelKind`, :class:`Annotator`,
  :class:`Task`, :class:`Recipe` (with :class:`RecipeContext`, :class:`RecipeResult`).
- :mod:`hub.sdk.errors`    the typed errors to raise (:class:`ItemError` for one bad input,
  :class:`InvalidRequest` for bad parameters, :class:`RunError`, :class:`PluginError`).
- :mod:`hub.sdk.entities`  the catalog records a recipe returns (:class:`ModelInfo`,
  :class:`OutputSpec`, :class:`Metric`, :class:`DatasetInfo`) and :class:`Version`.
- :mod:`hub.sdk.items`     the batch loop and per-item helpers for a predictor
  (:func:`each_item`, :func:`parse_item`, :func:`error_item`, :func:`to_json_number`).
- :mod:`hub.sdk.params`    declared parameters of predictions and tasks (:class:`Params`).
- :mod:`hub.sdk.artifacts` content hashes (:func:`sha256_file`).
- :mod:`hub.sdk.plots`     deterministic SVG plots a recipe stores with its version.
- :mod:`hub.sdk.ase`       :func:`ase_results`, an energy output as ASE calculator results;
  the JSON form of an Atoms' constraints and state (:func:`plain_json`, :func:`state_json`).
- :mod:`hub.sdk.keras`     the hub's Keras layers and loaders (imports Keras, so it is not
  re-exported here: ``from hub.sdk.keras import EnsembleMeanStd`` inside a training function).
- :mod:`hub.sdk.learning`  the training pipeline of learned property models (:func:`learn`);
  imported by name: ``from hub.sdk.learning import Evaluation, learn``.

The import contract (``lint-imports``, ``pyproject.toml``) checks that ``domains`` import
nothing of ``hub`` but this package. See ``docs/architecture.md``.
"""

import hub.keras_env  # noqa: F401 - TensorFlow log level, before a domain imports it
from hub.sdk import artifacts, ase, entities, errors, items, params, plots, plugins
from hub.sdk.artifacts import *  # noqa: F403
from hub.sdk.ase import *  # noqa: F403
from hub.sdk.entities import *  # noqa: F403
from hub.sdk.errors import *  # noqa: F403
from hub.sdk.items import *  # noqa: F403
from hub.sdk.params import *  # noqa: F403
from hub.sdk.plots import *  # noqa: F403
from hub.sdk.plugins import *  # noqa: F403

__all__: list[str] = []
__all__ += artifacts.__all__
__all__ += ase.__all__
__all__ += entities.__all__
__all__ += errors.__all__
__all__ += items.__all__
__all__ += params.__all__
__all__ += plots.__all__
__all__ += plugins.__all__
