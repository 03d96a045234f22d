"""Shared pieces of tests/publishing: a tiny Keras model trained on ESOL inside the tests (400
molecules, a small descriptor set and 256 Morgan bits, one hidden layer of 32), its evaluation
CSV (120 held-out molecules and one bad row) and training SMILES, and the broken and malicious
variants of its ``.keras`` file the hub must refuse."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tests.auth.support import Hub

ROOT = Path(__file__).resolve().parents[2]
ESOL = ROOT / "domains/chemistry/data/ESOL.csv.gz"
FEATURIZER = "chemistry.rdkit2d_morgan"
PARAMS = {
    "radius": 2,
    "n_bits": 256,
    "descriptors": ["MolWt", "MolLogP", "TPSA", "NumHDonors", "NumHAcceptors", "RingCount"],
}
OUTPUT = {"name": "logS", "unit": "log10(mol/L)", "description": "aqueous solubility"}


@dataclass(frozen=True)
class Trained:
    """The tiny model and its files (bytes), with the feature width it takes."""

    model: bytes
    evaluation: bytes
    training: bytes
    width: int

    def manifest(self, **changes: Any) -> dict[str, Any]:
        m = {
            "input_type": "smiles",
            "featurizer": FEATURIZER,
            "featurizer_params": PARAMS,
            "outputs": [OUTPUT],
            "metrics": [{"name": "rmse", "value": 0.61, "split": "test", "std": 0.04, "n": 5}],
            "description": "Solubility from a notebook; ESOL-like small molecules only.",
        }
        m.update(changes)
        return m


def esol_rows() -> tuple[list[str], np.ndarray]:
    with gzip.open(ESOL, "rt") as fh:
        rows = list(csv.DictReader(fh))
    smiles = [r["smiles"] for r in rows]
    y = np.array([float(r["measured log solubility in mols per litre"]) for r in rows], np.float32)
    return smiles, y


def train_tiny(folder: Path) -> Trained:
    """Train the tiny ESOL model (about 10 s on 2 cores) and write nothing but ``folder``."""
    import keras

    from hub.plugins import load_plugins

    plugins = load_plugins()
    parse = plugins.input_type("smiles").parse
    featurize = plugins.featurizer(FEATURIZER).build(**PARAMS)
    smiles, y = esol_rows()
    order = np.random.default_rng(0).permutation(len(smiles))
    train, held = order[:400], order[400:520]
    x = np.stack([featurize(parse(smiles[i])) for i in np.concatenate([train, held])])
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(x[:400], y[train], epochs=40, batch_size=32, verbose=0)
    path = folder / "esol.keras"
    model.save(path)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["smiles", "logS"])
    for i in held:
        writer.writerow([smiles[i], f"{y[i]:.3f}"])
    writer.writerow(["not-a-smiles", "1.0"])  # skipped and reported, not a failure
    training = "\n".join(f"{smiles[i]}\tmol{i}" for i in train)
    return Trained(path.read_bytes(), out.getvalue().encode(), training.encode(), x.shape[1])


def saved(model: Any, folder: Path, name: str) -> bytes:
    path = folder / name
    model.save(path)
    return path.read_bytes()


def rezip(data: bytes, *, extra: dict[str, bytes] | None = None, **replace: bytes) -> bytes:
    """The ``.keras`` archive ``data`` with members replaced and ``extra`` ones added (names
    written as given, ``..`` and all)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, blob in (extra or {}).items():
            dst.writestr(zipfile.ZipInfo(name), blob)
    return out.getvalue()


def with_config(data: bytes, change: Any) -> bytes:
    config = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("config.json"))
    change(config)
    return rezip(data, **{"config.json": json.dumps(config).encode()})


def bad_models(good: Trained, folder: Path) -> dict[str, bytes]:
    """name -> the bytes of a broken or malicious upload (see the test for each's code)."""
    import keras

    width = good.width

    def dense(n_in: int, kernel: float, bias: float) -> Any:
        m = keras.Sequential([keras.Input((n_in,)), keras.layers.Dense(1)])
        m.layers[-1].set_weights([np.full((n_in, 1), kernel, np.float32), np.array([bias])])
        return m

    lam = keras.Sequential([keras.Input((width,)), keras.layers.Lambda(lambda t: t[:, :1] * 2)])
    h5_path = folder / "legacy.h5"
    dense(width, 0.01, 0.0).save(h5_path)
    pickled = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93."

    def safe_mode_off(config: dict) -> None:
        config["config"]["layers"][1]["config"]["safe_mode"] = False

    def foreign_layer(config: dict) -> None:
        layer = config["config"]["layers"][1]
        layer["module"], layer["registered_name"] = "evil.layers", "evil>Backdoor"

    return {
        "lambda": saved(lam, folder, "lambda.keras"),
        "pickle": rezip(good.model, extra={"payload.pkl": pickled}),
        "traversal": rezip(good.model, extra={"../../outside.json": b"{}"}),
        "truncated": good.model[: len(good.model) // 2],
        "h5": h5_path.read_bytes(),
        "safe_mode_off": with_config(good.model, safe_mode_off),
        "foreign_layer": with_config(good.model, foreign_layer),
        "wrong_width": saved(dense(width + 7, 0.01, 0.0), folder, "wide.keras"),
        "nan": saved(dense(width, float("nan"), 0.0), folder, "nan.keras"),
        "constant": saved(dense(width, 0.0, -2.0), folder, "constant.keras"),
    }


def artifact_files(home: Path) -> set[str]:
    """Every file under the artifact folder of ``home`` (temporary files included)."""
    root = home / "artifacts"
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def upload(
    hub: Hub,
    who: str,
    name: str,
    model: bytes,
    manifest: dict[str, Any] | str,
    *,
    evaluation: bytes | None = None,
    training: bytes | None = None,
) -> Any:
    files: dict[str, Any] = {"file": ("esol.keras", model, "application/octet-stream")}
    if evaluation is not None:
        files["evaluation"] = ("esol_eval.csv", evaluation, "text/csv")
    if training is not None:
        files["training_inputs"] = ("esol_train.smi", training, "text/plain")
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    return hub.client.post(
        f"/v1/models/{name}/versions",
        headers=hub.headers(who),
        files=files,
        data={"manifest": text},
    )


def create(hub: Hub, who: str, name: str, **changes: Any) -> Any:
    body = {
        "name": name,
        "title": "ESOL solubility (notebook)",
        "description": "A tiny model trained in a test",
        "input_type": "smiles",
        "outputs": [OUTPUT],
        "tags": ["solubility"],
        "visibility": "group:chem-team",
    } | changes
    return hub.client.post("/v1/models", headers=hub.headers(who), json=body)
