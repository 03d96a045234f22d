"""The held-out plots of a learned model, stored as artifacts with their captions.

Regression: predicted against measured (parity) and absolute error against the calibrated
uncertainty. Classification: the ROC curve and the reliability diagram (observed fraction of
class 1 against the predicted probability, per decile of probability).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from hub.plots import curve_svg, parity_svg, uncertainty_svg

Put = Callable[[Path | bytes], str]  # stores an artifact, returns its sha256


def holdout_plots(
    put_artifact: Put,
    y: np.ndarray,
    mean: np.ndarray,
    sigma: np.ndarray,
    *,
    quantity: str,
    unit: str,
    metric_text: str,
    held_out: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """Parity and error-against-uncertainty plots of held-out predictions (n,) each, stored
    as artifacts. Returns (role -> sha256, role -> caption) for the version's spec."""
    artifacts = {
        "plot_parity": put_artifact(
            parity_svg(y, mean, quantity=quantity, unit=unit, metric_text=metric_text)
        ),
        "plot_uncertainty": put_artifact(uncertainty_svg(y, mean, sigma, unit=unit)),
    }
    captions = {
        "plot_parity": f"Predicted against measured {quantity} ({unit}), {held_out}.",
        "plot_uncertainty": (
            f"Absolute error against the calibrated uncertainty ({unit}), {held_out}; "
            "the red line is the RMS error per sigma decile, ideally on the dashed line."
        ),
    }
    return artifacts, captions


def roc_points(y: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates of every threshold, from (0, 0) to (1, 1)."""
    order = np.argsort(-prob, kind="stable")
    hits = (y[order] > 0.5).astype(float)
    n_pos, n_neg = max(hits.sum(), 1.0), max(len(hits) - hits.sum(), 1.0)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / n_pos])
    fpr = np.concatenate([[0.0], np.cumsum(1 - hits) / n_neg])
    return fpr, tpr


def reliability_points(
    y: np.ndarray, prob: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Mean predicted probability and observed fraction of class 1 per probability decile
    (sorted by probability, equal counts)."""
    chunks = [c for c in np.array_split(np.argsort(prob, kind="stable"), bins) if len(c)]
    return (
        np.array([float(prob[c].mean()) for c in chunks]),
        np.array([float(y[c].mean()) for c in chunks]),
    )


def classification_plots(
    put_artifact: Put,
    y: np.ndarray,
    prob: np.ndarray,
    *,
    quantity: str,
    metric_text: str,
    held_out: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """ROC curve and reliability diagram of held-out probabilities ``prob`` (n,) of labels
    ``y`` (n,), stored as artifacts. Returns (role -> sha256, role -> caption)."""
    fpr, tpr = roc_points(y, prob)
    mean_p, observed = reliability_points(y, prob)
    roc = curve_svg(
        {f"{len(y)} held-out, {metric_text}": (fpr, tpr), "chance": ([0, 1], [0, 1])},
        xlabel="false positive rate",
        ylabel="true positive rate",
        title=f"ROC, {quantity}",
    )
    reliability = curve_svg(
        {"observed per probability decile": (mean_p, observed), "ideal": ([0, 1], [0, 1])},
        xlabel=f"predicted probability of {quantity}",
        ylabel="observed fraction",
        title="reliability, held-out",
    )
    artifacts = {"plot_roc": put_artifact(roc), "plot_reliability": put_artifact(reliability)}
    captions = {
        "plot_roc": f"ROC curve of the predicted probability of {quantity}, {held_out}.",
        "plot_reliability": (
            f"Observed fraction of {quantity} against the predicted probability, per decile "
            f"of probability, {held_out}; ideally on the diagonal."
        ),
    }
    return artifacts, captions
