"""What the hub measures itself on a publisher's evaluation set, at registration.

- :func:`read_table`: the evaluation CSV (UTF-8, a header row): the inputs' column and one
  column per declared output, with its row numbers for the report.
- :func:`check_outputs`: a model whose outputs are NaN or infinite on anything it was run on,
  or constant over the evaluation set, is refused (:class:`ModelRefused`).
- :func:`regression_metrics` (RMSE, MAE, R2 per output; ``within_1sigma`` and ``sigma_mean``
  with an uncertainty column) and :func:`classification_metrics` (ROC-AUC, accuracy at 0.5,
  Brier score, expected calibration error over ten bins): every figure is a
  :class:`~hub.entities.Metric` with ``source="hub"``, split ``evaluation``, ``n=1`` (one
  split) and ``n_samples`` the rows measured.
- :func:`plots`: the parity plot (regression; error against sigma with an uncertainty) or the
  reliability curve (classification), as SVG artifacts ``plot_*`` with their captions.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hub.entities import Metric
from hub.errors import InvalidRequest
from hub.publishing.errors import ModelRefused

SPLIT = "evaluation"
MAX_ROWS = 100_000
MIN_ROWS = 5
csv.field_size_limit(1 << 20)


@dataclass(frozen=True)
class Table:
    """Rows of the evaluation set with a value for every output: ``inputs`` (raw strings),
    ``y`` float64 (n, n_outputs), ``rows`` their 1-based line numbers after the header."""

    inputs: list[str]
    y: np.ndarray
    rows: list[int]
    skipped: list[dict[str, object]] = field(default_factory=list)  # rows without a target


def read_table(data: bytes, *, input_column: str, outputs: Sequence[str]) -> Table:
    """Parse the evaluation CSV; 422 ``invalid_evaluation`` naming the missing column or the
    first unreadable value. Rows with an empty target are skipped and reported."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"evaluation: not UTF-8 text ({exc})", code="invalid_evaluation", field="evaluation"
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in (input_column, *outputs) if c not in header]
    if missing:
        raise InvalidRequest(
            f"evaluation: no column {missing[0]!r} (columns: {', '.join(header[:20])}); it "
            "needs the inputs' column and one column per output, named as the output",
            code="invalid_evaluation",
            field="evaluation",
        )
    inputs, values, rows, skipped = [], [], [], []
    try:
        for i, rec in enumerate(reader, start=1):
            if i > MAX_ROWS:
                raise InvalidRequest(
                    f"evaluation: over {MAX_ROWS} rows", code="invalid_evaluation", limit=MAX_ROWS
                )
            cells = [(rec.get(o) or "").strip() for o in outputs]
            if any(c == "" for c in cells):
                skipped.append({"row": i, "code": "missing_target"})
                continue
            try:
                y = [float(c) for c in cells]
            except ValueError as exc:
                raise InvalidRequest(
                    f"evaluation: row {i}: {exc}", code="invalid_evaluation", row=i
                ) from exc
            if not all(math.isfinite(v) for v in y):
                raise InvalidRequest(
                    f"evaluation: row {i}: a target is not a finite number",
                    code="invalid_evaluation",
                    row=i,
                )
            inputs.append(rec.get(input_column) or "")
            values.append(y)
            rows.append(i)
    except csv.Error as exc:
        raise InvalidRequest(f"evaluation: {exc}", code="invalid_evaluation") from exc
    y_arr = np.asarray(values, dtype=np.float64).reshape(len(values), len(outputs))
    return Table(inputs, y_arr, rows, skipped)


def check_outputs(y_all: np.ndarray, y_eval: np.ndarray | None) -> None:
    """Refuse NaN or infinite outputs anywhere, and outputs constant over the evaluation set
    (each column, ``y_eval`` of shape (n, k), n >= 2)."""
    bad = ~np.isfinite(y_all)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ModelRefused(
            f"the model outputs NaN or infinity ({int(bad.any(axis=1).sum())} of {len(y_all)} "
            f"inputs, first at input {int(rows[0])}, column {int(cols[0])})",
            code="non_finite_outputs",
        )
    if y_eval is not None and len(y_eval) >= 2:
        spread = np.ptp(y_eval, axis=0)
        flat = [int(j) for j in np.nonzero(spread <= 1e-9 * (1.0 + np.abs(y_eval).max()))[0]]
        if flat:
            raise ModelRefused(
                f"the model's output column {flat[0]} is constant over the {len(y_eval)} "
                f"evaluation inputs ({float(y_eval[0, flat[0]]):.6g}): it has learned nothing",
                code="constant_outputs",
                column=flat[0],
            )


