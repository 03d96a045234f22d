"""The hub's training pipeline for learned property models (domain-free: no domain imported).

A recipe (or a trainer of user data) featurizes its inputs, declares how the model is evaluated
(:class:`Evaluation`: the split functions, the held-out groups, the applicability domain's
similarity, the task) and calls :func:`learn`, which trains the Keras ensembles, measures and
calibrates, stores the served model and the plots, and returns what to register
(:class:`Learned`). Domains reach it through :mod:`hub.sdk.learning`.

- :mod:`hub.learning.ensemble`  Keras MLP ensembles (regression, or sigmoid members)
- :mod:`hub.learning.metrics`   held-out figures, calibration, aggregation into metrics
- :mod:`hub.learning.plots`     parity and uncertainty plots; ROC and reliability plots
- :mod:`hub.learning.splits`    seeded random splits
- :mod:`hub.learning.pipeline`  :func:`learn`, the steps in order

Keras is imported only inside the functions that train.
"""

from hub.learning.ensemble import EnsembleParams, fit_ensemble, predict_members, with_uncertainty
from hub.learning.metrics import (
    aggregate,
    calibration_metrics,
    classification_metrics,
    fit_sigma_scale,
    regression_metrics,
)
from hub.learning.pipeline import Applicability, Evaluation, HeldOut, Learned, learn
from hub.learning.splits import RANDOM_80_10_10, random_split

__all__ = [
    "RANDOM_80_10_10",
    "Applicability",
    "EnsembleParams",
    "Evaluation",
    "HeldOut",
    "Learned",
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
