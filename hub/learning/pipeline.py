"""The one training pipeline of learned property models: a recipe declares its data and its
evaluation (:class:`Evaluation`), :func:`learn` does the rest.

Steps, in order (every number a recipe registers comes from here):

1. ``n_splits`` seeded random splits (``ctx.params["seed"] + s``; the split function is the
   recipe's, 80/10/10 by default): an ensemble of the family ``params["family"]``
   (:mod:`hub.learning.families`: Keras MLPs, LightGBM trees or both) is trained on
   the training part with early stopping on the validation part, and scored on the test part.
   Regression: RMSE, MAE, R2; classification: ROC-AUC, accuracy, Brier score, ECE
   (:mod:`hub.learning.metrics`), each as mean and spread over the splits. With a learning
   curve (``Evaluation.learning_curve``), each split's model is first also trained on prefixes
   of its (shuffled) training part, scored on the same test part (``{headline}_n{size}``).
   Fits are seeded in the order they run: seed, seed + 1, ... (without a learning curve,
   split ``s`` is fitted with seed + s).
2. Uncertainty: the ensemble spread is scaled so 68.3 % of the random splits' held-out errors
   fall inside one sigma (for a classifier, the error of the probability), or of their
   validation parts' errors (``calibrate_on="validation"``); the fractions inside 1 and 2 sigma
   and the Spearman correlation of sigma with the error are registered.
3. Applicability domain, when the recipe gives a similarity (:class:`Applicability`): the
   threshold is the 5th percentile of held-out inputs' nearest-neighbour similarity to their
   training part, registered with the error inside and outside it.
4. Held-out group splits (scaffolds, additives), when the recipe gives them (:class:`HeldOut`):
   one ensemble each, scored like a random split under its own name; several of one name
   (seeded cluster splits) give the mean and spread (``n`` of them).
5. The served model: an ensemble trained on all rows but a seeded 10 % kept for early stopping
   (seed + 1000), or the one random split's own model (``serve="split"``: its test figures
   are then the served model's own), with the calibrated spread (a Keras model: its second
   output column; the ``lightgbm`` kind: ``sigma_scale`` in the spec); the held-out plots
   (:mod:`hub.learning.plots`; the learning curve's too), a tree family's global importance
   (mean |SHAP value|, and its plot when the recipe names the features) and the evaluation
   text of the card.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hub.entities import Metric
from hub.errors import InvalidRequest
from hub.learning import families, metrics, plots
from hub.learning.splits import RANDOM_80_10_10, random_split
from hub.plugins import RecipeContext

SplitFn = Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]  # (n, seed) -> parts
LABELS = {"rmse": "RMSE", "mae": "MAE", "r2": "R2", "roc_auc": "ROC-AUC", "accuracy": "accuracy"}
TASKS = ("regression", "classification")
CALIBRATE_ON = ("test", "validation")
SERVE = ("final", "split")


@dataclass(frozen=True)
class HeldOut:
    """A held-out group split: its metrics' split ``name`` (``scaffold``), the row indices of
    its training, validation (early stopping) and test parts, and the seed of its fit."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int
    label: str = ""  # what the progress says while it trains


@dataclass(frozen=True)
class Applicability:
    """The recipe's applicability domain: ``similarity(test_rows, train_rows)`` is each test
    row's highest similarity to the training rows, shape (n_test,), in [0, 1]."""

    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray]
    method: str  # "nearest-neighbour Tanimoto similarity, ..."
    items: str = "inputs"  # what the rows are, for the card: "molecules"
    quantile: float = 0.05


@dataclass(frozen=True)
class Evaluation:
    """What a recipe declares about its model's training and evaluation.

    ``random_split(n, seed)`` makes the random splits (registered under ``random_name``,
    described as ``"{n_splits} {random_description}"``, the plots' held-out data as "test sets
    of {n_splits} {random_kind} splits"). ``held_out()``, when given, makes the group splits;
    ``held_out_text`` describes each kind for the card (None there when not run). ``upper``
    clips the predictions to [0, upper] (a yield in %); ``active_columns`` makes the networks
    read only the feature columns set in training (sparse fingerprints); ``headline`` is the
    metric first on the card and in the parity plot's legend. ``learning_curve``,
    ``calibrate_on`` and ``serve`` are described in the module docstring."""

    quantity: str
    unit: str
    task: str = "regression"
    random_split: SplitFn = random_split
    random_name: str = "random"
    random_kind: str = "random"
    random_description: str = RANDOM_80_10_10
    held_out: Callable[[], Sequence[HeldOut]] | None = None
    held_out_text: Mapping[str, str] = field(default_factory=dict)
    domain: Applicability | None = None
    upper: float | None = None
    active_columns: bool = False
    headline: str = ""  # default: rmse, or roc_auc for a classifier
    feature_names: Sequence[str] | None = None  # the columns of x: the importance plot's names
    learning_curve: Sequence[int] = ()  # training sizes below the split's (see the module doc)
    calibrate_on: str = "test"  # or "validation": the random splits' early-stopping parts
    serve: str = "final"  # or "split": the one random split's model is the served one
    items: str = "inputs"  # what the rows are, for the plots: "molecules"

    @property
    def classification(self) -> bool:
        return self.task == "classification"


