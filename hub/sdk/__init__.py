"""``hub.sdk``: the one module of the hub a domain imports (chemistry, physics, a third party's).

What a domain author finds here, each in a small module (all re-exported below, except Keras):

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
- :mod:`hub.sdk.ase`       :func:`ase_results`, an energy output as ASE calculator results.
- :mod:`hub.sdk.keras`     the hub's Keras layers and loaders (imports Keras, so it is not
  re-exported here: ``from hub.sdk.keras import EnsembleMeanStd`` inside a training function).

The import contract (``lint-imports``, ``pyproject.toml``) checks that ``domains`` import
nothing of ``hub`` but this package. See ``docs/architecture.md``.
"""

import hub.keras_env  # noqa: F401 - TensorFlow log level, before a domain imports it
from hub.sdk.artifacts import sha256_bytes, sha256_file
from hub.sdk.ase import ase_results
from hub.sdk.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, Version
from hub.sdk.errors import (
    AlreadyExists,
    CallerError,
    Forbidden,
    HubError,
    IntegrityError,
    InvalidRequest,
    ItemError,
    NotFound,
    PayloadTooLarge,
    PluginError,
    RateLimited,
    RunError,
    Unauthenticated,
    Unavailable,
)
from hub.sdk.items import Budget, each_item, error_item, parse_item, to_json_number
from hub.sdk.params import NoParams, Params, check_params, params_schema
from hub.sdk.plots import curve_svg, parity_svg, uncertainty_svg
from hub.sdk.plugins import (
    GROUP,
    Annotator,
    Domain,
    Featurizer,
    InputType,
    LoadContext,
    ModelKind,
    PluginRegistry,
    Predictor,
    Recipe,
    RecipeContext,
    RecipeResult,
    Simulator,
    Task,
    Trainer,
    TrainingTable,
    load_plugins,
)

__all__ = [
    "GROUP",
    "AlreadyExists",
    "Annotator",
    "Budget",
    "CallerError",
    "DatasetInfo",
    "Domain",
    "Featurizer",
    "Forbidden",
    "HubError",
    "InputType",
    "IntegrityError",
    "InvalidRequest",
    "ItemError",
    "LoadContext",
    "Metric",
    "ModelInfo",
    "ModelKind",
    "NoParams",
    "NotFound",
    "OutputSpec",
    "Params",
    "PayloadTooLarge",
    "PluginError",
    "PluginRegistry",
    "Predictor",
    "RateLimited",
    "Recipe",
    "RecipeContext",
    "RecipeResult",
    "RunError",
    "Simulator",
    "Task",
    "Trainer",
    "TrainingTable",
    "Unauthenticated",
    "Unavailable",
    "Version",
    "ase_results",
    "check_params",
    "curve_svg",
    "each_item",
    "error_item",
    "load_plugins",
    "params_schema",
    "parity_svg",
    "parse_item",
    "sha256_bytes",
    "sha256_file",
    "to_json_number",
    "uncertainty_svg",
]
