"""Recipes of the molecular property models: load data, split, featurize, train an ensemble,
evaluate on held-out data, register.

Evaluation: ``n_splits`` seeded random 80/10/10 splits (metrics are their mean and spread) and
one scaffold split (:data:`domains.chemistry.splits.SCAFFOLD_SPLITTER`). The served model is an
ensemble trained on all data but a seeded 10 % used for early stopping; its uncertainty scale is
fitted on the random splits' held-out predictions.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from domains.chemistry import training
from domains.chemistry.featurizers import DEFAULT_DESCRIPTORS, morgan_descriptors
from domains.chemistry.molecules import parse_molecule
from domains.chemistry.splits import SCAFFOLD_SPLITTER, random_split, scaffold_split
from hub.artifacts import sha256_file
from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec
from hub.plugins import Recipe, RecipeContext, RecipeResult

DATA = Path(__file__).with_name("data")

DEFAULT_PARAMS: dict[str, Any] = {
    "radius": 2,
    "n_bits": 2048,
    "descriptors": list(DEFAULT_DESCRIPTORS),
    "hidden": [512, 128],
    "dropout": 0.1,
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "epochs": 300,
    "patience": 30,
    "batch_size": 32,
    "members": 5,
    "n_splits": 5,
    "scaffold_split": True,
    "seed": 0,
}
QUICK_PARAMS: dict[str, Any] = {
    "members": 2,
    "n_splits": 1,
    "scaffold_split": False,
    "epochs": 15,
    "patience": 5,
    "hidden": [64],
}


@dataclass(frozen=True)
class PropertyData:
    file: str
    smiles_column: str
    target_column: str
    name: str
    citation: str
    license: str = "MIT (as redistributed by gauche 0.1.6); see data/DATA.md"


def load_table(data: PropertyData) -> tuple[list[str], np.ndarray]:
    with gzip.open(DATA / data.file, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r[data.smiles_column] for r in rows], np.array(
        [float(r[data.target_column]) for r in rows], np.float32
    )


def featurize_table(
    smiles: list[str], params: dict[str, Any]
) -> tuple[np.ndarray, list[int], list[str], set[str]]:
    """Features of every molecule RDKit reads; the indices kept, canonical SMILES, elements."""
    featurize = morgan_descriptors(params["radius"], params["n_bits"], params["descriptors"])
    rows, kept, canon, elements = [], [], [], set()
    for i, s in enumerate(smiles):
        try:
            mol = parse_molecule(s)
        except Exception:  # noqa: BLE001 - a data set row RDKit cannot read is left out
            continue
        rows.append(featurize(mol))
        kept.append(i)
        canon.append(mol.smiles)
        elements |= {a.GetSymbol() for a in mol.mol.GetAtoms()}
    return np.stack(rows), kept, canon, elements


def _aggregate(per_split: list[dict[str, float]], split: str) -> list[Metric]:
    names = per_split[0].keys()
    return [
        Metric(
            name=k,
            value=float(np.mean([d[k] for d in per_split])),
            split=split,
            std=float(np.std([d[k] for d in per_split])),
            n=len(per_split),
        )
        for k in names
    ]


def train_property_model(
    ctx: RecipeContext, data: PropertyData, output: OutputSpec
) -> RecipeResult:
    p = ctx.params
    mlp = training.MLPParams.from_params(p)
    smiles, y_all = load_table(data)
    ctx.progress(0.0, f"featurizing {len(smiles)} molecules")
    x, kept, canon, elements = featurize_table(smiles, p)
    y = y_all[kept]
    m = p["members"]
    fits_total = m * (p["n_splits"] + int(p["scaffold_split"]) + 1)
    done = 0

    def fit_ensemble(i_tr: np.ndarray, i_va: np.ndarray, seed: int, label: str) -> list[Any]:
        nonlocal done
        members = []
        for k in range(m):
            ctx.progress(done / fits_total, f"{label}: member {k + 1}/{m}")
            members.append(
                training.fit_member(x[i_tr], y[i_tr], x[i_va], y[i_va], mlp, seed * 100 + k)
            )
            done += 1
        return members

    random_metrics, cal_y, cal_mean, cal_std = [], [], [], []
    for s in range(p["n_splits"]):
        i_tr, i_va, te = random_split(len(y), seed=p["seed"] + s)
        members = fit_ensemble(i_tr, i_va, p["seed"] + s, f"split {s + 1}")
        out = training.predict_array(training.ensemble(members), x[te])
        random_metrics.append(training.regression_metrics(y[te], out[:, 0]))
        cal_y.append(y[te]), cal_mean.append(out[:, 0]), cal_std.append(out[:, 1])
    metrics = _aggregate(random_metrics, "random")
    yc, mc, sc = (np.concatenate(a) for a in (cal_y, cal_mean, cal_std))
    scale = training.fit_sigma_scale(yc, mc, sc) if m > 1 else 1.0
    if m > 1:
        cal = training.calibration_metrics(yc, mc, sc * scale)
        metrics += [Metric(name=k, value=v, split="random") for k, v in cal.items()]
        metrics.append(Metric(name="sigma_scale", value=scale, split="random"))
    if p["scaffold_split"]:
        i_tr, i_va, te = scaffold_split(canon)
        members = fit_ensemble(i_tr, i_va, p["seed"], "scaffold split")
        out = training.predict_array(training.ensemble(members), x[te])
        metrics += _aggregate([training.regression_metrics(y[te], out[:, 0])], "scaffold")

    # The served model: all data, but a seeded 10 % kept aside for early stopping.
    order = np.random.default_rng(p["seed"] + 1000).permutation(len(y))
    n_val = max(1, len(y) // 10)
    members = fit_ensemble(order[n_val:], order[:n_val], p["seed"] + 1000, "final")
    final = training.ensemble(members, sigma_scale=scale)
    path = ctx.workdir / "model.keras"
    final.save(path)
    ctx.progress(1.0, "saved")
    spec = {
        "input_type": "smiles",
        "featurizer": {
            "name": "chemistry.morgan_descriptors",
            "params": {
                "radius": p["radius"],
                "n_bits": p["n_bits"],
                "descriptors": list(p["descriptors"]),
                "elements": sorted(elements),
            },
        },
        "outputs": [{"name": output.name, "unit": output.unit}],
        "uncertainty": "last_column",
        "evaluation": {
            "random": f"{p['n_splits']} seeded random 80/10/10 splits",
            "scaffold": SCAFFOLD_SPLITTER if p["scaffold_split"] else None,
            "members": m,
            "training_molecules": len(y),
            "unreadable_rows": len(smiles) - len(y),
        },
    }
    dataset = DatasetInfo(
        name=data.name,
        sha256=sha256_file(DATA / data.file),
        size=len(smiles),
        citation=data.citation,
        license=data.license,
    )
    return RecipeResult(
        kind="keras",
        spec=spec,
        artifacts={"model": ctx.put_artifact(path)},
        metrics=tuple(metrics),
        dataset=dataset,
    )


def property_recipe(info: ModelInfo, data: PropertyData, **param_changes: Any) -> Recipe:
    def train(ctx: RecipeContext) -> RecipeResult:
        return train_property_model(ctx, data, info.outputs[0])

    return Recipe(
        model=info,
        train=train,
        params={**DEFAULT_PARAMS, **param_changes},
        quick=QUICK_PARAMS,
        revision="1",
        data=(DATA / data.file,),
    )


ESOL = PropertyData(
    file="ESOL.csv.gz",
    smiles_column="smiles",
    target_column="measured log solubility in mols per litre",
    name="ESOL (Delaney)",
    citation="Delaney, J. Chem. Inf. Comput. Sci. 44, 1000 (2004); MoleculeNet",
)

SOLUBILITY = property_recipe(
    ModelInfo(
        name="chemistry.solubility",
        domain="chemistry",
        task="property-regression",
        title="Aqueous solubility (ESOL)",
        description=(
            "Predicts the aqueous solubility of a small organic molecule as log10 of its "
            "molar solubility at room temperature. Ensemble of Keras MLPs on RDKit Morgan "
            "count fingerprints and 2D descriptors, trained on the ESOL (Delaney) set of "
            "1128 measured compounds. Intended for drug-like and environmental organics; "
            "not for salts' dissolution equilibria, polymers or inorganic compounds."
        ),
        input_type="smiles",
        outputs=(OutputSpec("log_solubility", "log10(mol/L)", "log10 of aqueous solubility"),),
        tags=("solubility", "esol", "admet", "property"),
    ),
    ESOL,
)
