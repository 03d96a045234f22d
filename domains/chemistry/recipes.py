"""Recipes of the molecular property models: load data, split, featurize, train an ensemble,
evaluate on held-out data, register.

Evaluation, all measured here and registered:

- ``random``: ``n_splits`` seeded random 80/10/10 splits; RMSE, MAE, R2 as mean and spread.
- ``scaffold``: one scaffold split (:data:`domains.chemistry.splits.SCAFFOLD_SPLITTER`).
- uncertainty: the ensemble spread is scaled so 68 % of the random splits' held-out errors fall
  inside 1 sigma; registered with the fractions inside 1 and 2 sigma and the Spearman
  correlation of sigma with the error.
- applicability domain: the nearest-neighbour Tanimoto threshold
  (:mod:`domains.chemistry.applicability`), with the held-out RMSE inside and outside it.

The served model is an ensemble trained on all data but a seeded 10 % kept for early stopping.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from domains.chemistry import applicability as ad
from domains.chemistry import training
from domains.chemistry.featurizers import default_descriptors, rdkit2d_morgan, rdkit_descriptors
from domains.chemistry.molecules import parse_molecule
from domains.chemistry.splits import SCAFFOLD_SPLITTER, random_split, scaffold_split
from hub.sdk import (
    DatasetInfo,
    Metric,
    ModelInfo,
    OutputSpec,
    Recipe,
    RecipeContext,
    RecipeResult,
    sha256_file,
)

DATA = Path(__file__).with_name("data")
GAUCHE = "MIT (as redistributed by gauche 0.1.6); see domains/chemistry/data/DATA.md"

DEFAULT_PARAMS: dict[str, Any] = {
    "radius": 2, "n_bits": 0, "descriptors": None,
    "hidden": [512, 128], "dropout": 0.1, "learning_rate": 1e-3, "weight_decay": 1e-4,
    "epochs": 300, "patience": 25, "batch_size": 64, "members": 5,
    "n_splits": 5, "scaffold_split": True, "seed": 0,
}  # fmt: skip
QUICK_PARAMS: dict[str, Any] = {
    "n_splits": 1,
    "scaffold_split": False,
    "members": 3,
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


@dataclass
class Table:
    """A featurized data set: the rows RDKit could read."""

    x: np.ndarray
    y: np.ndarray
    smiles: list[str]  # canonical, standardised
    mols: list[Any]
    elements: set[str]
    rows: int


def load_table(data: PropertyData, params: dict[str, Any]) -> Table:
    with gzip.open(DATA / data.file, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    featurize = rdkit2d_morgan(params["radius"], params["n_bits"], params["descriptors"])
    x, y, smiles, mols, elements = [], [], [], [], set()
    for r in rows:
        try:
            mol = parse_molecule(r[data.smiles_column])
        except Exception:  # noqa: BLE001 - a data set row RDKit cannot read is left out
            continue
        x.append(featurize(mol))
        y.append(float(r[data.target_column]))
        smiles.append(mol.smiles)
        mols.append(mol.mol)
        elements |= {a.GetSymbol() for a in mol.mol.GetAtoms()}
    return Table(np.stack(x), np.array(y, np.float32), smiles, mols, elements, len(rows))


def descriptor_names(choice: list[str] | str | None) -> list[str]:
    if choice == "all":
        return list(rdkit_descriptors())
    return list(choice or default_descriptors())


def _aggregate(per_split: list[dict[str, float]], split: str) -> list[Metric]:
    return [
        Metric(
            name=k,
            value=float(np.mean([d[k] for d in per_split])),
            split=split,
            std=float(np.std([d[k] for d in per_split])),
            n=len(per_split),
        )
        for k in per_split[0]
    ]


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2))) if len(y) else float("nan")


def domain_metrics(
    sim: np.ndarray, y: np.ndarray, pred: np.ndarray, threshold: float, split: str
) -> list[Metric]:
    inside = sim >= threshold
    out = [
        Metric("fraction_in_domain", float(inside.mean()), split),
        Metric("rmse_in_domain", _rmse(y[inside], pred[inside]), split),
    ]
    if (~inside).any():
        out.append(Metric("rmse_out_of_domain", _rmse(y[~inside], pred[~inside]), split))
    return out


def train_property_model(
    ctx: RecipeContext, data: PropertyData, output: OutputSpec
) -> RecipeResult:
    p = ctx.params
    mlp = training.MLPParams.from_params(p)
    ctx.progress(0.0, f"featurizing {data.name}")
    t = load_table(data, p)
    fps = ad.fingerprints(t.mols)
    fits = p["n_splits"] + int(p["scaffold_split"]) + 1
    step = 0

    def fit(i_tr: np.ndarray, i_va: np.ndarray, seed: int, label: str) -> Any:
        nonlocal step
        ctx.progress(step / fits, f"training {label}")
        step += 1
        return training.fit_ensemble(t.x[i_tr], t.y[i_tr], t.x[i_va], t.y[i_va], mlp, seed)

    per_split, held = [], {"y": [], "mean": [], "std": [], "sim": []}
    for s in range(p["n_splits"]):
        i_tr, i_va, i_te = random_split(len(t.y), seed=p["seed"] + s)
        mean, std = training.predict_members(
            fit(i_tr, i_va, p["seed"] + s, f"split {s + 1}"), t.x[i_te]
        )
        per_split.append(training.regression_metrics(t.y[i_te], mean))
        sim = ad.nearest_similarities([fps[i] for i in i_te], [fps[i] for i in i_tr])
        for key, val in (("y", t.y[i_te]), ("mean", mean), ("std", std), ("sim", sim)):
            held[key].append(val)
    y, mean, std, sim = (np.concatenate(held[k]) for k in ("y", "mean", "std", "sim"))
    mean_random, std_random = mean, std
    scale = training.fit_sigma_scale(y, mean, std)
    threshold = ad.choose_threshold(sim)
    metrics = _aggregate(per_split, "random")
    metrics += [
        Metric(k, v, "random")
        for k, v in training.calibration_metrics(y, mean, std * scale).items()
    ]
    metrics += [Metric("sigma_scale", scale, "random"), Metric("ad_threshold", threshold, "random")]
    metrics += domain_metrics(sim, y, mean, threshold, "random")
    if p["scaffold_split"]:
        i_tr, i_va, i_te = scaffold_split(t.smiles)
        mean, _ = training.predict_members(fit(i_tr, i_va, p["seed"], "scaffold split"), t.x[i_te])
        metrics += _aggregate([training.regression_metrics(t.y[i_te], mean)], "scaffold")
        sim = ad.nearest_similarities([fps[i] for i in i_te], [fps[i] for i in i_tr])
        metrics += domain_metrics(sim, t.y[i_te], mean, threshold, "scaffold")

    order = np.random.default_rng(p["seed"] + 1000).permutation(len(t.y))
    n_val = max(1, len(t.y) // 10)
    final = training.with_uncertainty(
        fit(order[n_val:], order[:n_val], p["seed"] + 1000, "final model"), scale
    )
    path = ctx.workdir / "model.keras"
    final.save(path)
    rmse = next(m for m in metrics if m.name == "rmse" and m.split == "random")
    plots, captions = training.holdout_plots(
        ctx.put_artifact, y, mean_random, std_random * scale,
        quantity=output.name, unit=output.unit,
        metric_text=f"RMSE {rmse.value:.3f} ± {rmse.std:.3f}",
        held_out=f"test sets of {p['n_splits']} random splits",
    )  # fmt: skip
    artifacts = {
        "model": ctx.put_artifact(path),
        "training_smiles": ctx.put_artifact("\n".join(t.smiles).encode()),
        **plots,
    }
    ctx.progress(1.0, "saved")
    spec = {
        "input_type": "smiles",
        "featurizer": {
            "name": "chemistry.rdkit2d_morgan",
            "params": {
                "radius": p["radius"],
                "n_bits": p["n_bits"],
                "descriptors": descriptor_names(p["descriptors"]),
                "elements": sorted(t.elements),
            },
        },
        "outputs": [{"name": output.name, "unit": output.unit}],
        "uncertainty": "last_column",
        "plots": captions,
        "annotators": [
            {
                "name": "chemistry.tanimoto_domain",
                "params": {"threshold": threshold},
                "artifacts": ["training_smiles"],
            }
        ],
        "evaluation": {
            "random": f"{p['n_splits']} seeded random 80/10/10 splits (train/early-stop/test)",
            "scaffold": SCAFFOLD_SPLITTER if p["scaffold_split"] else None,
            "uncertainty": (
                f"spread of {mlp.members} ensemble members x {scale:.3f}, fitted "
                "so 68 % of held-out errors fall inside 1 sigma"
            ),
            "applicability_domain": (
                f"{ad.METHOD} >= {threshold:.3f}, the 5th percentile of "
                "held-out molecules' similarity on the random splits"
            ),
            "training_molecules": len(t.y),
            "unreadable_rows": t.rows - len(t.y),
        },
    }
    dataset = DatasetInfo(
        name=data.name,
        sha256=sha256_file(DATA / data.file),
        size=t.rows,
        citation=data.citation,
        license=GAUCHE,
    )
    return RecipeResult(
        kind="keras", spec=spec, artifacts=artifacts, metrics=tuple(metrics), dataset=dataset
    )


def property_recipe(
    info: ModelInfo, data: PropertyData, *, minutes: float, **param_changes: Any
) -> Recipe:
    def train(ctx: RecipeContext) -> RecipeResult:
        return train_property_model(ctx, data, info.outputs[0])

    return Recipe(
        model=info,
        train=train,
        params={**DEFAULT_PARAMS, **param_changes},
        quick=QUICK_PARAMS,
        revision="3",
        data=(DATA / data.file,),
        minutes=minutes,
    )


def _info(
    name: str, title: str, description: str, output: OutputSpec, tags: tuple[str, ...]
) -> ModelInfo:
    return ModelInfo(
        name=name,
        domain="chemistry",
        task="property-regression",
        title=title,
        description=description,
        input_type="smiles",
        outputs=(output,),
        tags=(*tags, "property", "uncertainty"),
    )


METHOD = (
    "Ensemble of {n} Keras MLPs on {what}, with the ensemble spread as "
    "a calibrated uncertainty and a Tanimoto nearest-neighbour applicability domain. "
)

SOLUBILITY = property_recipe(
    _info(
        "chemistry.solubility",
        "Aqueous solubility (ESOL)",
        "Predicts the aqueous solubility of a small organic molecule as log10 of its molar "
        "solubility at room temperature. "
        + METHOD.format(n=5, what="RDKit 2D descriptors")
        + "Trained on the ESOL "
        "(Delaney) set of 1128 measured compounds. Intended for drug-like and environmental "
        "organics; not for salts' dissolution equilibria, polymers or inorganic compounds.",
        OutputSpec("log_solubility", "log10(mol/L)", "log10 of the aqueous solubility"),
        ("solubility", "esol", "admet"),
    ),
    PropertyData(
        "ESOL.csv.gz",
        "smiles",
        "measured log solubility in mols per litre",
        "ESOL (Delaney)",
        "Delaney, J. Chem. Inf. Comput. Sci. 44, 1000 (2004); "
        "MoleculeNet (Wu et al., Chem. Sci. 9, 513 (2018))",
    ),
    minutes=2.5,
)

LIPOPHILICITY = property_recipe(
    _info(
        "chemistry.lipophilicity",
        "Lipophilicity, logD at pH 7.4",
        "Predicts the octanol/water distribution coefficient at pH 7.4 (logD7.4) of a drug-like "
        "molecule. "
        + METHOD.format(
            n=10,
            what="all RDKit 2D descriptors and a Morgan count fingerprint (radius 2, 2048 bits)",
        )
        + "Trained on 4200 AstraZeneca measurements deposited in ChEMBL. Intended for drug-like "
        "molecules; logD depends on ionisation, so treat acids and bases far from the training "
        "chemotypes with care.",
        OutputSpec(
            "logd", "logD7.4", "log10 of the octanol/water distribution coefficient, pH 7.4"
        ),
        ("lipophilicity", "logd", "admet"),
    ),
    PropertyData(
        "Lipophilicity.csv.gz",
        "smiles",
        "exp",
        "Lipophilicity (AstraZeneca)",
        "AstraZeneca, ChEMBL deposition CHEMBL3301361; MoleculeNet (Wu et al., "
        "Chem. Sci. 9, 513 (2018))",
    ),
    n_bits=2048,
    descriptors="all",
    dropout=0.2,
    members=10,
    minutes=30,
)

HYDRATION = property_recipe(
    _info(
        "chemistry.hydration-free-energy",
        "Hydration free energy (FreeSolv)",
        "Predicts the hydration free energy of a small neutral molecule, in kcal/mol (negative: "
        "favourable transfer from gas to water). "
        + METHOD.format(n=5, what="RDKit 2D descriptors")
        + "Trained on the 642 "
        "experimental values of FreeSolv. Intended for small neutral organics like those in "
        "FreeSolv; not for ions or large flexible molecules.",
        OutputSpec("hydration_free_energy", "kcal/mol", "free energy of hydration"),
        ("solvation", "freesolv", "thermodynamics"),
    ),
    PropertyData(
        "FreeSolv.csv.gz",
        "smiles",
        "expt",
        "FreeSolv",
        "Mobley & Guthrie, J. Comput. Aided Mol. Des. 28, 711 (2014)",
    ),
    minutes=2,
)

RECIPES = (SOLUBILITY, LIPOPHILICITY, HYDRATION)
