"""Keras MLP ensembles: the members trained together as parallel branches of one model.

One ``fit`` for all members instead of one per member (the per-step overhead of Keras dominates
for networks this small). Each branch is an MLP with its own initialisation and dropout on
shared standardised inputs.

- Regression: the target's scaling is built in (``Rescaling``), so the model maps raw features
  (n, n_features) to the property in its unit, one column per member (n, members).
- Classification: each member ends in a sigmoid, trained with binary cross-entropy on 0/1
  labels; its column is the member's probability of class 1.

For serving, :func:`with_uncertainty` appends :class:`hub.runtime.keras_layers.
EnsembleMeanStd`: column 0 is the members' mean, column 1 the calibrated spread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import hub.keras_env  # noqa: F401 - before Keras


@dataclass(frozen=True)
class EnsembleParams:
    """The network and its training: an optional shared ``trunk`` layer (0: none), then
    ``members`` branches of ``hidden`` widths (``activation``), ``dropout`` after each; AdamW
    (``learning_rate``, ``weight_decay``; None: Adam), constant or ``"cosine"``-decaying
    learning rate (``schedule``); early stopping after ``patience`` epochs without a better
    validation ``loss`` (at most ``epochs``). Feature columns whose training variance is
    under ``var_floor`` keep unit scale."""

    hidden: tuple[int, ...] = (512, 128)
    dropout: float = 0.1
    learning_rate: float = 1e-3
    weight_decay: float | None = 1e-4
    epochs: int = 300
    patience: int = 25
    batch_size: int = 64
    members: int = 5
    trunk: int = 0
    activation: str = "relu"
    loss: str = "mse"  # of a regression ("mae": the median); classification: cross-entropy
    schedule: str = "constant"
    var_floor: float = 1e-2

    @classmethod
    def from_params(cls, p: Mapping[str, Any]) -> EnsembleParams:
        """From a recipe's parameters: the keys ``hidden``, ``learning_rate``, ``epochs``,
        ``patience``, ``batch_size``, ``members``, and any of ``dropout``, ``weight_decay``
        (None: Adam), ``trunk``, ``activation``, ``loss``, ``schedule``, ``var_floor``
        (the others keep their defaults)."""
        d = cls()
        decay = p.get("weight_decay", d.weight_decay)
        return cls(
            hidden=tuple(int(h) for h in p["hidden"]),
            dropout=float(p.get("dropout", d.dropout)),
            learning_rate=float(p["learning_rate"]),
            weight_decay=None if decay is None else float(decay),
            epochs=int(p["epochs"]),
            patience=int(p["patience"]),
            batch_size=int(p["batch_size"]),
            members=int(p["members"]),
            trunk=int(p.get("trunk", d.trunk)),
            activation=str(p.get("activation", d.activation)),
            loss=str(p.get("loss", d.loss)),
            schedule=str(p.get("schedule", d.schedule)),
            var_floor=float(p.get("var_floor", d.var_floor)),
        )


def fit_ensemble(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    p: EnsembleParams,
    seed: int,
    *,
    active_columns: bool = False,
    classification: bool = False,
    on_epoch: Callable[[int, Any], None] | None = None,
) -> Any:
    """A Keras model with output (batch, members), trained with early stopping on the
    validation set (best weights kept); ``x`` float32 (n, n_features), ``y`` (n,) in the
    property's unit (0/1 labels with ``classification``); ``on_epoch(epoch, logs)`` is called
    after each epoch (progress).

    With ``active_columns``, the model first keeps only the feature columns set in some
    training row (:class:`~hub.runtime.keras_layers.SelectColumns`): the same model for inputs
    like the training data, much cheaper for sparse fingerprints."""
    import keras

    from hub.runtime.keras_layers import SelectColumns

    keras.utils.set_random_seed(seed)
    n_features = x_train.shape[1]
    keep = np.flatnonzero(np.abs(x_train).sum(0) > 0) if active_columns else None
    if keep is not None:
        x_train, x_val = x_train[:, keep], x_val[:, keep]
    # Columns (almost) constant in training, e.g. fingerprint bits never set, keep unit scale:
    # dividing by a tiny variance would blow up any molecule that does set them.
    mu, var = x_train.mean(0), x_train.var(0)
    var = np.where(var < p.var_floor, 1.0, var)
    inp = keras.Input((x_train.shape[1],), dtype="float32")
    shared = keras.layers.Normalization(mean=mu, variance=var)(inp)
    if p.trunk:
        shared = keras.layers.Dense(p.trunk, activation=p.activation, name="trunk")(shared)
    outs = []
    for k in range(p.members):
        h = shared
        for width in p.hidden:
            h = keras.layers.Dense(width, activation=p.activation)(h)
            if p.dropout:
                h = keras.layers.Dropout(p.dropout, seed=seed * 1000 + k)(h)
        outs.append(keras.layers.Dense(1, activation="sigmoid" if classification else None)(h))
    z = keras.layers.Concatenate()(outs) if len(outs) > 1 else outs[0]
    if classification:
        model = keras.Model(inp, z)
    else:
        y_mu, y_sd = float(y_train.mean()), float(y_train.std() or 1.0)
        model = keras.Model(inp, keras.layers.Rescaling(scale=y_sd, offset=y_mu)(z))
    rate: Any = p.learning_rate
    if p.schedule == "cosine":
        steps = p.epochs * int(np.ceil(len(x_train) / p.batch_size))
        rate = keras.optimizers.schedules.CosineDecay(p.learning_rate, decay_steps=steps)
    optimizer = (
        keras.optimizers.Adam(rate)
        if p.weight_decay is None
        else keras.optimizers.AdamW(rate, weight_decay=p.weight_decay)
    )
    model.compile(optimizer=optimizer, loss="binary_crossentropy" if classification else p.loss)
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(patience=p.patience, restore_best_weights=True)
    ]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch))
    tile = (1, p.members)
    model.fit(
        x_train,
        np.tile(y_train[:, None], tile).astype(np.float32, copy=False),
        validation_data=(x_val, np.tile(y_val[:, None], tile).astype(np.float32, copy=False)),
        epochs=p.epochs,
        batch_size=p.batch_size,
        callbacks=callbacks,
        verbose=0,
        shuffle=True,
    )
    if keep is None:
        return model
    full = keras.Input((n_features,), dtype="float32")
    return keras.Model(full, model(SelectColumns(keep.tolist())(full)))


def with_uncertainty(model: Any, sigma_scale: float = 1.0, upper: float | None = None) -> Any:
    """The serving model: input features, output (mean, sigma_scale * std over members),
    shape (n, 2). With ``upper``, each member's prediction is first clipped to [0, upper]
    (a yield in %)."""
    import keras

    from hub.runtime.keras_layers import EnsembleMeanStd

    members = model.outputs[0]
    if upper is not None:
        members = keras.layers.ReLU(max_value=upper)(members)
    return keras.Model(model.inputs[0], EnsembleMeanStd(scale=sigma_scale)(members))


def predict_members(model: Any, x: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the members of ``x`` (n, n_features), each (n,),
    computed ``batch`` rows at a time."""
    x = x.astype(np.float32, copy=False)
    out = np.concatenate(
        [np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)]
    )
    return out.mean(1), out.std(1)
