"""Trees on a ridge (``tree_init: "ridge"``): the boosters fit the ridge's residuals, the
stored JSON (no pickle) predicts what the in-memory model does, the linear part extrapolates,
and the SHAP values (trees + the ridge's linear terms) still sum to the prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hub.learning.ridge import Ridge
from hub.learning.trees import TreeParams, fit_trees, load_trees

PARAMS = TreeParams(members=2, rounds=150, stop=20, learning_rate=0.1, init="ridge")


def _data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A linear trend plus a step, with one constant column (float32 like a featurizer's)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    x[:, 5] = 1.0
    y = 2.0 * x[:, 0] - x[:, 1] + 0.8 * (x[:, 2] > 0) + 0.05 * rng.normal(size=n)
    return x, y.astype(np.float32)


@pytest.fixture(scope="module")
def fitted() -> tuple[object, np.ndarray, np.ndarray]:
    x, y = _data()
    model = fit_trees(x[:240], y[:240], x[240:], y[240:], PARAMS, seed=3)
    return model, x, y


def test_the_stored_json_predicts_like_the_model_in_memory(fitted: tuple) -> None:
    model, x, _ = fitted
    data = model.to_json()
    doc = json.loads(data)  # plain JSON: LightGBM text models and the ridge's numbers
    assert doc["init"]["kind"] == "ridge" and len(doc["init"]["coef"]) == x.shape[1]
    loaded = load_trees(data)
    assert isinstance(loaded.init, Ridge)
    np.testing.assert_allclose(loaded.members(x), model.members(x), rtol=0, atol=1e-6)
    mean, std = loaded.predict(x)
    mean0, std0 = model.predict(x)
    np.testing.assert_allclose(mean, mean0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(std, std0, rtol=0, atol=1e-6)


def test_the_ridge_is_fitted_and_the_trees_add_to_it(fitted: tuple) -> None:
    model, x, y = fitted
    ridge = model.init
    assert ridge.coef[5] == pytest.approx(0.0, abs=1e-9)  # a constant column counts for nothing
    assert ridge.alpha > 0
    trees_only = np.stack([b.predict(x.astype(np.float64)) for b in model.boosters], axis=1)
    np.testing.assert_allclose(
        model.members(x), trees_only + ridge.predict(x)[:, None], rtol=0, atol=1e-9
    )
    rmse = lambda p: float(np.sqrt(np.mean((p - y[240:]) ** 2)))  # noqa: E731
    # the boosters learn the step the ridge cannot: together better than the ridge alone
    assert rmse(model.predict(x[240:])[0]) < 0.8 * rmse(ridge.predict(x[240:]))
    # far outside the training range the linear part carries on where trees alone stay flat
    far = np.zeros((1, 6), np.float32)
    far[0, 0], far[0, 5] = 10.0, 1.0
    assert model.predict(far)[0][0] > float(y.max()) + 5


def test_shap_values_of_trees_and_ridge_sum_to_the_prediction(fitted: tuple) -> None:
    import shap

    model, x, _ = fitted
    row = np.asarray(x[:1], np.float64)
    trees_part = [np.asarray(shap.TreeExplainer(b).shap_values(row))[0] for b in model.boosters]
    base = float(np.mean([shap.TreeExplainer(b).expected_value for b in model.boosters]))
    linear, intercept = model.init.shap_values(row)
    total = base + intercept + float(np.mean(trees_part, axis=0).sum() + linear.sum())
    assert total == pytest.approx(float(model.predict(x[:1])[0][0]), abs=1e-6)


def test_ridge_init_is_for_regression_and_a_known_name() -> None:
    x, y = _data(60)
    with pytest.raises(ValueError, match="regression only"):
        fit_trees(x, (y > 0).astype(np.float32), x, (y > 0).astype(np.float32), PARAMS, 0,
                  classification=True)  # fmt: skip
    with pytest.raises(ValueError, match="tree_init"):
        TreeParams.from_params({"tree_init": "lasso"})
    assert TreeParams.from_params({"tree_init": "ridge"}).init == "ridge"
    assert TreeParams.from_params({}).init == "none"
    with pytest.raises(ValueError, match="features"):
        Ridge.from_dict({**_ridge_doc(), "coef": [1.0]}, 2)


def _ridge_doc() -> dict:
    return {"kind": "ridge", "alpha": 1.0, "intercept": 0.0, "mean": [0.0, 0.0],
            "scale": [1.0, 1.0], "coef": [1.0, 2.0]}  # fmt: skip
