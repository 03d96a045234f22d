"""Figures measured on held-out predictions, and their aggregation into catalog metrics.

- Regression: RMSE, MAE (the target's unit), R2.
- Classification (labels 0/1, predicted probabilities of class 1): ROC-AUC (NaN when the test
  set holds one class only), accuracy at 0.5, Brier score (mean squared error of the
  probability) and the expected calibration error (10 equal-width probability bins).
- Uncertainty: the ensemble spread is scaled (:func:`fit_sigma_scale`) so 68.3 % of held-out
  absolute errors fall inside one scaled sigma; :func:`calibration_metrics` says how well it
  then describes the errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hub.entities import Metric


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R2 of ``pred`` (n,) against ``y`` (n,)."""
    err = pred - y
    ss_res = float((err**2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
        "r2": 1.0 - ss_res / ss_tot,
    }


def roc_auc(y: np.ndarray, prob: np.ndarray) -> float:
    """Area under the ROC curve (ties counted half: the Mann-Whitney statistic); NaN when
    ``y`` holds one class only."""
    from scipy.stats import rankdata

    pos = y > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(prob)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Mean |observed fraction - mean probability| over equal-width probability bins,
    weighted by the bins' sizes."""
    which = np.minimum((prob * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(float(y[inside].mean()) - float(prob[inside].mean()))
    return total / max(len(y), 1)


def classification_metrics(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """ROC-AUC, accuracy, Brier score and ECE of probabilities ``prob`` (n,) of labels
    ``y`` (n,) in {0, 1}."""
    return {
        "roc_auc": roc_auc(y, prob),
        "accuracy": float(((prob >= 0.5) == (y > 0.5)).mean()),
        "brier": float(((prob - y) ** 2).mean()),
        "ece": expected_calibration_error(y, prob),
    }


def calibration_metrics(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict[str, float]:
    """How well the (scaled) ensemble spread ``std`` describes the error of ``mean`` on
    held-out data: the fractions of errors inside 1 and 2 sigma, and the Spearman correlation
    of sigma with the absolute error."""
    from scipy.stats import spearmanr

    err = np.abs(mean - y)
    safe = np.maximum(std, 1e-9)
    rho = spearmanr(std, err).statistic if len(y) > 2 and std.std() > 0 else float("nan")
    return {
        "within_1sigma": float((err <= safe).mean()),
        "within_2sigma": float((err <= 2 * safe).mean()),
        "spearman_sigma_error": float(rho),
    }


def fit_sigma_scale(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """The factor that puts 68.3 % of held-out errors inside one scaled sigma."""
    ratio = np.abs(mean - y) / np.maximum(std, 1e-9)
    return float(np.quantile(ratio, 0.683)) if len(ratio) else 1.0


def aggregate(
    per_split: Sequence[dict[str, float]], split: str, n_samples: int | None = None
) -> list[Metric]:
    """One metric per name: the mean and spread over the splits (``n`` of them), each split
    scored on ``n_samples`` held-out samples. A NaN of a split (an ROC-AUC on a one-class
    test set) is left out of the mean."""
    out = []
    for k in per_split[0]:
        values = np.array([d[k] for d in per_split], float)
        finite = values[~np.isnan(values)]
        if len(finite) == len(values):  # the regression figures: as they always were
            value, std = float(np.mean(values)), float(np.std(values))
        else:
            value = float(np.mean(finite)) if len(finite) else float("nan")
            std = float(np.std(finite)) if len(finite) else float("nan")
        out.append(Metric(k, value, split, std=std, n=len(per_split), n_samples=n_samples))
    return out


def domain_metrics(
    sim: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    threshold: float,
    split: str,
    *,
    classification: bool = False,
) -> list[Metric]:
    """The fraction of held-out inputs whose nearest-neighbour similarity ``sim`` (n,) is at
    least ``threshold``, and the error inside and outside (RMSE; Brier score for a
    classifier)."""
    name = "brier" if classification else "rmse"

    def error(inside: np.ndarray) -> float:
        if not inside.any():
            return float("nan")
        sq = np.mean((pred[inside] - y[inside]) ** 2)
        return float(sq) if classification else float(np.sqrt(sq))

    inside = sim >= threshold
    n_in = int(inside.sum())
    out = [
        Metric("fraction_in_domain", float(inside.mean()), split, n_samples=len(sim)),
        Metric(f"{name}_in_domain", error(inside), split, n_samples=n_in),
    ]
    if n_in < len(sim):
        out.append(
            Metric(f"{name}_out_of_domain", error(~inside), split, n_samples=len(sim) - n_in)
        )
    return out
