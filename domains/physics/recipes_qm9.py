"""Recipes of the QM9 property models (``physics.qm9-gap``, ``physics.qm9-dipole``).

Each recipe loads QM9 from ``qm9pack`` (:mod:`domains.physics.qm9`), featurizes with
``physics.soap`` (:mod:`domains.physics.descriptors`) and hands the rest to the hub's training
pipeline (:func:`hub.sdk.learning.learn`), configured for QM9: one seeded random split (test,
validation for early stopping and for calibrating the uncertainty, training) whose model is
the served one, a Keras ensemble with a shared SiLU trunk (the ``mlp`` family with the
parameters in :data:`DEFAULT_PARAMS`), MAE as the headline and a learning curve. Registered:

- ``test``: MAE, RMSE, R2 of the served ensemble on the held-out test molecules (DFT geometries);
  the uncertainty's calibration (fraction of errors inside 1 and 2 sigma, Spearman);
- ``validation``: the sigma scale;
- ``learning_curve``: test MAE of the same network trained on 1k, 10k and all training molecules;

and the QM9 recipe's own checks, through the served artifact:

- ``smiles_geometry``: test MAE when the same molecules are sent as SMILES and embedded with
  RDKit ETKDG + MMFF94 instead of using the DFT geometry (what a SMILES caller gets);
- ``invariance``: the largest change of a prediction when test molecules are rotated,
  translated and their atoms permuted, through the saved artifact as the hub serves it.

The served model is the ensemble trained on the training split: the test figures are its own.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from typing import Any

import numpy as np

from domains.physics import qm9
from domains.physics.descriptors import DEFAULT_SOAP, featurize_many
from domains.physics.limits import QM9_LIMITS
from hub.sdk import DatasetInfo, Metric, ModelInfo, OutputSpec, Recipe, RecipeContext, RecipeResult
from hub.sdk import learning as tr

DEFAULT_PARAMS: dict[str, Any] = {
    "n_molecules": None,  # None: all 130,831
    "test_size": 13_000, "val_size": 6_500, "seed": 0,
    "soap": {**DEFAULT_SOAP, "n_max": 3, "l_max": 2},
    "trunk": 256, "hidden": [256], "members": 3, "learning_rate": 1e-3,
    "epochs": 30, "patience": 8, "batch_size": 256, "loss": "mae",
    "activation": "silu", "dropout": 0.0, "weight_decay": None, "schedule": "cosine",
    "var_floor": 1e-8, "n_splits": 1,
    "learning_curve": [1_000, 10_000],
    "invariance_molecules": 25, "smiles_molecules": 300,
    "workers": 2, "feature_cache": True,
}  # fmt: skip
QUICK_PARAMS: dict[str, Any] = {
    "n_molecules": 2_000, "test_size": 400, "val_size": 200,
    "trunk": 64, "hidden": [64], "members": 2, "epochs": 8, "patience": 4,
    "learning_curve": [500], "invariance_molecules": 5, "smiles_molecules": 10,
    "workers": 1, "feature_cache": False,
}  # fmt: skip
GEOMETRY_WARNING = (
    "QM9's labels were computed on B3LYP/6-31G(2df,p)-relaxed geometries; predictions on other "
    "geometries (such as RDKit ETKDG + MMFF94 from a SMILES) carry an extra error: see the "
    "'smiles_geometry' metrics"
)


def features(ctx: RecipeContext, data: qm9.Qm9, data_sha: str, soap: dict[str, Any]) -> np.ndarray:
    """Descriptors of ``data``, shape (n, n_features) float32; cached (when the recipe's
    ``feature_cache`` is on) under a key of the data's sha256, the featurizer's parameters,
    the dscribe version and the molecules chosen: any change of them misses the cache."""
    from importlib.metadata import version

    key_doc = {"data": data_sha, "soap": soap, "dscribe": version("dscribe"),
               "rows": hashlib.sha256(data.index.tobytes()).hexdigest()}  # fmt: skip
    key = hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()[:24]
    path = ctx.cache_dir / "qm9-features" / f"{key}.npy"
    if ctx.params["feature_cache"] and path.exists():
        ctx.progress(0.15, f"descriptors from cache {path.name}")
        return np.load(path)

    def report(done: int, total: int) -> None:
        ctx.progress(0.02 + 0.13 * done / total, f"SOAP descriptors {done}/{total} molecules")

    x = featurize_many(
        data.numbers, data.positions, soap, workers=ctx.params["workers"], progress=report
    )
    if ctx.params["feature_cache"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, x)
        tmp.replace(path)
    return x


def split(p: dict[str, Any]) -> tr.SplitFn:
    """The one random split: ``test_size`` test and ``val_size`` validation molecules of a
    seeded permutation of the ``n`` rows, the rest for training."""

    def parts(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = np.random.default_rng(seed).permutation(n)
        n_test, n_val = p["test_size"], p["val_size"]
        return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]

    return parts


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def invariance_check(
    forward: Any, featurize: Any, data: qm9.Qm9, rows: np.ndarray, seed: int
) -> dict[str, float]:
    """Largest |change| of the served prediction (the property's unit) under a random rotation,
    a translation by up to 10 Å, and a random permutation of the atoms, over ``rows``."""
    rng = np.random.default_rng(seed)
    worst = {"rotation": 0.0, "translation": 0.0, "permutation": 0.0, "all_three": 0.0}
    for i in rows:
        base = data.atoms(int(i))
        rot, shift = _rotation(rng), rng.uniform(-10, 10, 3)
        perm = rng.permutation(len(base))
        moved = {
            "rotation": base.positions @ rot.T,
            "translation": base.positions + shift,
        }
        variants = {k: type(base)(numbers=base.numbers, positions=v) for k, v in moved.items()}
        variants["permutation"] = base[perm]
        variants["all_three"] = type(base)(
            numbers=base.numbers[perm], positions=base.positions[perm] @ rot.T + shift
        )
        x = np.stack([featurize(a) for a in [base, *variants.values()]])
        y = np.asarray(forward(x))[:, 0]
        for j, k in enumerate(variants, start=1):
            worst[k] = max(worst[k], float(abs(y[j] - y[0])))
    return worst


def smiles_geometry_check(
    forward: Any, featurize: Any, data: qm9.Qm9, rows: np.ndarray, target: np.ndarray
) -> dict[str, float]:
    """Test MAE on the DFT geometries and on RDKit ETKDG + MMFF94 geometries embedded from the
    same molecules' SMILES (molecules RDKit cannot embed are left out and counted)."""
    from domains.physics.structures import embed_smiles

    dft, mmff, y, failed = [], [], [], 0
    for i in rows:
        try:
            embedded = embed_smiles(data.smiles[int(i)])
        except Exception:  # noqa: BLE001 - an embedding failure is counted, not fatal
            failed += 1
            continue
        dft.append(featurize(data.atoms(int(i))))
        mmff.append(featurize(embedded))
        y.append(target[int(i)])
    if not y:
        return {"embedding_failures": float(failed)}
    p_dft = np.asarray(forward(np.stack(dft)))[:, 0]
    p_mmff = np.asarray(forward(np.stack(mmff)))[:, 0]
    y_arr = np.asarray(y)
    return {
        "mae_dft_geometry": float(np.abs(p_dft - y_arr).mean()),
        "mae_smiles_geometry": float(np.abs(p_mmff - y_arr).mean()),
        "embedding_failures": float(failed),
        "molecules": float(len(y)),
    }


def train_qm9(ctx: RecipeContext, prop: str, label: str) -> RecipeResult:
    """Train, evaluate and package the model of one QM9 property (``gap``, ``dipole``)."""
    from domains.physics.descriptors import soap_pooled
    from hub.sdk.keras import compile_forward, load_keras_bytes

    p = ctx.params
    started = time.perf_counter()
    unit = qm9.PROPERTIES[prop][2]
    ctx.progress(0.0, "hashing and reading QM9 (qm9pack)")
    prov = qm9.provenance()
    total = qm9.count_rows()
    rows = None
    if p["n_molecules"] is not None and p["n_molecules"] < total:
        rows = np.sort(np.random.default_rng(p["seed"] + 7).permutation(total)[: p["n_molecules"]])
    data = qm9.load_qm9(rows)
    x = features(ctx, data, prov.sha256, p["soap"])
    y = data.targets[prop].astype(np.float32)
    parts = split(p)
    i_tr, i_va, i_te = parts(len(y), p["seed"])
    description = (
        f"seeded random split: {len(i_tr)} training, {len(i_va)} validation (early stopping, "
        f"sigma calibration), {len(i_te)} test molecules"
    )
    learned = tr.learn(
        replace(ctx, progress=lambda done, msg: ctx.progress(0.15 + 0.75 * done, msg)), x, y,
        tr.Evaluation(
            quantity=label, unit=unit, headline="mae", random_split=parts, random_name="test",
            random_description=description, learning_curve=tuple(p["learning_curve"]),
            calibrate_on="validation", serve="split", items="molecules",
        ),
    )  # fmt: skip

    ctx.progress(0.9, "checking invariance and SMILES geometries")
    forward = compile_forward(load_keras_bytes(learned.model_bytes), x.shape[1])
    featurize = soap_pooled(**p["soap"])
    inv = invariance_check(forward, featurize, data, i_te[: p["invariance_molecules"]], p["seed"])
    smi = smiles_geometry_check(forward, featurize, data, i_te[: p["smiles_molecules"]], y)
    metrics = list(learned.metrics)
    metrics += [Metric(f"max_change_{k}", v, "invariance") for k, v in inv.items()]
    metrics += [Metric(k, v, "smiles_geometry") for k, v in smi.items()]
    seconds = time.perf_counter() - started
    metrics.append(Metric("build_seconds", seconds, "build"))
    spec = learned.spec(
        input_type="molecule3d",
        featurizer={"name": "physics.soap", "params": dict(p["soap"])},
        outputs=[{"name": prop, "unit": unit}],
        annotators=[{"name": "physics.qm9_domain", "params": {"warning": GEOMETRY_WARNING}}],
        evaluation={
            "geometry": GEOMETRY_WARNING,
            "data_files": prov.files,
            "data_bytes": prov.bytes,
            "package": prov.package,
            "build_seconds": round(seconds, 1),
        },
        limits=QM9_LIMITS.to_dict(),  # what the featurizer refuses (shown on the card)
        units={prop: f"{unit}; QM9 column {qm9.PROPERTIES[prop][0]} x {qm9.PROPERTIES[prop][1]}"},
        invariance={
            "max_change": inv,
            "unit": unit,
            "molecules": int(min(len(i_te), p["invariance_molecules"])),
            "method": "random rotation, translation up to 10 Å and atom permutation of test "
            "molecules, predicted through the saved artifact (float32 network on float64 SOAP "
            "cast to float32)",
        },
    )
    ctx.progress(1.0, "saved")
    dataset = DatasetInfo(
        name=f"QM9 ({prov.package}, {len(y)} of {total} molecules)",
        sha256=prov.sha256,
        size=total,
        citation=qm9.CITATION,
        license=qm9.LICENSE,
    )
    return RecipeResult(
        kind=learned.kind,
        spec=spec,
        artifacts=learned.artifacts,
        metrics=tuple(metrics),
        dataset=dataset,
    )


def qm9_recipe(info: ModelInfo, prop: str, label: str) -> Recipe:
    def train(ctx: RecipeContext) -> RecipeResult:
        return train_qm9(ctx, prop, label)

    return Recipe(
        model=info, train=train, params=DEFAULT_PARAMS, quick=QUICK_PARAMS, revision="2",
        data=qm9.data_files(), minutes=4,
    )  # fmt: skip


METHOD = (
    "Ensemble of {n} Keras MLP heads on SOAP descriptors (dscribe; r_cut 5 Å, n_max 3, l_max 2) "
    "averaged per element, invariant to rotation, translation and atom permutation; the "
    "ensemble spread is served as a calibrated uncertainty. Trained on QM9 (Ramakrishnan et al. "
    "2014, DFT B3LYP/6-31G(2df,p)); input: a molecule of H, C, N, O and F as an atoms object, or "
    "a SMILES embedded in 3D with RDKit ETKDG + MMFF94 (the response says which geometry was "
    "used). QM9 holds molecules of up to 9 heavy atoms; larger ones are flagged out of domain."
)


def _info(name: str, title: str, lead: str, output: OutputSpec, tags: tuple[str, ...]) -> ModelInfo:
    return ModelInfo(
        name=name, domain="physics", task="property-regression", title=title,
        description=lead + " " + METHOD.format(n=DEFAULT_PARAMS["members"]),
        input_type="molecule3d", outputs=(output,),
        tags=(*tags, "qm9", "soap", "property", "uncertainty"),
    )  # fmt: skip


QM9_GAP = qm9_recipe(
    _info(
        "physics.qm9-gap",
        "HOMO-LUMO gap (QM9, B3LYP)",
        "Predicts the HOMO-LUMO gap of a small organic molecule in eV, as B3LYP/6-31G(2df,p) "
        "computes it at the DFT-relaxed geometry (QM9 stores hartree; served in eV).",
        OutputSpec("gap", "eV", "HOMO-LUMO gap, B3LYP/6-31G(2df,p)"),
        ("homo-lumo-gap", "electronic-structure"),
    ),
    "gap",
    "HOMO-LUMO gap",
)

QM9_DIPOLE = qm9_recipe(
    _info(
        "physics.qm9-dipole",
        "Dipole moment (QM9, B3LYP)",
        "Predicts the magnitude of the electric dipole moment of a small organic molecule in "
        "Debye, as B3LYP/6-31G(2df,p) computes it at the DFT-relaxed geometry.",
        OutputSpec("dipole", "D", "dipole moment magnitude, B3LYP/6-31G(2df,p)"),
        ("dipole", "electronic-structure"),
    ),
    "dipole",
    "dipole moment",
)

RECIPES = (QM9_GAP, QM9_DIPOLE)