@dataclass(frozen=True)
class Learned:
    """What :func:`learn` measured and stored: the metrics, the served model and plots
    (sha256), their captions, the card's evaluation text, the sigma scale and the domain's
    threshold (None without a domain)."""

    metrics: tuple[Metric, ...]
    model: str
    plots: dict[str, str]
    captions: dict[str, str]
    evaluation: dict[str, Any]
    sigma_scale: float
    threshold: float | None
    kind: str = "keras"  # the model kind that serves it: "keras", or "lightgbm" (trees, blend)
    served: Mapping[str, str] = field(default_factory=dict)  # the served model's artifacts
    served_spec: Mapping[str, Any] = field(default_factory=lambda: {"uncertainty": "last_column"})
    importance: np.ndarray | None = None  # mean |SHAP| per feature (tree families), else None
    model_bytes: bytes = b""  # the served ``model`` artifact, for a recipe's own checks

    @property
    def artifacts(self) -> dict[str, str]:
        return {"model": self.model, **self.served, **self.plots}

    def spec(
        self,
        *,
        input_type: str,
        featurizer: dict[str, Any],
        outputs: list[dict[str, Any]],
        annotators: list[dict[str, Any]] | None = None,
        evaluation: Mapping[str, Any] | None = None,
        **more: Any,
    ) -> dict[str, Any]:
        """The version's spec for its model kind (:attr:`kind`): the recipe's input type,
        featurizer and outputs, how the uncertainty is served, the plots, ``more`` (an
        example), the annotators and the evaluation text (``evaluation`` adds the recipe's own
        entries)."""
        return {
            "input_type": input_type,
            "featurizer": featurizer,
            "outputs": outputs,
            **self.served_spec,
            "plots": self.captions,
            **more,
            "annotators": annotators or [],
            "evaluation": {**self.evaluation, **(evaluation or {})},
        }


