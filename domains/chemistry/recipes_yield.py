"""Recipes of the reaction-yield models (Buchwald-Hartwig and Suzuki-Miyaura HTE data).

Evaluation, measured here and registered: ``n_splits`` seeded random 70/30 splits (10 % of the
training part kept for early stopping), R2, RMSE and MAE in yield percent as mean and spread;
for Buchwald-Hartwig also additive-held-out splits: the 22 additives, sorted by canonical
SMILES, dealt round-robin into 4 groups, each group's reactions held out in turn (a grouping of
ours in the spirit of Ahneman 2018's Tests 1-4; not their exact plates, which are not in the
data set). The served ensemble's outputs are clipped to 0-100 %; its uncertainty is calibrated
as for the property models; a reaction with a component never seen in training is out of
domain.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from typing import Any

import numpy as np

from domains.chemistry.reaction_features import reaction_bag
from domains.chemistry.reactions import canonical_components, parse_reaction
from domains.chemistry.recipes import DATA, shipped_dataset
from hub.sdk import (
    ModelInfo,
    OutputSpec,
    Recipe,
    RecipeContext,
    RecipeResult,
)
from hub.sdk.learning import Evaluation, HeldOut, learn

PARAMS: dict[str, Any] = {
    "radius": 2, "n_bits": 4096, "hidden": [512, 128], "dropout": 0.1,
    "learning_rate": 1e-3, "weight_decay": 1e-4, "epochs": 300, "patience": 20,
    "batch_size": 64, "members": 5, "n_splits": 10, "additive_splits": False, "seed": 0,
}  # fmt: skip
"""A recipe may add ``role_bits``: with its data set's role columns, the components' Morgan
counts (``radius``) in one block of ``role_bits`` per role, concatenated (absent or 0: all
summed into ``n_bits``): see :func:`~domains.chemistry.reaction_features.reaction_bag`."""
QUICK: dict[str, Any] = {
    "n_splits": 1,
    "members": 2,
    "epochs": 10,
    "patience": 3,
    "hidden": [64],
    "additive_splits": False,
}


@dataclass(frozen=True)
class YieldData:
    file: str
    scale: float  # to percent
    name: str
    citation: str
    group_column: str | None = None
    role_columns: tuple[str, ...] = ()  # one column per role, its components


def role_lists(rows: list[dict[str, str]], columns: tuple[str, ...]) -> list[list[str]]:
    """The canonical SMILES of each role column's components over ``rows``, sorted: the
    ``roles`` of :func:`~domains.chemistry.reaction_features.reaction_bag`."""
    found: list[set[str]] = [set() for _ in columns]
    for r in rows:
        for k, col in enumerate(columns):
            if r[col] and r[col] not in found[k]:
                found[k] |= set(canonical_components(r[col], col))
    return [sorted(f) for f in found]


def random_70_30(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = round(0.3 * n)
    rest = order[n_test:]
    n_val = max(1, len(rest) // 10)
    return rest[n_val:], rest[:n_val], order[:n_test]


def additive_held_out(
    groups: list[str], seed: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """The 4 additive-held-out splits as ``(train, validation, test, fit seed)`` row indices:
    the additives sorted, dealt round-robin into 4 groups, each group's rows the test set in
    turn; 10 % of the rest (seeded) for early stopping."""
    additives = sorted(set(groups))
    splits = []
    for k in range(4):
        held = {a for i, a in enumerate(additives) if i % 4 == k}
        i_te = np.array([i for i, g in enumerate(groups) if g in held])
        rest = np.random.default_rng(seed + 50 + k).permutation(
            [i for i, g in enumerate(groups) if g not in held]
        )
        n_val = len(rest) // 10
        splits.append((rest[n_val:], rest[:n_val], i_te, seed + 50 + k))
    return splits


def train_yield_model(ctx: RecipeContext, data: YieldData) -> RecipeResult:
    p = ctx.params
    ctx.progress(0.0, f"featurizing {data.name}")
    with gzip.open(DATA / data.file, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    role_bits = int(p.get("role_bits", 0))
    roles = role_lists(rows, data.role_columns) if role_bits and data.role_columns else None
    bag = {"radius": p["radius"], "n_bits": p["n_bits"]}
    if roles:
        bag |= {"roles": roles, "role_bits": role_bits}
    featurize = reaction_bag(**bag)
    parsed: dict[str, Any] = {}
    x, y, groups, components, counts = [], [], [], set(), []
    for r in rows:
        rxn = parsed.get(r["rxn"]) or parsed.setdefault(r["rxn"], parse_reaction(r["rxn"]))
        x.append(featurize(rxn))
        y.append(float(r["yield"]) * data.scale)
        groups.append(r[data.group_column] if data.group_column else "")
        components |= set(rxn.components)
        counts.append(len(rxn.components))

    def additive_splits() -> list[HeldOut]:
        return [
            HeldOut(f"additive_out_{k + 1}", i_tr, i_va, i_te, seed, f"additive test {k + 1}")
            for k, (i_tr, i_va, i_te, seed) in enumerate(additive_held_out(groups, p["seed"]))
        ]

    learned = learn(
        ctx,
        np.stack(x),
        np.array(y, np.float32),
        Evaluation(
            quantity="yield",
            unit="%",
            random_split=random_70_30,
            random_name="random_70_30",
            random_kind="random 70/30",
            random_description="seeded random 70/30 splits",
            held_out=additive_splits if p["additive_splits"] and data.group_column else None,
            held_out_text={
                "additive_out": (
                    "additives sorted by SMILES, dealt into 4 groups, each held out "
                    "(our grouping, not Ahneman 2018's exact plates)"
                )
            },
            upper=100.0,
            active_columns=True,
            headline="r2",  # the figure the literature compares, and the card's headline
        ),
    )
    spec = learned.spec(
        input_type="reaction_smiles",
        featurizer={
            "name": "chemistry.reaction_bag",
            "params": bag,
        },
        outputs=[{"name": "yield", "unit": "%"}],
        example=rows[0]["rxn"],  # the card's "try it": a reaction of this data set
        annotators=[
            {
                "name": "chemistry.components_seen",
                "params": {"min_components": min(counts), "max_components": max(counts)},
                "artifacts": ["training_components"],
            }
        ],
        evaluation={"training_reactions": len(y)},
    )
    artifacts = {
        **learned.artifacts,
        "training_components": ctx.put_artifact("\n".join(sorted(components)).encode()),
    }
    dataset = shipped_dataset(data.file, data.name, data.citation, len(rows))
    return RecipeResult(
        kind=learned.kind, spec=spec, artifacts=artifacts, metrics=learned.metrics, dataset=dataset
    )


def yield_recipe(info: ModelInfo, data: YieldData, *, minutes: float, **changes: Any) -> Recipe:
    def train(ctx: RecipeContext) -> RecipeResult:
        return train_yield_model(ctx, data)

    return Recipe(
        model=info,
        train=train,
        params={**PARAMS, **changes},
        quick=QUICK,
        revision="3",
        data=(DATA / data.file,),
        minutes=minutes,
    )


def _info(name: str, title: str, description: str, tags: tuple[str, ...]) -> ModelInfo:
    return ModelInfo(
        name=name,
        domain="chemistry",
        task="reaction-yield",
        title=title,
        description=description,
        input_type="reaction_smiles",
        outputs=(OutputSpec("yield", "%", "reaction yield, 0-100 %"),),
        tags=(*tags, "reaction", "yield", "uncertainty"),
    )


METHOD = (
    "Ensemble of 5 Keras MLPs on the {features}; output clipped to 0-100 %, with a calibrated "
    "uncertainty; a reaction with a component never seen in training is flagged out of domain. "
)
SUMMED = "summed Morgan count fingerprints of the reaction's components"
BY_ROLE = (
    "Morgan count fingerprints of the reaction's components, one block per role (aryl halide, "
    "ligand, base, additive; the rest summed in a last block)"
)

# The two HTE data sets (their role columns are also what bench/yield_family_tries.py reads).
BH_DATA = YieldData(
    "DreherDoyle.csv.gz",
    1.0,
    "Buchwald-Hartwig HTE (Dreher, Doyle)",
    "Ahneman, Estrada, Lin, Dreher, Doyle, Science 360, 186 (2018)",
    "additive",
    ("aryl halide", "ligand", "base", "additive"),
)
SM_DATA = YieldData(
    "SuzukiMiyaura.csv.gz",
    100.0,
    "Suzuki-Miyaura HTE (Perera et al.)",
    "Perera et al., Science 359, 429 (2018)",
    role_columns=(
        "reactant_1_smiles",
        "reactant_2_smiles",
        "catalyst_smiles",
        "ligand_smiles",
        "reagent_1_smiles",
        "solvent_1_smiles",
    ),
)

BUCHWALD_HARTWIG = yield_recipe(
    _info(
        "chemistry.yield-buchwald-hartwig",
        "Buchwald-Hartwig C-N coupling yield",
        "Predicts the yield (%) of a Pd-catalysed Buchwald-Hartwig amination of an aryl halide "
        "with "
        "p-toluidine under the conditions of the Doyle high-throughput study (ligand, base, "
        "isoxazole additive). "
        + METHOD.format(features=BY_ROLE)
        + "Trained on 3955 reactions (Ahneman et al., Science "
        "2018). Intended for that reaction space; other substrates are extrapolation.",
        ("buchwald-hartwig", "c-n-coupling", "hte"),
    ),
    BH_DATA,
    additive_splits=True,
    role_bits=1024,
    minutes=13,
)

SUZUKI_MIYAURA = yield_recipe(
    _info(
        "chemistry.yield-suzuki-miyaura",
        "Suzuki-Miyaura coupling yield",
        "Predicts the yield (%) of a Suzuki-Miyaura coupling in the Pfizer high-throughput flow "
        "study (reactants, ligand, base, solvent, Pd source). "
        + METHOD.format(features=SUMMED)
        + "Trained on 5760 "
        "reactions (Perera et al., Science 2018).",
        ("suzuki-miyaura", "c-c-coupling", "hte"),
    ),
    SM_DATA,
    minutes=18,
)

RECIPES = (BUCHWALD_HARTWIG, SUZUKI_MIYAURA)
