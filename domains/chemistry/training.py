"""Training and evaluation of molecular property regressors: Keras MLP ensembles.

The members of an ensemble are trained together, as parallel branches of one Keras model on
shared standardised inputs (one ``fit`` instead of one per member: the per-step overhead of
Keras dominates for networks this small). Each branch is an MLP with its own initialisation and
dropout; the target's scaling is built in, so the artifact maps raw features to the property
in its unit. For serving, :func:`with_uncertainty` appends
:class:`hub.sdk.keras.EnsembleMeanStd`: column 0 is the mean, column 1 the
calibrated spread, served as the uncertainty.
"""

from __future__ import annotations

import os
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
    patience: int = 25
    batch_size: int = 64
    members: int = 5

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
            members=p["members"],
        )


def fit_ensemble(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    p: MLPParams,
    seed: int,
    *,
    active_columns: bool = False,
) -> Any:
    """A Keras model with output (batch, members), trained with early stopping on the
    validation set (best weights kept). With ``active_columns``, the model first keeps only
    the feature columns set in some training row (:class:`~hub.sdk.keras.
    SelectColumns`): the same model for inputs like the training data, much cheaper for
    sparse fingerprints."""
    import keras

    from hub.sdk.keras import SelectColumns

    keras.utils.set_random_seed(seed)
    n_features = x_train.shape[1]
    keep = np.flatnonzero(np.abs(x_train).sum(0) > 0) if active_columns else None
    if keep is not None:
        x_train, x_val = x_train[:, keep], x_val[:, keep]
    # Columns (almost) constant in training, e.g. fingerprint bits never set, keep unit scale:
    # dividing by a tiny variance would blow up any molecule that does set them.
    mu, var = x_train.mean(0), x_train.var(0)
    var = np.where(var < 1e-2, 1.0, var)
    y_mu, y_sd = float(y_train.mean()), float(y_train.std() or 1.0)
    inp = keras.Input((x_train.shape[1],), dtype="float32")
    norm = keras.layers.Normalization(mean=mu, variance=var)(inp)
    outs = []
    for k in range(p.members):
        h = norm
        for width in p.hidden:
            h = keras.layers.Dense(width, activation="relu")(h)
            if p.dropout:
                h = keras.layers.Dropout(p.dropout, seed=seed * 1000 + k)(h)
        outs.append(keras.layers.Dense(1)(h))
    z = keras.layers.Concatenate()(outs) if len(outs) > 1 else outs[0]
    model = keras.Model(inp, keras.layers.Rescaling(scale=y_sd, offset=y_mu)(z))
    model.compile(
        optimizer=keras.optimizers.AdamW(p.learning_rate, weight_decay=p.weight_decay), loss="mse"
    )
    stop = keras.callbacks.EarlyStopping(patience=p.patience, restore_best_weights=True)
    tile = (1, p.members)
    model.fit(
        x_train,
        np.tile(y_train[:, None], tile),
        validation_data=(x_val, np.tile(y_val[:, None], tile)),
        epochs=p.epochs,
        batch_size=p.batch_size,
        callbacks=[stop],
        verbose=0,
        shuffle=True,
    )
    if keep is None:
        return model
    full = keras.Input((n_features,), dtype="float32")
    return keras.Model(full, model(SelectColumns(keep.tolist())(full)))


def with_uncertainty(model: Any, sigma_scale: float = 1.0, upper: float | None = None) -> Any:
    """The serving model: input features, output (mean, sigma_scale * std over members).
    With ``upper``, each member's prediction is first clipped to [0, upper] (a yield in %)."""
    import keras

    from hub.sdk.keras import EnsembleMeanStd

    members = model.outputs[0]
    if upper is not None:
        members = keras.layers.ReLU(max_value=upper)(members)
    return keras.Model(model.inputs[0], EnsembleMeanStd(scale=sigma_scale)(members))


def predict_members(model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the members, each shape (n,)."""
    out = np.asarray(model(x.astype(np.float32), training=False))
    return out.mean(1), out.std(1)


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
    """How well the (scaled) ensemble spread describes the error on held-out data."""
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


def holdout_plots(
    put_artifact: Any,
    y: np.ndarray,
    mean: np.ndarray,
    sigma: np.ndarray,
    *,
    quantity: str,
    unit: str,
    metric_text: str,
    held_out: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """Parity and error-against-uncertainty plots of held-out predictions, stored as
    artifacts. Returns (role -> sha256, role -> caption) for the version's spec."""
    from hub.sdk.plots import parity_svg, uncertainty_svg

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
