"""Ensemble training: the active-column model is safe_mode-loadable and ignores unused bits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hub.learning import ensemble


def test_active_columns_model_round_trips_in_safe_mode(tmp_path: Path) -> None:
    import keras

    import hub.runtime.keras_layers  # noqa: F401 - registers the hub's layers

    rng = np.random.default_rng(0)
    x = np.zeros((200, 64), np.float32)
    x[:, :5] = rng.normal(size=(200, 5))  # only 5 of 64 columns are ever set
    y = (x[:, 0] * 2 + x[:, 1]).astype(np.float32)
    p = ensemble.EnsembleParams(hidden=(16,), epochs=5, patience=2, members=2, dropout=0.0)
    model = ensemble.fit_ensemble(x[:150], y[:150], x[150:], y[150:], p, 0, active_columns=True)
    served = ensemble.with_uncertainty(model, 1.5)
    path = tmp_path / "m.keras"
    served.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    assert loaded.input_shape == (None, 64) and loaded.output_shape == (None, 2)
    np.testing.assert_allclose(loaded(x[150:]), served(x[150:]), rtol=1e-5, atol=1e-5)
    # a bit never set in training changes nothing: the model does not read it
    probe = x[150:].copy()
    probe[:, 40] = 7.0
    np.testing.assert_allclose(loaded(probe), loaded(x[150:]), rtol=1e-6, atol=1e-6)
    assert loaded.get_layer(index=1).get_config()["indices"] == [0, 1, 2, 3, 4]
