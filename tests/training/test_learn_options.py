"""The pipeline's options the QM9 recipes use: a learning curve, the spread calibrated on the
validation part, and the one split's model served (its test figures are its own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hub.errors import InvalidRequest
from hub.learning import metrics
from hub.learning.pipeline import Evaluation, learn
from hub.plugins import RecipeContext

PARAMS = {
    "seed": 3, "n_splits": 1, "hidden": [16], "learning_rate": 1e-2, "epochs": 20,
    "patience": 5, "batch_size": 32, "members": 2, "dropout": 0.0, "weight_decay": None,
    "trunk": 8, "activation": "silu", "loss": "mae", "schedule": "cosine", "var_floor": 1e-8,
}  # fmt: skip


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[90:], order[60:90], order[:60]  # 150 training, 30 validation, 60 test


def context(tmp_path: Path, **params: object) -> tuple[RecipeContext, dict[str, bytes]]:
    stored: dict[str, bytes] = {}

    def put(obj: Path | bytes) -> str:
        data = obj if isinstance(obj, bytes) else Path(obj).read_bytes()
        stored[str(len(stored))] = data
        return str(len(stored) - 1)

    ctx = RecipeContext({**PARAMS, **params}, put, lambda f, m: None, tmp_path)
    return ctx, stored


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 6)).astype(np.float32)
    y = (2 * x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=240)).astype(np.float32)
    return x, y


EVALUATION = Evaluation(
    quantity="y", unit="u", headline="mae", random_split=split, random_name="test",
    learning_curve=(40,), calibrate_on="validation", serve="split", items="rows",
)  # fmt: skip


def test_served_split_model_learning_curve_and_validation_calibration(tmp_path: Path) -> None:
    import keras

    import hub.runtime.keras_layers  # noqa: F401 - registers the hub's layers

    x, y = data()
    ctx, stored = context(tmp_path)
    learned = learn(ctx, x, y, EVALUATION)
    found = {(m.name, m.split): m for m in learned.metrics}
    assert [m.name for m in learned.metrics][:3] == ["mae", "rmse", "r2"]  # the headline first
    assert found["mae", "test"].n == 1 and found["mae", "test"].n_samples == 60
    # the curve ends at the whole training part: the served model itself
    assert found["mae_n150", "learning_curve"].value == found["mae", "test"].value
    assert found["mae_n40", "learning_curve"].value != found["mae", "test"].value
    assert learned.evaluation["learning_curve"] == {
        40: found["mae_n40", "learning_curve"].value,
        150: found["mae", "test"].value,
    }
    assert "plot_learning_curve" in learned.plots
    assert stored[learned.model] == learned.model_bytes

    # the served artifact scores the registered test MAE, and its spread was scaled on the
    # validation rows (so 68.3 % of their errors fall inside one sigma)
    _, i_va, i_te = split(len(y), PARAMS["seed"])
    path = tmp_path / "served.keras"
    path.write_bytes(learned.model_bytes)
    served = keras.saving.load_model(path, compile=False, safe_mode=True)
    test = np.asarray(served(x[i_te]))
    assert metrics.regression_metrics(y[i_te], test[:, 0])["mae"] == pytest.approx(
        found["mae", "test"].value, rel=1e-5
    )
    val = np.asarray(served(x[i_va]))
    scale = found["sigma_scale", "validation"]
    assert scale.n_samples == 30 and scale.value == learned.sigma_scale
    unscaled = val[:, 1] / scale.value
    assert metrics.fit_sigma_scale(y[i_va], val[:, 0], unscaled) == pytest.approx(
        scale.value, rel=1e-4
    )
    assert "validation errors" in learned.evaluation["uncertainty"]


def test_a_served_split_needs_exactly_one_split(tmp_path: Path) -> None:
    x, y = data()
    ctx, _ = context(tmp_path, n_splits=2)
    with pytest.raises(InvalidRequest):
        learn(ctx, x, y, EVALUATION)
