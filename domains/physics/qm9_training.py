"""Keras ensembles for QM9 properties on pooled SOAP vectors.

The served network maps raw descriptor vectors (n, n_features) float32 to (n, 2): the ensemble
mean in the property's unit and the calibrated spread. Inside it, in order:

1. ``Normalization`` with the training set's mean and variance;
2. a shared ``Dense`` trunk (``trunk`` units, SiLU; 0 for none): the first layer dominates the
   cost on descriptors of a few thousand columns, so the members share it;
3. ``members`` MLP heads (SiLU), trained together as parallel branches of one model on the same
   target, each with its own initialisation;
4. ``Rescaling`` back to the property's unit, then :class:`hub.sdk.keras.
   EnsembleMeanStd`. Every layer is a stock or hub-registered one, so the artifact loads with
   ``safe_mode=True`` in the hub's ``keras`` model kind.

The spread of heads on a shared trunk underestimates the error; it is scaled on validation
data (:func:`sigma_scale`) before it is served.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class NetParams:
    trunk: int = 256
    hidden: tuple[int, ...] = (512, 256)
    members: int = 4
    learning_rate: float = 1e-3
    epochs: int = 60
    patience: int = 12
    batch_size: int = 128
    loss: str = "mae"

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> NetParams:
        return cls(
            trunk=int(p["trunk"]),
            hidden=tuple(int(h) for h in p["hidden"]),
            members=int(p["members"]),
            learning_rate=float(p["learning_rate"]),
            epochs=int(p["epochs"]),
            patience=int(p["patience"]),
            batch_size=int(p["batch_size"]),
            loss=str(p["loss"]),
        )


def fit_ensemble(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    p: NetParams,
    seed: int,
    on_epoch: Any = None,
) -> Any:
    """A Keras model (n, n_features) -> (n, members), trained with early stopping on the
    validation set (best weights kept). ``y`` in the property's unit, shape (n,)."""
    import keras

    keras.utils.set_random_seed(seed)
    mu = x_train.mean(0)
    var = x_train.var(0)
    var = np.where(var < 1e-8, 1.0, var)  # a constant column (an element never present) stays 0
    y_mu, y_sd = float(y_train.mean()), float(y_train.std() or 1.0)

    inp = keras.Input((x_train.shape[1],), dtype="float32")
    h0 = keras.layers.Normalization(mean=mu, variance=var)(inp)
    if p.trunk:
        h0 = keras.layers.Dense(p.trunk, activation="silu", name="trunk")(h0)
    outs = []
    for _ in range(p.members):
        h = h0
        for width in p.hidden:
            h = keras.layers.Dense(width, activation="silu")(h)
        outs.append(keras.layers.Dense(1)(h))
    z = keras.layers.Concatenate()(outs) if len(outs) > 1 else outs[0]
    model = keras.Model(inp, keras.layers.Rescaling(scale=y_sd, offset=y_mu)(z))
    steps = p.epochs * int(np.ceil(len(x_train) / p.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(p.learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=p.loss)
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(patience=p.patience, restore_best_weights=True)
    ]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch))
    tile = (1, p.members)
    model.fit(
        x_train,
        np.tile(y_train[:, None], tile).astype(np.float32),
        validation_data=(x_val, np.tile(y_val[:, None], tile).astype(np.float32)),
        epochs=p.epochs,
        batch_size=p.batch_size,
        callbacks=callbacks,
        verbose=0,
        shuffle=True,
    )
    return model


def predict_members(model: Any, x: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the members, each shape (n,)."""
    out = np.concatenate(
        [np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)]
    )
    return out.mean(1), out.std(1)


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE (the unit of ``y``) and R2 of predictions ``pred`` (n,) against ``y`` (n,)."""
    err = pred - y
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": 1.0 - float((err**2).sum()) / ss_tot,
    }


def sigma_scale(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """The factor putting 68.3 % of the errors inside one scaled sigma."""
    ratio = np.abs(mean - y) / np.maximum(std, 1e-9)
    return float(np.quantile(ratio, 0.683)) if len(ratio) else 1.0


def serving_model(model: Any, scale: float) -> Any:
    """Input descriptors, output (mean, scale x member spread), shape (n, 2)."""
    import keras

    from hub.sdk.keras import EnsembleMeanStd

    return keras.Model(model.inputs[0], EnsembleMeanStd(scale=scale)(model.outputs[0]))
