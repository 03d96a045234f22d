"""Publishing into the local catalog: ``hub publish`` (no server), ``hub.publish`` for a
classifier (ROC-AUC, accuracy, Brier, calibration and the reliability curve) and for an
ensemble with its own uncertainty column (the hub's ``EnsembleMeanStd`` layer), and the typed
refusal in Python. Each call makes a new immutable version and moves ``latest``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hub
from hub.config import Settings, sqlite_url
from hub.publishing import ModelRefused, featurize
from tests.publishing.publish_support import FEATURIZER, PARAMS, Trained, artifact_files, esol_rows


@pytest.fixture
def runtime(tmp_path: Path):  # noqa: ANN201
    from hub.runtime import Runtime

    rt = Runtime(
        Settings(
            database_url=sqlite_url(tmp_path / "registry.db"), artifacts_dir=tmp_path / "artifacts"
        )
    )
    yield rt
    rt.store.close()


def test_hub_publish_on_the_command_line(trained: Trained, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from hub.cli import app

    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    model, evaluation = tmp_path / "esol.keras", tmp_path / "esol_eval.csv"
    model.write_bytes(trained.model)
    evaluation.write_bytes(trained.evaluation)
    args = [
        "publish", "team.esol", str(model), "--input-type", "smiles", "--featurizer", FEATURIZER,
        "--featurizer-params", json.dumps(PARAMS), "--output", "logS:log10(mol/L)",
        "--evaluation", str(evaluation), "--title", "ESOL (CLI)", "--tag", "solubility",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "registered team.esol:1" in result.output and "rmse" in result.output
    # a refused upload: a typed error, exit status 1, nothing more registered
    model.write_bytes(trained.model[:500])
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "truncated_archive" in result.output
    from hub.catalog import CatalogStore

    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    try:
        assert [v.version for v in store.list_versions("team.esol")] == [1]
        info = store.get_model("team.esol")
        assert (info.title, info.tags, info.visibility, info.owner) == (
            "ESOL (CLI)", ("solubility",), "private", "hub"
        )  # fmt: skip
    finally:
        store.close()


def _esol_features(n: int = 360) -> tuple[np.ndarray, np.ndarray, list[str]]:
    smiles, y = esol_rows()
    order = np.random.default_rng(1).permutation(len(smiles))[:n]
    chosen = [smiles[i] for i in order]
    x, kept = featurize(
        chosen, input_type="smiles", featurizer=FEATURIZER, featurizer_params=PARAMS
    )
    return x, y[order][kept], [chosen[i] for i in kept]


def _csv(smiles: list[str], column: str, values: np.ndarray) -> bytes:
    rows = ["smiles," + column] + [f"{s},{v:.4f}" for s, v in zip(smiles, values, strict=True)]
    return "\n".join(rows).encode()


def test_a_classifier_gets_classification_metrics(runtime, tmp_path: Path) -> None:  # noqa: ANN001
    import keras

    x, y, smiles = _esol_features()
    labels = (y > -3.0).astype(np.float32)  # soluble or not
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((x.shape[1],)), keras.layers.Dense(16, activation="relu"),
         keras.layers.Dense(1, activation="sigmoid")]
    )  # fmt: skip
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x[:260], labels[:260], epochs=30, verbose=0)
    model.save(tmp_path / "soluble.keras")
    done = hub.publish(
        "team.soluble", tmp_path / "soluble.keras", input_type="smiles", featurizer=FEATURIZER,
        featurizer_params=PARAMS, outputs=[{"name": "soluble", "unit": "probability"}],
        task="property-classification", evaluation=_csv(smiles[260:], "soluble", labels[260:]),
        runtime=runtime,
    )  # fmt: skip
    got = {m.name: m for m in done.version.metrics}
    assert {"roc_auc", "accuracy", "brier", "calibration_error"} <= set(got)
    assert got["roc_auc"].value > 0.7 and got["roc_auc"].n_samples == len(smiles) - 260
    assert "plot_reliability" in done.version.artifacts
    assert runtime.store.get_model("team.soluble").task == "property-classification"
    out = runtime.predict("team.soluble", ["CCO"], {}).outputs[0]
    assert 0.0 <= out["value"] <= 1.0 and out["unit"] == "probability"


def test_an_ensemble_with_its_uncertainty_and_a_second_version(
    runtime,
    trained: Trained,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    import keras

    from hub.sdk.keras import EnsembleMeanStd

    x, y, smiles = _esol_features()
    keras.utils.set_random_seed(0)
    inp = keras.Input((x.shape[1],))
    members = [
        keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(inp)) for _ in range(3)
    ]
    out = EnsembleMeanStd(scale=1.0)(keras.layers.Concatenate()(members))
    model = keras.Model(inp, out)
    train = keras.Model(inp, keras.layers.Concatenate()(members))
    train.compile(optimizer="adam", loss="mse")
    train.fit(x[:260], np.repeat(y[:260, None], 3, axis=1), epochs=30, verbose=0)
    model.save(tmp_path / "ensemble.keras")
    evaluation = _csv(smiles[260:], "logS", y[260:])
    common = dict(
        input_type="smiles", featurizer=FEATURIZER, featurizer_params=PARAMS,
        outputs=["logS:log10(mol/L)"], evaluation=evaluation, runtime=runtime,
    )  # fmt: skip
    first = hub.publish("team.ensemble", trained.model, **common)
    second = hub.publish(
        "team.ensemble", tmp_path / "ensemble.keras", uncertainty="last_column",
        training_inputs="\n".join(smiles[:260]).encode(), **common,
    )  # fmt: skip
    assert (first.version.version, second.version.version) == (1, 2)
    assert runtime.store.resolve("team.ensemble").version == 2
    got = {m.name: m.value for m in second.version.metrics}
    assert 0.0 <= got["within_1sigma"] <= 1.0 and got["sigma_mean"] > 0
    assert second.report["sandbox"]["layers"][-1] == "EnsembleMeanStd"
    assert {"plot_parity", "plot_uncertainty", "training_smiles"} <= set(second.version.artifacts)
    pred = runtime.predict("team.ensemble", ["CCO"], {}).outputs[0]
    assert pred["uncertainty"] > 0 and isinstance(pred["in_domain"], bool)

    before = artifact_files(tmp_path)
    with pytest.raises(ModelRefused) as info:  # outputs one column, the manifest two
        hub.publish("team.ensemble", trained.model, uncertainty="last_column", **common)
    assert info.value.code == "output_count_mismatch"
    assert artifact_files(tmp_path) == before
    assert [v.version for v in runtime.store.list_versions("team.ensemble")] == [1, 2]
