"""Recipes of the molecular property models: load a data set, featurize, and hand it to the
hub's training pipeline (:func:`hub.sdk.learning.learn`) configured by :func:`fit_property`,
which the CSV trainer (:mod:`domains.chemistry.trainer`) uses too.

Evaluation, all measured by the pipeline and registered:

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
from domains.chemistry.featurizers import default_descriptors, rdkit2d_morgan, rdkit_descriptors
from domains.chemistry.molecules import Molecule, parse_molecule
from domains.chemistry.splits import (
    CLUSTER_SPLITTER,
    SCAFFOLD_SPLITTER,
    butina_clusters,
    cluster_split,
    scaffold_split,
)
from hub.sdk import (
    DatasetInfo,
    ModelInfo,
    OutputSpec,
    Recipe,
    RecipeContext,
    RecipeResult,
    sha256_file,
)
from hub.sdk.learning import Applicability, Evaluation, HeldOut, learn

DATA = Path(__file__).with_name("data")
GAUCHE = "MIT (as redistributed by gauche 0.1.6); see domains/chemistry/data/DATA.md"

DEFAULT_PARAMS: dict[str, Any] = {
    "radius": 2, "n_bits": 0, "descriptors": None,
    "hidden": [512, 128], "dropout": 0.1, "learning_rate": 1e-3, "weight_decay": 1e-4,
    "epochs": 300, "patience": 25, "batch_size": 64, "members": 5,
    "n_splits": 5, "scaffold_split": True, "cluster_splits": 3, "seed": 0,
    "family": "mlp", "blend_weight": 0.5,
    "tree_members": 5, "tree_learning_rate": 0.03, "tree_leaves": 15, "tree_min_child": 10,
    "tree_subsample": 0.8, "tree_colsample": 0.3, "tree_lambda": 1.0, "tree_rounds": 4000,
    "tree_stop": 150,
}  # fmt: skip
"""``family``: ``mlp`` (Keras MLP ensemble), ``trees`` (LightGBM ensemble) or ``blend`` (both,
``blend_weight`` on the trees): :mod:`hub.learning.families`; the ``tree_*`` parameters are
:class:`hub.learning.trees.TreeParams`'."""
QUICK_PARAMS: dict[str, Any] = {
    "n_splits": 1,
    "scaffold_split": False,
    "cluster_splits": 0,
    "tree_members": 2,
    "tree_rounds": 200,
    "tree_stop": 20,
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
    """The data set's rows RDKit can read, featurized (a row it cannot read is left out)."""
    with gzip.open(DATA / data.file, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    mols, y = [], []
    for r in rows:
        try:
            mol = parse_molecule(r[data.smiles_column])
        except Exception:  # noqa: BLE001 - a data set row RDKit cannot read is left out
            continue
        mols.append(mol)
        y.append(float(r[data.target_column]))
    return featurize_table(mols, np.array(y, np.float32), params, len(rows))


def featurize_table(
    mols: list[Molecule], y: np.ndarray, params: dict[str, Any], rows: int
) -> Table:
    """Standardised molecules and their targets (n,) as a :class:`Table`, featurized with
    the ``radius``, ``n_bits`` and ``descriptors`` of ``params``; ``rows``: in the file."""
    featurize = rdkit2d_morgan(params["radius"], params["n_bits"], params["descriptors"])
    elements: set[str] = set()
    for mol in mols:
        elements |= {a.GetSymbol() for a in mol.mol.GetAtoms()}
    return Table(
        np.stack([featurize(m) for m in mols]),
        y,
        [m.smiles for m in mols],
        [m.mol for m in mols],
        elements,
        rows,
    )


def shipped_dataset(file: str, name: str, citation: str, size: int) -> DatasetInfo:
    """A data set shipped in ``domains/chemistry/data`` (``size`` rows)."""
    return DatasetInfo(
        name=name, sha256=sha256_file(DATA / file), size=size, citation=citation, license=GAUCHE
    )


def feature_names(n_bits: int, descriptors: list[str], radius: int = 2) -> list[str]:
    """The featurizer's columns by name: the Morgan count bits, then the descriptors."""
    bits = [f"Morgan bit {i} (radius {radius}, count)" for i in range(n_bits)]
    return bits + list(descriptors)


def descriptor_names(choice: list[str] | str | None) -> list[str]:
    if choice == "all":
        return list(rdkit_descriptors())
    return list(choice or default_descriptors())


def fit_property(
    ctx: RecipeContext,
    t: Table,
    output: OutputSpec,
    dataset: DatasetInfo,
    *,
    task: str = "regression",
    evaluation: dict[str, Any] | None = None,
) -> RecipeResult:
    """The hub's pipeline (:func:`hub.sdk.learning.learn`) configured for a molecular
    property: the scaffold split as the held-out groups, the Tanimoto applicability domain,
    the featurizer and annotator in the spec. Shared by the recipes and the CSV trainer."""
    p = ctx.params
    fps = ad.fingerprints(t.mols)

    def similarity(test: np.ndarray, train: np.ndarray) -> np.ndarray:
        return ad.nearest_similarities([fps[i] for i in test], [fps[i] for i in train])

    def held_out() -> list[HeldOut]:
        out = []
        if p["scaffold_split"]:
            i_tr, i_va, i_te = scaffold_split(t.smiles)
            out.append(HeldOut("scaffold", i_tr, i_va, i_te, p["seed"], "scaffold split"))
        n_cluster = int(p.get("cluster_splits", 0))
        if n_cluster:
            clusters = butina_clusters(fps)
            for k in range(n_cluster):
                i_tr, i_va, i_te = cluster_split(clusters, p["seed"] + k)
                label = f"cluster split {k + 1}"
                out.append(HeldOut("cluster", i_tr, i_va, i_te, p["seed"] + k, label))
        return out

    unit = "probability" if task == "classification" else output.unit
    learned = learn(
        ctx,
        t.x,
        t.y,
        Evaluation(
            quantity=output.name,
            unit=unit,
            task=task,
            held_out=held_out,
            held_out_text={"scaffold": SCAFFOLD_SPLITTER, "cluster": CLUSTER_SPLITTER},
            domain=Applicability(similarity, ad.METHOD, items="molecules"),
            feature_names=feature_names(
                p["n_bits"], descriptor_names(p["descriptors"]), p["radius"]
            ),
        ),
    )
    spec = learned.spec(
        input_type="smiles",
        featurizer={
            "name": "chemistry.rdkit2d_morgan",
            "params": {
                "radius": p["radius"],
                "n_bits": p["n_bits"],
                "descriptors": descriptor_names(p["descriptors"]),
                "elements": sorted(t.elements),
            },
        },
        outputs=[{"name": output.name, "unit": unit}],
        annotators=[
            {
                "name": ad.TANIMOTO_DOMAIN.name,
                "params": {"threshold": learned.threshold},
                "artifacts": ["training_smiles"],
            }
        ],
        evaluation={"training_molecules": len(t.y), **(evaluation or {})},
        **importance_entry(learned.importance, p),
    )
    artifacts = {
        **learned.artifacts,
        "training_smiles": ctx.put_artifact("\n".join(t.smiles).encode()),
    }
    return RecipeResult(
        kind=learned.kind,
        spec=spec,
        artifacts=artifacts,
        metrics=learned.metrics,
        dataset=dataset,
    )


def importance_entry(importance: np.ndarray | None, p: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``feature_importance`` (the card's global importance): the 20 features of
    highest mean |SHAP value| over training molecules, by name; empty without trees."""
    if importance is None:
        return {}
    names = feature_names(p["n_bits"], descriptor_names(p["descriptors"]), p["radius"])
    top = np.argsort(-importance)[:20]
    return {
        "feature_importance": {
            "method": "mean |SHAP value| of the trees over up to 300 training molecules",
            "features": [
                {"feature": names[k], "mean_abs_shap": round(float(importance[k]), 5)}
                for k in top
                if importance[k] > 0
            ],
        }
    }


def train_property_model(
    ctx: RecipeContext, data: PropertyData, output: OutputSpec
) -> RecipeResult:
    ctx.progress(0.0, f"featurizing {data.name}")
    t = load_table(data, ctx.params)
    dataset = shipped_dataset(data.file, data.name, data.citation, t.rows)
    return fit_property(ctx, t, output, dataset, evaluation={"unreadable_rows": t.rows - len(t.y)})


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
        revision="4",
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


BLEND = (
    "Average of an ensemble of {t} LightGBM gradient-boosted tree models and {n} Keras MLPs on "
    "{what}, with the spread of the two-family mixture as a calibrated uncertainty and a "
    "Tanimoto nearest-neighbour applicability domain; SHAP explanations of the trees "
    '(params {{"explain": "shap"}}). '
)
TREES = (
    "Ensemble of {t} LightGBM gradient-boosted tree models on {what}, with their spread as a "
    "calibrated uncertainty and a Tanimoto nearest-neighbour applicability domain; SHAP "
    'explanations (params {{"explain": "shap"}}). '
)


SOLUBILITY = property_recipe(
    _info(
        "chemistry.solubility",
        "Aqueous solubility (ESOL)",
        "Predicts the aqueous solubility of a small organic molecule as log10 of its molar "
        "solubility at room temperature. "
        + BLEND.format(t=5, n=5, what="RDKit 2D descriptors")
        + "The trees fit the residuals of a ridge regression on the standardised descriptors "
        "(added back to their prediction, so the linear trend carries beyond the training "
        "range). Trained on the ESOL "
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
    family="blend",
    tree_init="ridge",
    minutes=7,
)

LIPOPHILICITY = property_recipe(
    _info(
        "chemistry.lipophilicity",
        "Lipophilicity, logD at pH 7.4",
        "Predicts the octanol/water distribution coefficient at pH 7.4 (logD7.4) of a drug-like "
        "molecule. "
        + TREES.format(
            t=5,
            what="RDKit 2D descriptors and a Morgan count fingerprint (radius 2, 1024 bits)",
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
    n_bits=1024,
    dropout=0.2,
    members=10,
    family="trees",
    tree_learning_rate=0.1,
    minutes=30,
)

HYDRATION = property_recipe(
    _info(
        "chemistry.hydration-free-energy",
        "Hydration free energy (FreeSolv)",
        "Predicts the hydration free energy of a small neutral molecule, in kcal/mol (negative: "
        "favourable transfer from gas to water). "
        + BLEND.format(t=5, n=5, what="RDKit 2D descriptors")
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
    family="blend",
    minutes=5,
)

RECIPES = (SOLUBILITY, LIPOPHILICITY, HYDRATION)
