"""The hub's training pipeline for learned property models (see :mod:`hub.learning`).

A recipe featurizes its data, declares its :class:`Evaluation` (random split function, held-out
group splits as :class:`HeldOut`, the applicability domain's similarity as
:class:`Applicability`, regression or classification) and calls :func:`learn`: ensembles,
metrics over seeded splits, sigma calibration, domain threshold, plots and the card's
evaluation text come back as a :class:`Learned`. The lower-level pieces (:func:`fit_ensemble`,
:func:`with_uncertainty`, the metrics) are here for recipes that need their own loop.

Importing this module does not import Keras; training does.
"""

from hub.learning.ensemble import EnsembleParams, fit_ensemble, predict_members, with_uncertainty
from hub.learning.metrics import (
    aggregate,
    calibration_metrics,
    classification_metrics,
    fit_sigma_scale,
    regression_metrics,
)
from hub.learning.pipeline import Applicability, Evaluation, HeldOut, Learned, SplitFn, learn
from hub.learning.splits import RANDOM_80_10_10, random_split

__all__ = [
    "RANDOM_80_10_10",
    "Applicability",
    "EnsembleParams",
    "Evaluation",
    "HeldOut",
    "Learned",
    "SplitFn",
    "aggregate",
    "calibration_metrics",
    "classification_metrics",
    "fit_ensemble",
    "fit_sigma_scale",
    "learn",
    "predict_members",
    "random_split",
    "regression_metrics",
    "with_uncertainty",
]
