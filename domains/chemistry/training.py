"""Training and evaluation of molecular property regressors (Keras MLP ensembles).

One member is an MLP on standardised features, with the target's scaling built in (so the
artifact maps raw features to the property in its unit). An ensemble joins members with
:class:`hub.runtime.keras_layers.EnsembleMeanStd`: output column 0 is the mean, column 1 the
spread, served as the uncertainty.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class MLPParams:
    hidden: tuple[int, ...] = (512, 128)
    dropout: float = 0.1
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 300
    patience: int = 30
    batch_size: int = 32

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MLPParams:
        return cls(
            hidden=tuple(p["hidden"]),
            dropout=p["dropout"],
            learning_rate=p["learning_rate"],
            weight_decay=p["weight_decay"],
            epochs=p["epochs"],
            patience=p["patience"],
            batch_size=p["batch_size"],
        )


def fit_member(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    p: MLPParams,
    seed: int,
) -> Any:
    """One MLP trained with early stopping on the validation set (best weights kept)."""
    import keras

    keras.utils.set_random_seed(seed)
    mu, var = x_train.mean(0), np.maximum(x_train.var(0), 1e-6)
    y_mu, y_sd = float(y_train.mean()), float(y_train.std() or 1.0)
    inp = keras.Input((x_train.shape[1],), dtype="float32")
    h = keras.layers.Normalization(mean=mu, variance=var)(inp)
    for width in p.hidden:
        h = keras.layers.Dense(width, activation="relu")(h)
        if p.dropout:
            h = keras.layers.Dropout(p.dropout, seed=seed)(h)
    z = keras.layers.Dense(1)(h)
    out = keras.layers.Rescaling(scale=y_sd, offset=y_mu)(z)
    model = keras.Model(inp, out)
    model.compile(
        optimizer=keras.optimizers.AdamW(p.learning_rate, weight_decay=p.weight_decay), loss="mse"
    )
    stop = keras.callbacks.EarlyStopping(patience=p.patience, restore_best_weights=True)
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=p.epochs,
        batch_size=p.batch_size,
        callbacks=[stop],
        verbose=0,
        shuffle=True,
    )
    return model


def ensemble(members: Sequence[Any], sigma_scale: float = 1.0) -> Any:
    """One Keras model: input features, output (mean, sigma_scale * std) over the members."""
    import keras

    from hub.runtime.keras_layers import EnsembleMeanStd

    inp = keras.Input(members[0].inputs[0].shape[1:], dtype="float32")
    outs = [m(inp) for m in members]
    joined = keras.layers.Concatenate()(outs) if len(outs) > 1 else outs[0]
    return keras.Model(inp, EnsembleMeanStd(scale=sigma_scale)(joined))


def predict_array(model: Any, x: np.ndarray) -> np.ndarray:
    """Inference on a whole array in one call (training-time evaluation)."""
    return np.asarray(model(x.astype(np.float32), training=False))


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    err = pred - y
    ss_res = float((err**2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
        "r2": 1.0 - ss_res / ss_tot,
    }


def calibration_metrics(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict[str, float]:
    """How well the ensemble spread describes the error on held-out data."""
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
    """The factor that makes 68.3 % of held-out errors fall inside 1 scaled sigma."""
    ratio = np.abs(mean - y) / np.maximum(std, 1e-9)
    return float(np.quantile(ratio, 0.683)) if len(ratio) else 1.0