def learn(ctx: RecipeContext, x: np.ndarray, y: np.ndarray, ev: Evaluation) -> Learned:
    """Train, evaluate and store an ensemble on features ``x`` (n, n_features) float32 and
    targets ``y`` (n,) float32 (0/1 labels for a classifier), as the module docstring says.
    ``ctx.params`` holds :class:`~hub.learning.ensemble.EnsembleParams`' fields,
    ``n_splits`` and ``seed``; progress goes to ``ctx.progress``."""
    if ev.task not in TASKS or ev.calibrate_on not in CALIBRATE_ON or ev.serve not in SERVE:
        raise ValueError(f"task {TASKS}, calibrate_on {CALIBRATE_ON}, serve {SERVE}: {ev}")
    p = ctx.params
    seed, n_splits = int(p["seed"]), int(p["n_splits"])
    if n_splits < 1 or len(y) < 10 or (ev.serve == "split" and n_splits != 1):
        raise InvalidRequest(
            f"training needs n_splits >= 1 (exactly 1 when the split's model is served) and at "
            f"least 10 rows (n_splits {n_splits}, {len(y)} rows)",
            code="invalid_params",
        )
    family = families.Family(
        str(p.get("family", "mlp")), x, y, p,
        classification=ev.classification, active_columns=ev.active_columns,
    )  # fmt: skip
    headline = ev.headline or ("roc_auc" if ev.classification else "rmse")
    score = metrics.classification_metrics if ev.classification else metrics.regression_metrics
    groups = list(ev.held_out()) if ev.held_out is not None else []
    fits = n_splits * (1 + len(ev.learning_curve)) + len(groups) + (ev.serve == "final")
    step, seeds = 0, itertools.count(seed)

    def fit(i_tr: np.ndarray, i_va: np.ndarray, fit_seed: int, label: str) -> Any:
        nonlocal step
        ctx.progress(step / fits, f"training {label}")
        step += 1
        return family.fit(i_tr, i_va, fit_seed)

    def predict(model: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = family.predict(model, rows)
        return (np.clip(mean, 0, ev.upper) if ev.upper is not None else mean), std

    per_split: list[dict[str, float]] = []
    curve: dict[int, list[dict[str, float]]] = {}
    held: dict[str, list[np.ndarray]] = {}
    for s in range(n_splits):
        i_tr, i_va, i_te = ev.random_split(len(y), seed + s)
        for n in (n for n in ev.learning_curve if n < len(i_tr)):  # a prefix: a random subset
            label = f"split {s + 1} on {n} {ev.items}"
            curve.setdefault(n, []).append(
                score(y[i_te], predict(fit(i_tr[:n], i_va, next(seeds), label), i_te)[0])
            )
        model = fit(i_tr, i_va, next(seeds), f"split {s + 1}")
        mean, std = predict(model, i_te)
        per_split.append(score(y[i_te], mean))
        if ev.learning_curve:
            curve.setdefault(len(i_tr), []).append(per_split[-1])
        sim = ev.domain.similarity(i_te, i_tr) if ev.domain else np.zeros(len(i_te))
        parts = {"y": y[i_te], "mean": mean, "std": std, "sim": sim}
        if ev.calibrate_on == "validation":
            parts |= dict(zip(("val_mean", "val_std"), predict(model, i_va), strict=True))
            parts["val_y"] = y[i_va]
        for key, val in parts.items():
            held.setdefault(key, []).append(val)
    cat = {k: np.concatenate(v) for k, v in held.items()}
    y_h, mean_h, std_h, sim_h = cat["y"], cat["mean"], cat["std"], cat["sim"]
    on = "val_" if ev.calibrate_on == "validation" else ""
    scale = metrics.fit_sigma_scale(cat[on + "y"], cat[on + "mean"], cat[on + "std"])
    name = ev.random_name
    n_h = len(y_h)  # held-out predictions over all random splits
    per_test = round(n_h / n_splits)
    found = _first(metrics.aggregate(per_split, name, per_test), headline)
    found += [
        Metric(k, v, name, n_samples=n_h)
        for k, v in metrics.calibration_metrics(y_h, mean_h, std_h * scale).items()
    ]
    found.append(
        Metric("sigma_scale", scale, "validation" if on else name, n_samples=len(cat[on + "y"]))
    )
    threshold = None
    if ev.domain is not None:
        threshold = float(np.quantile(sim_h, ev.domain.quantile))
        found.append(Metric("ad_threshold", threshold, name, n_samples=n_h))
        found += metrics.domain_metrics(
            sim_h, y_h, mean_h, threshold, name, classification=ev.classification
        )
    curve_mean = {n: float(np.mean([d[headline] for d in curve[n]])) for n in sorted(curve)}
    for n in curve_mean:
        scores = [{f"{headline}_n{n}": d[headline]} for d in curve[n]]
        found += metrics.aggregate(scores, "learning_curve", per_test)
    found += _held_out_metrics(groups, fit, predict, score, y, ev, threshold, headline)

    if ev.serve == "split":
        final, fitted_on = model, i_tr
    else:
        order = np.random.default_rng(seed + 1000).permutation(len(y))
        n_val = max(1, len(y) // 10)
        final = fit(order[n_val:], order[:n_val], seed + 1000, "final model")
        fitted_on = order[n_val:]
    stored = family.store(final, scale, ev.upper, ctx.workdir, ctx.put_artifact)
    importance = families.tree_shap_importance(final, x[fitted_on], seed=seed)
    top = next(m for m in found if m.name == headline and m.split == name)
    label = LABELS.get(headline, headline)
    text = f"{label} {top.value:.3f}" + (f" ± {top.std:.3f}" if n_splits > 1 else "")
    held_out = (
        f"test sets of {n_splits} {ev.random_kind} splits"
        if n_splits > 1
        else f"the test set of one {ev.random_kind} split"
    )
    if ev.classification:
        shown, captions = plots.classification_plots(
            ctx.put_artifact, y_h, mean_h, quantity=ev.quantity, metric_text=text,
            held_out=held_out,
        )  # fmt: skip
    else:
        shown, captions = plots.holdout_plots(
            ctx.put_artifact, y_h, mean_h, std_h * scale, quantity=ev.quantity, unit=ev.unit,
            metric_text=text, held_out=held_out,
        )  # fmt: skip
    if curve_mean:
        shown["plot_learning_curve"], captions["plot_learning_curve"] = plots.learning_curve(
            ctx.put_artifact, curve_mean, metric=label, unit=ev.unit, items=ev.items,
            held_out=held_out,
        )  # fmt: skip
    if importance is not None and ev.feature_names is not None:
        top_k = [k for k in np.argsort(-importance)[:15] if importance[k] > 0]
        svg = plots.importance_svg(
            [ev.feature_names[k] for k in top_k],
            [float(importance[k]) for k in top_k],
            title="global importance: mean |SHAP value| of the trees",
        )
        shown["plot_importance"] = ctx.put_artifact(svg)
        captions["plot_importance"] = (
            f"The features of highest mean |SHAP value| ({ev.unit}) of the tree models over up "
            "to 300 training inputs (shap TreeExplainer)."
        )
    ctx.progress(1.0, "saved")
    evaluation = _evaluation(ev, n_splits, family.describe(), scale, threshold, groups)
    return Learned(
        metrics=tuple(found),
        model=stored.artifacts["model"],
        plots=shown,
        captions=captions,
        evaluation=evaluation | ({"learning_curve": curve_mean} if curve_mean else {}),
        sigma_scale=scale,
        threshold=threshold,
        kind=stored.kind,
        served=stored.artifacts,
        served_spec=stored.spec,
        importance=importance,
        model_bytes=stored.model_bytes,
    )


def _first(found: list[Metric], headline: str) -> list[Metric]:
    """The headline metric first (a stable sort: the others keep their order)."""
    return sorted(found, key=lambda m: m.name != headline)


def _held_out_metrics(
    groups: Sequence[HeldOut],
    fit: Callable[[np.ndarray, np.ndarray, int, str], Any],
    predict: Callable[[Any, np.ndarray], tuple[np.ndarray, np.ndarray]],
    score: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    y: np.ndarray,
    ev: Evaluation,
    threshold: float | None,
    headline: str,
) -> list[Metric]:
    """The group splits' metrics: one model per :class:`HeldOut`, the ones of one name
    aggregated (mean and spread over their seeds, ``n`` of them), with the domain's error
    inside and outside on all their test rows together."""
    by_name: dict[str, list[HeldOut]] = {}
    for g in groups:
        by_name.setdefault(g.name, []).append(g)
    found: list[Metric] = []
    for name, same in by_name.items():
        scores, parts = [], {"y": [], "mean": [], "sim": []}
        for g in same:
            mean, _ = predict(fit(g.train, g.val, g.seed, g.label or f"{g.name} split"), g.test)
            scores.append(score(y[g.test], mean))
            parts["y"].append(y[g.test])
            parts["mean"].append(mean)
            if ev.domain is not None:
                parts["sim"].append(ev.domain.similarity(g.test, g.train))
        n_test = round(sum(len(g.test) for g in same) / len(same))
        found += _first(metrics.aggregate(scores, name, n_test), headline)
        if ev.domain is not None and threshold is not None:
            y_g, mean_g, sim_g = (np.concatenate(parts[k]) for k in ("y", "mean", "sim"))
            found += metrics.domain_metrics(
                sim_g, y_g, mean_g, threshold, name, classification=ev.classification
            )
    return found


def _evaluation(
    ev: Evaluation,
    n_splits: int,
    members: str,
    scale: float,
    threshold: float | None,
    groups: Sequence[HeldOut],
) -> dict[str, Any]:
    """The card's text about how the figures were measured."""
    error = "errors of the probability" if ev.classification else "errors"
    if ev.calibrate_on == "validation":
        error = f"validation {error}"
    out: dict[str, Any] = {ev.random_name: f"{n_splits} {ev.random_description}"}
    out |= {k: (text if groups else None) for k, text in ev.held_out_text.items()}
    out["uncertainty"] = (
        f"spread of {members} x {scale:.3f}, fitted so 68 % of held-out {error} fall inside 1 sigma"
    )
    if ev.domain is not None and threshold is not None:
        pct = f"{ev.domain.quantile * 100:g}th percentile"
        out["applicability_domain"] = (
            f"{ev.domain.method} >= {threshold:.3f}, the {pct} of "
            f"held-out {ev.domain.items}' similarity on the random splits"
        )
    return out
