"""The held-out plots of a learned model, stored as artifacts with their captions.

Regression: predicted against measured (parity) and absolute error against the calibrated
uncertainty. Classification: the ROC curve and the reliability diagram (observed fraction of
class 1 against the predicted probability, per decile of probability).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def importance_svg(names: Sequence[str], values: Sequence[float], *, title: str) -> bytes:
    """A horizontal bar chart of ``values`` (non-negative, largest first) named ``names``."""
    from xml.sax.saxutils import escape

    row, left, width, top = 22, 260, 180, 34
    peak = max([float(v) for v in values] + [1e-12])
    height = top + row * len(names) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 70}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        f'<text x="8" y="20" font-size="14">{escape(title)}</text>',
    ]
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        y = top + i * row
        w = max(1.0, width * float(value) / peak)
        label = name if len(name) <= 38 else name[:36] + "…"
        parts += [
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="#4477aa"/>',
            f'<text x="{left + w + 4:.1f}" y="{y + 14}">{float(value):.3g}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts).encode("utf-8")


def learning_curve(
    put_artifact: Put,
    curve: dict[int, float],
    *,
    metric: str,
    unit: str,
    items: str,
    held_out: str,
) -> tuple[str, str]:
    """The test ``metric`` (``unit``) against the number of training ``items`` (``curve``:
    size -> value), stored as an artifact. Returns (sha256, caption)."""
    svg = curve_svg(
        {f"test {metric}": (list(curve), list(curve.values()))},
        xlabel=f"training {items}",
        ylabel=f"test {metric} ({unit})",
        title="learning curve",
    )
    caption = f"Test {metric} against the number of training {items}, {held_out}."
    return put_artifact(svg), caption
