"""Plots a recipe stores with the version it registers: SVG bytes made with matplotlib.

A recipe stores each plot as an artifact whose role starts with ``plot_`` (``plot_parity``,
``plot_uncertainty``, ``plot_eos``) and names it in ``spec["plots"] = {role: caption}``; the
catalog pages show them. The SVGs are deterministic (fixed hash salt, no date), so the same
held-out predictions give the same artifact sha256.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

import numpy as np

_lock = threading.Lock()  # pyplot's state is global


def _figure():  # noqa: ANN202 - matplotlib types
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "model-hub"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: small files, selectable labels
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=100)
    ax.grid(True, alpha=0.3)
    return plt, fig, ax


def _svg(plt, fig) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "model-hub"})
    plt.close(fig)
    return buf.getvalue()


def parity_svg(
    y_true: Sequence[float] | np.ndarray,
    y_pred: Sequence[float] | np.ndarray,
    *,
    quantity: str,
    unit: str,
    metric_text: str,
    title: str = "held-out predictions",
) -> bytes:
    """Predicted against measured, shape (n,) each, with the identity line; ``metric_text``
    (for example ``"RMSE 0.58 ± 0.04"``) goes in the legend."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    lo, hi = float(np.nanmin([y.min(), p.min()])), float(np.nanmax([y.max(), p.max()]))
    pad = 0.04 * (hi - lo or 1.0)
    with _lock:
        plt, fig, ax = _figure()
        ax.scatter(y, p, s=6, alpha=0.45, linewidths=0, label=f"{len(y)} held-out, {metric_text}")
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="y = x")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.set_xlabel(f"measured {quantity} ({unit})")
        ax.set_ylabel(f"predicted {quantity} ({unit})")
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
        return _svg(plt, fig)


def uncertainty_svg(
    y_true: Sequence[float] | np.ndarray,
    y_pred: Sequence[float] | np.ndarray,
    sigma: Sequence[float] | np.ndarray,
    *,
    unit: str,
    bins: int = 10,
) -> bytes:
    """Absolute error against predicted uncertainty (calibrated sigma), shape (n,) each: the
    points, and the RMS error per sigma decile against the ideal ``RMSE = sigma`` line."""
    y, p, s = (np.asarray(a, float) for a in (y_true, y_pred, sigma))
    err = np.abs(p - y)
    order = np.argsort(s)
    chunks = [c for c in np.array_split(order, min(bins, len(s))) if len(c)]
    s_bin = [float(s[c].mean()) for c in chunks]
    rmse_bin = [float(np.sqrt(np.mean(err[c] ** 2))) for c in chunks]
    top = float(max(np.max(s), np.max(rmse_bin)) * 1.1 or 1.0)
    with _lock:
        plt, fig, ax = _figure()
        ax.scatter(s, err, s=5, alpha=0.3, linewidths=0, label="|error| per molecule")
        ax.plot(s_bin, rmse_bin, "o-", color="C3", label="RMS error per sigma decile")
        ax.plot([0, top], [0, top], "k--", lw=1, label="RMS error = sigma")
        ax.set_xlim(0, top)
        ax.set_ylim(0, max(top, float(np.percentile(err, 99))))
        ax.set_xlabel(f"predicted uncertainty sigma ({unit})")
        ax.set_ylabel(f"absolute error ({unit})")
        ax.set_title("error against uncertainty, held-out", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
        return _svg(plt, fig)


def curve_svg(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
) -> bytes:
    """Lines ``label -> (x, y)``, for example an equation of state E(V) of a reference cell."""
    with _lock:
        plt, fig, ax = _figure()
        for i, (label, (x, y)) in enumerate(series.items()):
            ax.plot(x, y, "o-" if len(x) <= 30 else "-", ms=3, color=f"C{i}", label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        return _svg(plt, fig)
