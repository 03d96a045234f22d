"""Which reaction features help the Buchwald-Hartwig yield model on additives it never saw?

Trains the yield recipe's MLP ensemble (its parameters, ``--members`` members to keep this to
minutes) on feature variants and prints R2 on the four additive-held-out splits of the recipe
(the 22 additives sorted by SMILES, dealt into 4 groups) and on ``--random`` seeded random
70/30 splits:

- ``r2``: the served featurizer (``chemistry.reaction_bag``: summed Morgan count bits of the
  components, radius 2, 4096 bits, ``log1p``);
- ``r1``: the same with radius 1 (more shared, less specific bits);
- ``r2+feature``: ``r2`` plus feature-Morgan bits (pharmacophoric atom invariants);
- ``r2+descriptors``: ``r2`` plus RDKit's 2D descriptors of the additive, standardised;
- ``regularised``: ``r2`` with dropout 0.3 and weight decay 1e-3.

    .venv/bin/python bench/yield_additive_ablation.py [--variants r2 r1] [--members 2]

About 4 minutes per variant on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.chemistry.reaction_features import reaction_bag
from domains.chemistry.reactions import Reaction, parse_reaction
from domains.chemistry.recipes import DATA
from domains.chemistry.recipes_yield import PARAMS, additive_held_out, random_70_30
from hub.sdk import learning as training

VARIANTS = ("r2", "r1", "r2+feature", "r2+descriptors", "regularised")


def feature_morgan_bag(n_bits: int = 2048) -> Callable[[Reaction], np.ndarray]:
    """As the served ``reaction_bag``, with feature-Morgan (pharmacophoric) atom invariants."""
    gen = rdFingerprintGenerator.GetMorganGenerator(
        radius=2,
        fpSize=n_bits,
        atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen(),
    )
    cache: dict[str, np.ndarray] = {}

    def featurize(rxn: Reaction) -> np.ndarray:
        total = np.zeros(n_bits, np.float32)
        for smi, mol in zip(rxn.components, rxn.mols, strict=True):
            if smi not in cache:
                cache[smi] = gen.GetCountFingerprintAsNumPy(mol).astype(np.float32)
            total += cache[smi]
        return np.log1p(total)

    return featurize


def additive_descriptors(additives: list[str]) -> np.ndarray:
    """RDKit's 2D descriptors of each row's additive, standardised over the data set."""
    table = {a: Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(a)) for a in set(additives)}
    d = np.nan_to_num(np.array([list(table[a].values()) for a in additives], np.float64))
    d = d[:, d.std(0) > 1e-9]
    return np.clip((d - d.mean(0)) / d.std(0), -5, 5).astype(np.float32)


def features(variant: str, rows: list[dict[str, str]]) -> np.ndarray:
    blocks = [reaction_bag(radius=1 if variant == "r1" else 2, n_bits=4096)]  # as served
    if variant == "r2+feature":
        blocks.append(feature_morgan_bag())
    parsed = {smiles: parse_reaction(smiles) for smiles in {r["rxn"] for r in rows}}
    reactions = [parsed[r["rxn"]] for r in rows]
    x = np.stack([np.concatenate([f(rxn) for f in blocks]) for rxn in reactions])
    if variant == "r2+descriptors":
        x = np.concatenate([x, additive_descriptors([r["additive"] for r in rows])], 1)
    return x


def r2_of(x: np.ndarray, y: np.ndarray, split: tuple, mlp: Any, seed: int) -> float:
    import keras

    i_tr, i_va, i_te = split
    model = training.fit_ensemble(
        x[i_tr], y[i_tr], x[i_va], y[i_va], mlp, seed, active_columns=True
    )
    mean, _ = training.predict_members(model, x[i_te])
    keras.backend.clear_session()
    return training.regression_metrics(y[i_te], np.clip(mean, 0, 100))["r2"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--random", type=int, default=2, help="random 70/30 splits per variant")
    args = ap.parse_args()
    with gzip.open(DATA / "DreherDoyle.csv.gz", "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([float(r["yield"]) for r in rows], np.float32)
    groups = [r["additive"] for r in rows]
    print(f"{'variant':<16} {'additive-held-out R2 (groups 1-4)':<36} random 70/30 R2")
    for variant in args.variants:
        changes = {"dropout": 0.3, "weight_decay": 1e-3} if variant == "regularised" else {}
        mlp = training.EnsembleParams.from_params({**PARAMS, "members": args.members, **changes})
        x = features(variant, rows)
        held_out = [  # the recipe's own splits and seeds
            r2_of(x, y, (i_tr, i_va, i_te), mlp, seed)
            for i_tr, i_va, i_te, seed in additive_held_out(groups, PARAMS["seed"])
        ]
        rand = [
            r2_of(x, y, random_70_30(len(y), PARAMS["seed"] + s), mlp, PARAMS["seed"] + s)
            for s in range(args.random)
        ]
        print(
            f"{variant:<16} {' '.join(f'{v:6.3f}' for v in held_out):<36} "
            f"{' '.join(f'{v:.3f}' for v in rand)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
