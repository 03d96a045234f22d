"""Gradient-boosted tree ensembles (LightGBM), the second model family of the pipeline.

An ensemble is ``members`` boosters, each trained with its own seed, row bagging and column
sampling, with early stopping on the validation part; its prediction is the members' mean and
its raw uncertainty their spread (scaled by the pipeline like a Keras ensemble's).

With ``tree_init: "ridge"`` (regression only), a ridge regression on the standardised
features (:mod:`hub.learning.ridge`) is fitted on the training part first; the boosters are
trained on its residuals (its predictions as LightGBM's ``init_score``, on the validation part
too) and every member's prediction adds the ridge back.

Stored as JSON (never pickle): ``{"format": "lightgbm-text", "members": [model text, ...],
"n_features": int}`` and with a ridge ``"init": {...}`` (its coefficients as JSON numbers), each
member LightGBM's own text model format. :func:`load_trees` reads it back (the served kind,
:mod:`hub.runtime.lightgbm_kind`, uses it on verified bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hub.learning.ridge import Ridge, fit_ridge

FORMAT = "lightgbm-text"
INITS = ("none", "ridge")


@dataclass(frozen=True)
class TreeParams:
    """LightGBM settings of every member: ``learning_rate``, ``num_leaves``,
    ``min_child_samples``, row ``subsample`` (bagging each round), ``colsample`` (fraction of
    features per tree), L2 ``reg_lambda``; at most ``rounds`` rounds, early stopping after
    ``stop`` rounds without a better validation RMSE (binary log-loss for a classifier)."""

    members: int = 5
    learning_rate: float = 0.03
    num_leaves: int = 31
    min_child_samples: int = 10
    subsample: float = 0.8
    colsample: float = 0.3
    reg_lambda: float = 1.0
    rounds: int = 4000
    stop: int = 200
    threads: int = 1
    init: str = "none"  # "ridge": the boosters fit the residuals of a ridge regression

    @classmethod
    def from_params(cls, p: Mapping[str, Any]) -> TreeParams:
        """From a recipe's parameters: ``tree_members`` (else ``members``) and any of
        ``tree_learning_rate``, ``tree_leaves``, ``tree_min_child``, ``tree_subsample``,
        ``tree_colsample``, ``tree_lambda``, ``tree_rounds``, ``tree_stop``, ``tree_init``
        (``"none"`` or ``"ridge"``)."""
        d = cls()
        init = str(p.get("tree_init") or d.init)
        if init not in INITS:
            raise ValueError(f"tree_init {init!r}: one of {INITS}")
        return cls(
            members=int(p.get("tree_members", p.get("members", d.members))),
            learning_rate=float(p.get("tree_learning_rate", d.learning_rate)),
            num_leaves=int(p.get("tree_leaves", d.num_leaves)),
            min_child_samples=int(p.get("tree_min_child", d.min_child_samples)),
            subsample=float(p.get("tree_subsample", d.subsample)),
            colsample=float(p.get("tree_colsample", d.colsample)),
            reg_lambda=float(p.get("tree_lambda", d.reg_lambda)),
            rounds=int(p.get("tree_rounds", d.rounds)),
            stop=int(p.get("tree_stop", d.stop)),
            init=init,
        )


class TreeEnsemble:
    """LightGBM boosters whose mean is the prediction (probability of class 1 for a
    classifier), each on top of the ridge ``init`` when there is one."""

    def __init__(self, boosters: Sequence[Any], n_features: int, init: Ridge | None = None) -> None:
        self.boosters = list(boosters)
        self.n_features = n_features
        self.init = init

    def members(self, x: np.ndarray) -> np.ndarray:
        """Each member's prediction of ``x`` (n, n_features), the ridge's included:
        shape (n, members)."""
        x = np.asarray(x, np.float64)
        out = np.stack([b.predict(x, num_threads=1) for b in self.boosters], axis=1)
        return out if self.init is None else out + self.init.predict(x)[:, None]

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over the members, each (n,)."""
        m = self.members(x)
        return m.mean(1), m.std(1)

    def to_json(self) -> bytes:
        """The stored form (see the module docstring)."""
        doc: dict[str, Any] = {
            "format": FORMAT,
            "n_features": self.n_features,
            "members": [b.model_to_string() for b in self.boosters],
        }
        if self.init is not None:
            doc["init"] = self.init.to_dict()
        return json.dumps(doc).encode("utf-8")


def load_trees(data: bytes) -> TreeEnsemble:
    """A :class:`TreeEnsemble` from its stored JSON (``ValueError`` when it is not one)."""
    import lightgbm

    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not doc.get("members"):
        raise ValueError(f"not a {FORMAT} tree ensemble")
    boosters = [lightgbm.Booster(model_str=str(m)) for m in doc["members"]]
    n = int(doc["n_features"])
    if any(b.num_feature() != n for b in boosters):
        raise ValueError("the members' feature counts differ from n_features")
    init = Ridge.from_dict(doc["init"], n) if doc.get("init") is not None else None
    return TreeEnsemble(boosters, n, init)


def fit_trees(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    p: TreeParams,
    seed: int,
    *,
    classification: bool = False,
) -> TreeEnsemble:
    """Train the members (seeds ``seed * 100 + k``) with early stopping on the validation
    part; ``x`` float (n, n_features), ``y`` (n,) in the property's unit (0/1 labels). With
    ``p.init == "ridge"`` (not for a classifier: ``ValueError``), first a ridge on the training
    part, whose residuals the members fit."""
    import lightgbm

    if p.init == "ridge" and classification:
        raise ValueError('tree_init "ridge" is for regression only')

    base = {
        "objective": "binary" if classification else "regression",
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "subsample": p.subsample,
        "subsample_freq": 1,
        "colsample_bytree": p.colsample,
        "reg_lambda": p.reg_lambda,
        "num_threads": p.threads,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    x_train = np.asarray(x_train, np.float64)
    x_val = np.asarray(x_val, np.float64)
    init = fit_ridge(x_train, y_train) if p.init == "ridge" else None
    start_train = None if init is None else init.predict(x_train)
    start_val = None if init is None else init.predict(x_val)
    boosters = []
    for k in range(p.members):
        params = {**base, "seed": seed * 100 + k}
        train = lightgbm.Dataset(
            x_train, y_train, init_score=start_train, params={"verbose": -1},
            free_raw_data=False,
        )  # fmt: skip
        val = lightgbm.Dataset(x_val, y_val, init_score=start_val, reference=train)
        booster = lightgbm.train(
            params,
            train,
            p.rounds,
            valid_sets=[val],
            callbacks=[lightgbm.early_stopping(p.stop, verbose=False)],
        )
        # keep only the best iteration's trees in the stored model
        boosters.append(
            lightgbm.Booster(
                model_str=booster.model_to_string(num_iteration=booster.best_iteration)
            )
        )
    return TreeEnsemble(boosters, x_train.shape[1], init)