def _metric(name: str, value: float, n_samples: int) -> Metric:
    return Metric(name, float(value), SPLIT, n=1, source="hub", n_samples=n_samples)


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str], sigma: np.ndarray | None = None
) -> list[Metric]:
    """RMSE, MAE and R2 of each output (``y_*`` shape (n, k)); with one output plain names
    (``rmse``), else suffixed (``rmse_logP``). With ``sigma`` (n,): the fraction of errors
    within one sigma and the mean sigma."""
    n = len(y_true)
    out: list[Metric] = []
    for j, name in enumerate(names):
        suffix = "" if len(names) == 1 else f"_{name}"
        err = y_pred[:, j] - y_true[:, j]
        ss_tot = float(np.sum((y_true[:, j] - y_true[:, j].mean()) ** 2))
        r2 = 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan")
        out.append(_metric(f"rmse{suffix}", math.sqrt(float(np.mean(err**2))), n))
        out.append(_metric(f"mae{suffix}", float(np.mean(np.abs(err))), n))
        if math.isfinite(r2):
            out.append(_metric(f"r2{suffix}", r2, n))
    if sigma is not None:
        err = np.abs(y_pred[:, 0] - y_true[:, 0])
        out.append(_metric("within_1sigma", float(np.mean(err <= sigma)), n))
        out.append(_metric("sigma_mean", float(np.mean(sigma)), n))
    return out


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def calibration_bins(labels: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple]:
    """(mean predicted, observed fraction, count) per equal-width probability bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        (float(p[which == b].mean()), float(labels[which == b].mean()), int((which == b).sum()))
        for b in range(bins)
        if (which == b).any()
    ]


def classification_metrics(labels: np.ndarray, p: np.ndarray) -> list[Metric]:
    """ROC-AUC (when both classes occur), accuracy at 0.5, Brier score and expected
    calibration error of probabilities ``p`` (n,) against 0/1 ``labels`` (n,)."""
    if not np.isin(labels, (0.0, 1.0)).all():
        raise InvalidRequest(
            "evaluation: a classifier's targets must be 0 or 1", code="invalid_evaluation"
        )
    if (p < 0).any() or (p > 1).any():
        raise ModelRefused(
            "a classifier's output must be a probability in [0, 1] (end the model with a "
            f"sigmoid); it gave {float(p.min()):.4g} to {float(p.max()):.4g}",
            code="not_probabilities",
        )
    n = len(labels)
    out = []
    if 0 < labels.sum() < n:
        out.append(_metric("roc_auc", roc_auc(labels, p), n))
    out.append(_metric("accuracy", float(np.mean((p >= 0.5) == (labels == 1))), n))
    out.append(_metric("brier", float(np.mean((p - labels) ** 2)), n))
    ece = sum(c * abs(mp - obs) for mp, obs, c in calibration_bins(labels, p)) / n
    out.append(_metric("calibration_error", ece, n))
    return out


def plots(
    task: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    quantity: str,
    unit: str,
    metrics: Sequence[Metric],
    sigma: np.ndarray | None = None,
) -> dict[str, tuple[bytes, str]]:
    """role -> (SVG bytes, caption) for the first output."""
    from hub.plots import curve_svg, parity_svg, uncertainty_svg

    by_name = {m.name: m.value for m in metrics}
    n = len(y_true)
    if task == "property-classification":
        bins = calibration_bins(y_true, y_pred)
        svg = curve_svg(
            {
                "model": ([b[0] for b in bins], [b[1] for b in bins]),
                "ideal": ([0.0, 1.0], [0.0, 1.0]),
            },
            xlabel=f"predicted probability of {quantity}",
            ylabel="observed fraction",
            title="reliability on the evaluation set (measured by the hub)",
        )
        return {
            "plot_reliability": (
                svg,
                f"Reliability of the predicted probabilities on the publisher's {n} evaluation "
                "inputs, measured by the hub at registration",
            )
        }
    out = {
        "plot_parity": (
            parity_svg(
                y_true,
                y_pred,
                quantity=quantity,
                unit=unit,
                metric_text=f"RMSE {by_name.get('rmse', float('nan')):.3g}",
                title="evaluation set, measured by the hub at registration",
            ),
            f"Predicted against measured {quantity} on the publisher's {n} evaluation inputs, "
            "measured by the hub at registration",
        )
    }
    if sigma is not None:
        out["plot_uncertainty"] = (
            uncertainty_svg(y_true, y_pred, sigma, unit=unit),
            "Absolute error against the model's own uncertainty on the evaluation inputs",
        )
    return out
