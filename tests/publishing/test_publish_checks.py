"""The pieces of publishing on their own: the static checks of an archive (no database, no
Keras load), the manifest's schema, the hub's metrics, the sandbox's limits, and the Tanimoto
domain's fit."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from hub.errors import InvalidRequest
from hub.publishing import evaluate
from hub.publishing.errors import ModelRefused
from hub.publishing.inspect import (
    KERAS_LAYERS,
    check_config,
    declared_input_width,
    hub_layers,
    inspect_archive,
)
from hub.publishing.manifest import Manifest, parse_manifest
from hub.publishing.sandbox import run_in_sandbox
from tests.publishing.publish_support import Trained, rezip, with_config

MB = 1 << 20


def refused(data: bytes, code: str, **kw: int) -> ModelRefused:
    with pytest.raises(ModelRefused) as info:
        inspect_archive(data, max_unpacked=kw.get("max_unpacked", 64 * MB))
    assert info.value.code == code, info.value.message
    assert isinstance(info.value, InvalidRequest) and info.value.status == 422
    return info.value


def test_a_good_archive_passes(trained: Trained) -> None:
    archive = inspect_archive(trained.model, max_unpacked=64 * MB)
    assert archive.layers == ("InputLayer", "Dense", "Dense")
    assert set(archive.sizes) == {"config.json", "metadata.json", "model.weights.h5"}
    assert declared_input_width(archive.config) == trained.width


@pytest.mark.parametrize(
    ("member", "code"),
    [
        ("/etc/passwd", "unsafe_archive_path"),
        ("..\\..\\evil.txt", "unsafe_archive_path"),
        ("assets/../../x", "unsafe_archive_path"),
        ("C:/x", "unsafe_archive_path"),
        ("weights.npy", "pickle_in_archive"),
        ("model.joblib", "pickle_in_archive"),
        ("assets/vocab.txt", "unexpected_member"),
        ("config.json", "unexpected_member"),  # a second one
    ],
)
def test_members_outside_the_three_are_refused(trained: Trained, member: str, code: str) -> None:
    refused(rezip(trained.model, extra={member: b"{}"}), code)


def test_zip_bombs_and_member_counts_are_refused_from_the_directory(trained: Trained) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        src = zipfile.ZipFile(io.BytesIO(trained.model))
        for name in ("config.json", "metadata.json"):
            zf.writestr(name, src.read(name))
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(40 * MB))  # compresses 1000:1
    bomb = out.getvalue()
    assert len(bomb) < 200_000
    assert refused(bomb, "archive_too_large").detail["member"] == "model.weights.h5"
    refused(bomb, "archive_too_large", max_unpacked=MB)  # over the total, before inflating
    many = rezip(trained.model, extra={f"x{i}": b"" for i in range(20)})
    refused(many, "too_many_members")


def test_files_that_are_not_keras_archives(trained: Trained) -> None:
    refused(b"\x89HDF\r\n\x1a\n" + bytes(100), "h5_not_accepted")
    refused(b"\x80\x04\x95" + bytes(100), "pickle_not_accepted")
    refused(b"GIF89a...", "not_a_keras_file")
    refused(trained.model[:100], "truncated_archive")
    # a CRC that fails: one byte of the weights' compressed data changed
    data = bytearray(trained.model)
    at = data.index(b"model.weights.h5") + 60
    data[at] ^= 0xFF
    with pytest.raises(ModelRefused) as info:
        inspect_archive(bytes(data), max_unpacked=64 * MB)
    assert info.value.code in ("truncated_archive", "not_a_keras_file")
    refused(rezip(trained.model, **{"model.weights.h5": b"\x80\x04junk"}), "pickle_in_archive")
    refused(rezip(trained.model, **{"config.json": b"[1, 2]"}), "invalid_config")


def _layer(config: dict, **changes: object) -> None:
    config["config"]["layers"][1].update(changes)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda c: _layer(c, class_name="Lambda"), "lambda_layer"),
        (lambda c: _layer(c, class_name="TFSMLayer"), "unknown_layer"),
        (lambda c: _layer(c, class_name="TorchModuleWrapper"), "unknown_layer"),
        (lambda c: _layer(c, module="os", class_name="system"), "unknown_layer"),
        (lambda c: _layer(c, registered_name="hub>NotAHubLayer"), "unknown_layer"),
        (lambda c: _layer(c, class_name="function", registered_name="function"), "unsafe_config"),
        (lambda c: c["config"]["layers"][1]["config"].update(
            activation={"class_name": "__lambda__", "config": {"code": "AAAA"}}), "unsafe_config"),
        (lambda c: c["config"].update(safe_mode=False), "unsafe_config"),
        (lambda c: c.update(class_name="Evil"), "invalid_config"),
        (lambda c: c.update(module="evil"), "invalid_config"),
    ],
)  # fmt: skip
def test_configs_that_would_run_code_are_refused(trained: Trained, change, code: str) -> None:  # noqa: ANN001
    refused(with_config(trained.model, change), code)


def test_compile_config_is_not_read_but_code_in_it_is_refused(trained: Trained) -> None:
    def own_loss(config: dict) -> None:
        config["compile_config"] = {
            "loss": {"module": "builtins", "class_name": "function", "config": "my_loss",
                     "registered_name": "function"},
        }  # fmt: skip

    assert inspect_archive(with_config(trained.model, own_loss), max_unpacked=64 * MB)

    def lambda_loss(config: dict) -> None:
        config["compile_config"] = {"loss": {"class_name": "__lambda__", "config": {}}}

    refused(with_config(trained.model, lambda_loss), "unsafe_config")


def test_allowed_layers_exist_in_keras_and_the_hubs_are_registered() -> None:
    import keras

    missing = [n for n in KERAS_LAYERS if not hasattr(keras.layers, n)]
    assert missing == []
    assert not {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"} & KERAS_LAYERS
    assert set(hub_layers()) == {"hub>EnsembleMeanStd", "hub>SelectColumns"}


def test_hub_layers_pass_the_static_check(tmp_path) -> None:  # noqa: ANN001
    import keras

    from hub.sdk.keras import EnsembleMeanStd

    inp = keras.Input((4,))
    out = EnsembleMeanStd(scale=1.5)(keras.layers.Dense(3)(inp))
    keras.Model(inp, out).save(tmp_path / "ens.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "ens.keras").read("config.json"))
    assert check_config(config) == ("InputLayer", "Dense", "hub>EnsembleMeanStd")


# -- the manifest ---------------------------------------------------------------------------
GOOD = {
    "input_type": "smiles",
    "featurizer": "chemistry.rdkit2d_morgan",
    "outputs": [{"name": "pIC50", "unit": "-log10(M)"}],
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": "fine <script>alert(1)</script>"}, "manifest.description"),
        ({"title": "<iframe src=//evil>"}, "manifest.title"),
        ({"title": "x" * 201}, "manifest.title"),
        ({"description": "javascript:alert(1)"}, "manifest.description"),
        ({"tags": ["<b>"]}, "manifest.tags.0"),
        ({"outputs": [{"name": "a", "unit": "<!-- -->"}]}, "manifest.outputs.0.unit"),
        ({"outputs": [{"name": "a"}, {"name": "a"}]}, "manifest.outputs"),
        ({"outputs": []}, "manifest.outputs"),
        ({"metrics": [{"name": "rmse", "value": float("nan")}]}, "manifest.metrics.0"),
        ({"metrics": [{"name": "<x>", "value": 1}]}, "manifest.metrics.0.name"),
        ({"task": "generation"}, "manifest.task"),
        ({"visibility": "everyone"}, "manifest.visibility"),
        ({"featurizer_params": {"x": "y" * 20_000}}, "manifest.featurizer_params"),
        (
            {"outputs": [{"name": "a"}, {"name": "b"}], "uncertainty": "last_column"},
            "manifest.uncertainty",
        ),
        ({"evil": True}, "manifest.evil"),
        ({"description": "bad \udfff"}, "manifest.description"),
        ({"featurizer_params": {"x": "\udfff"}}, "manifest.featurizer_params"),
    ],
)
def test_manifest_fields_are_checked_and_named(change: dict, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_manifest(json.dumps(GOOD | change))
    assert info.value.status == 422 and info.value.code == "invalid_manifest"
    assert info.value.detail["field"] == field, info.value.message


def test_manifest_accepts_plain_comparisons_and_counts_columns() -> None:
    m = parse_manifest(
        GOOD | {"description": "IC50 < 1 uM is potent; 2 <= n", "uncertainty": "last_column"}
    )
    assert isinstance(m, Manifest) and m.n_columns == 2


# -- the hub's metrics ----------------------------------------------------------------------
def test_regression_and_classification_metrics() -> None:
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.5], [2.0], [2.5], [4.0]])
    got = {m.name: m for m in evaluate.regression_metrics(y, p, ["y"])}
    assert got["rmse"].value == pytest.approx(np.sqrt(0.125))
    assert got["mae"].value == pytest.approx(0.25)
    assert got["r2"].value == pytest.approx(1 - 0.5 / 5.0)
    assert all(m.source == "hub" and m.n_samples == 4 and m.n == 1 for m in got.values())
    labels = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    probs = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    got = {m.name: m.value for m in evaluate.classification_metrics(labels, probs)}
    assert got["roc_auc"] == pytest.approx(5 / 6)
    assert got["accuracy"] == pytest.approx(0.6)
    assert got["brier"] == pytest.approx(np.mean((probs - labels) ** 2))
    with pytest.raises(ModelRefused, match="probability"):
        evaluate.classification_metrics(labels, probs * 3)


def test_nan_and_constant_outputs_are_refused() -> None:
    fine = np.array([[1.0], [2.0], [3.0]])
    evaluate.check_outputs(fine, fine[1:])
    with pytest.raises(ModelRefused) as info:
        evaluate.check_outputs(np.array([[1.0], [np.inf]]), None)
    assert info.value.code == "non_finite_outputs"
    with pytest.raises(ModelRefused) as info:
        evaluate.check_outputs(fine, np.array([[2.0, 1.0], [2.0, 3.0]]))
    assert info.value.code == "constant_outputs" and info.value.detail["column"] == 0


def test_evaluation_csv_names_missing_columns() -> None:
    with pytest.raises(InvalidRequest, match="no column 'logS'"):
        evaluate.read_table(b"smiles,y\nCCO,1\n", input_column="smiles", outputs=["logS"])
    t = evaluate.read_table(b"smiles,logS\nCCO,1\nCCC,\n", input_column="smiles", outputs=["logS"])
    assert t.inputs == ["CCO"] and t.skipped == [{"row": 2, "code": "missing_target"}]


# -- the sandbox's limits -------------------------------------------------------------------
def test_the_sandbox_stops_at_its_wall_time(trained: Trained) -> None:
    x = np.zeros((1, trained.width), np.float32)
    with pytest.raises(ModelRefused) as info:
        run_in_sandbox(trained.model, x, timeout_s=0.5, memory_mb=4096)
    assert info.value.code == "load_timeout"


def test_the_sandbox_stops_at_its_memory_limit(trained: Trained) -> None:
    x = np.zeros((1, trained.width), np.float32)
    with pytest.raises(ModelRefused) as info:
        run_in_sandbox(trained.model, x, timeout_s=120, memory_mb=200)
    assert info.value.code == "out_of_memory", info.value.message
    assert "200 MB" in info.value.message


# -- the applicability domain's fit ---------------------------------------------------------
def test_tanimoto_domain_fit_chooses_the_held_out_5th_percentile() -> None:
    from hub.plugins import load_plugins

    plugins = load_plugins()
    parse = plugins.input_type("smiles").parse
    annotator = plugins.annotator(plugins.input_type("smiles").domain_annotator)
    train = [parse(s) for s in ("CCO", "CCCO", "CCCCO", "c1ccccc1O", "c1ccccc1N", "CCO")]
    held = [parse(s) for s in ("CCCCCO", "c1ccccc1C", "C1CCCCC1")]
    params, artifacts = annotator.fit(train, held)
    assert artifacts["training_smiles"].decode().split("\n") == [
        "CCO", "CCCO", "CCCCO", "Oc1ccccc1", "Nc1ccccc1"
    ]  # fmt: skip
    annotate = annotator.build(artifacts, **params)
    sims = sorted(annotate(m)["domain"]["nearest_similarity"] for m in held)
    assert params["threshold"] == pytest.approx(np.quantile(sims, 0.05), abs=1e-3)
    assert annotate(parse("CCO"))["in_domain"] is True
    alone, _ = annotator.fit(train, [])  # no held-out molecules: leave-one-out
    assert 0 < alone["threshold"] <= 1
