"""The model families :func:`hub.learning.pipeline.learn` trains, chosen by ``params["family"]``:

- ``mlp`` (default): a Keras MLP ensemble (:mod:`hub.learning.ensemble`), served by the
  ``keras`` kind.
- ``trees``: a LightGBM ensemble (:mod:`hub.learning.trees`), served by the ``lightgbm`` kind;
  with ``tree_init: "ridge"`` the boosters fit the residuals of a ridge regression
  (:mod:`hub.learning.ridge`) that the prediction adds back (in ``blend`` too).
- ``blend``: both, averaged with weight ``blend_weight`` on the trees; the spread is that of
  the two-family mixture (each family's spread and their disagreement), served by the
  ``lightgbm`` kind with the Keras members as a second artifact.

Each family fits on row indices, predicts (mean, raw spread) and stores its served form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hub.learning import ensemble, trees

FAMILIES = ("mlp", "trees", "blend")


@dataclass(frozen=True)
class Stored:
    """A family's served model: its kind, artifacts (role -> sha256), spec entries and the
    bytes of its ``model`` artifact (for a recipe's checks through the served form)."""

    kind: str
    artifacts: dict[str, str]
    spec: dict[str, Any]
    model_bytes: bytes = b""


@dataclass
class Family:
    """How one family trains, predicts and stores, on the features ``x`` and targets ``y``."""

    name: str
    x: np.ndarray
    y: np.ndarray
    params: Mapping[str, Any]
    classification: bool = False
    active_columns: bool = False

    def __post_init__(self) -> None:
        if self.name not in FAMILIES:
            raise ValueError(f"family {self.name!r}: one of {FAMILIES}")
        self.mlp = ensemble.EnsembleParams.from_params(self.params)
        self.trees = trees.TreeParams.from_params(self.params)
        self.weight = float(self.params.get("blend_weight", 0.5)) if self.name == "blend" else 1.0

    @property
    def members(self) -> int:
        """How many members make the spread."""
        if self.name == "mlp":
            return self.mlp.members
        return self.trees.members + (self.mlp.members if self.name == "blend" else 0)

    def describe(self) -> str:
        """The family for the card's uncertainty text."""
        if self.name == "mlp":
            return f"{self.mlp.members} ensemble members"
        boosters = f"{self.trees.members} LightGBM boosters"
        if self.trees.init == "ridge":
            boosters += " on the residuals of a ridge regression"
        if self.name == "trees":
            return boosters
        return (
            f"{boosters} (weight {self.weight:g}) and "
            f"{self.mlp.members} Keras MLPs (weight {1 - self.weight:g}), mixture spread"
        )

    def fit(self, i_tr: np.ndarray, i_va: np.ndarray, seed: int) -> Any:
        """The family's model(s) trained on rows ``i_tr``, stopped early on ``i_va``."""
        x, y = self.x, self.y
        mlp = tree = None
        if self.name in ("mlp", "blend"):
            mlp = ensemble.fit_ensemble(
                x[i_tr], y[i_tr], x[i_va], y[i_va], self.mlp, seed,
                active_columns=self.active_columns, classification=self.classification,
            )  # fmt: skip
        if self.name in ("trees", "blend"):
            tree = trees.fit_trees(
                x[i_tr], y[i_tr], x[i_va], y[i_va], self.trees, seed,
                classification=self.classification,
            )  # fmt: skip
        return mlp, tree

    def predict(self, model: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and raw spread of rows ``rows``, each (n,)."""
        mlp, tree = model
        parts = []
        if mlp is not None:
            parts.append(ensemble.predict_members(mlp, self.x[rows]))
        if tree is not None:
            parts.append(tree.predict(self.x[rows]))
        if len(parts) == 1:
            return parts[0]
        return mixture(parts[1], parts[0], self.weight)

    def store(
        self,
        model: Any,
        scale: float,
        upper: float | None,
        workdir: Path,
        put: Callable[[Path | bytes], str],
    ) -> Stored:
        """The served form of the final model, its artifacts stored with ``put``."""
        mlp, tree = model
        if self.name == "mlp":
            path = workdir / "model.keras"
            ensemble.with_uncertainty(mlp, scale, upper=upper).save(path)
            served = path.read_bytes()
            return Stored("keras", {"model": put(served)}, {"uncertainty": "last_column"}, served)
        spec: dict[str, Any] = {
            "uncertainty": "member_spread",
            "sigma_scale": scale,
            "upper": upper,
            "trees": {
                "format": trees.FORMAT,
                "members": self.trees.members,
                "init": self.trees.init,
            },
        }
        served = tree.to_json()
        artifacts = {"model": put(served)}
        if mlp is not None:
            path = workdir / "keras_members.keras"
            mlp.save(path)
            artifacts["keras_members"] = put(path)
            spec["blend"] = {"trees_weight": self.weight, "keras_members": self.mlp.members}
        return Stored("lightgbm", artifacts, spec, served)


def mixture(
    trees_part: tuple[np.ndarray, np.ndarray],
    mlp_part: tuple[np.ndarray, np.ndarray],
    weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the two-family mixture: ``weight`` on the trees'
    (mean, std), the rest on the MLPs'."""
    (mt, st), (mm, sm) = trees_part, mlp_part
    mean = weight * mt + (1 - weight) * mm
    var = weight * st**2 + (1 - weight) * sm**2 + weight * (1 - weight) * (mt - mm) ** 2
    return mean, np.sqrt(var)


def tree_shap_importance(model: Any, x: np.ndarray, rows: int = 300, seed: int = 0) -> Any:
    """Mean |SHAP value| per feature of the trees over at most ``rows`` seeded rows of ``x``
    (n_features,), with the ``shap`` library's TreeExplainer (plus the ridge's exact linear
    SHAP values when the trees start from one); None without trees."""
    _, tree = model
    if tree is None:
        return None
    import shap

    pick = np.random.default_rng(seed).permutation(len(x))[:rows]
    sample = np.asarray(x[pick], np.float64)
    linear = 0.0 if tree.init is None else tree.init.shap_values(sample)[0]
    total = np.zeros(x.shape[1])
    for booster in tree.boosters:
        values = np.asarray(shap.TreeExplainer(booster).shap_values(sample)) + linear
        total += np.abs(values).mean(0)
    return total / len(tree.boosters)
