"""A ridge regression on standardised features: the linear start of a tree ensemble
(``tree_init: "ridge"``, :mod:`hub.learning.trees`).

The trees are then fitted to the ridge's residuals (its predictions as LightGBM's
``init_score``) and the served prediction adds the ridge back: the linear part extrapolates
beyond the training range where trees alone stay flat (measured on ESOL's scaffold split).

Stored as plain JSON numbers inside the trees' JSON (never pickle)::

    {"kind": "ridge", "alpha": float, "intercept": float,
     "mean": [...], "scale": [...], "coef": [...]}     # one entry per feature

Prediction: ``((x - mean) / scale) @ coef + intercept``. Its exact SHAP values against the
training mean (independent features, as ``shap.LinearExplainer``) are ``coef * (x - mean) /
scale`` with base value ``intercept``: they sum to the ridge's prediction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

KIND = "ridge"
ALPHAS = tuple(float(a) for a in np.logspace(-2, 3, 12))  # tried by leave-one-out (GCV)
EPS = 1e-6  # added to each feature's training standard deviation


@dataclass(frozen=True)
class Ridge:
    """A fitted ridge: features' training ``mean`` and ``scale`` (standard deviation + EPS),
    ``coef`` on the standardised features, ``intercept`` (property's unit), the chosen
    ``alpha``; all arrays of shape (n_features,)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    alpha: float

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / scale`` of rows ``x`` (n, n_features), float64."""
        return (np.asarray(x, np.float64) - self.mean) / self.scale

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The ridge's prediction of rows ``x`` (n, n_features), shape (n,)."""
        return self.standardise(x) @ self.coef + self.intercept

    def shap_values(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Exact SHAP values of rows ``x`` (n, n_features) against the training mean,
        shape (n, n_features), and the base value (the intercept)."""
        return self.standardise(x) * self.coef, self.intercept

    def to_dict(self) -> dict[str, Any]:
        """The stored form (see the module docstring)."""
        return {
            "kind": KIND,
            "alpha": self.alpha,
            "intercept": self.intercept,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], n_features: int) -> Ridge:
        """A :class:`Ridge` from its stored form (``ValueError`` when it is not one for
        ``n_features`` features)."""
        if not isinstance(doc, Mapping) or doc.get("kind") != KIND:
            raise ValueError("the trees' init is not a ridge")
        arrays = [np.asarray(doc[k], np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (n_features,) for a in arrays) or np.any(arrays[1] <= 0):
            raise ValueError(f"the ridge's arrays do not fit {n_features} features")
        return cls(*arrays, intercept=float(doc["intercept"]), alpha=float(doc["alpha"]))


def fit_ridge(x: np.ndarray, y: np.ndarray) -> Ridge:
    """A ridge on the standardised rows ``x`` (n, n_features) and targets ``y`` (n,), its
    penalty chosen among :data:`ALPHAS` by scikit-learn's efficient leave-one-out error."""
    from sklearn.linear_model import RidgeCV

    x = np.asarray(x, np.float64)
    mean, scale = x.mean(0), x.std(0) + EPS
    model = RidgeCV(alphas=ALPHAS).fit((x - mean) / scale, np.asarray(y, np.float64))
    return Ridge(
        mean=mean,
        scale=scale,
        coef=np.asarray(model.coef_, np.float64),
        intercept=float(model.intercept_),
        alpha=float(model.alpha_),
    )
