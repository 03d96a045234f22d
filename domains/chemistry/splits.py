"""Bemis-Murcko scaffold splits (the random ones are the pipeline's: hub.sdk.learning)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

SCAFFOLD_SPLITTER = (
    "scaffold (DeepChem order): Bemis-Murcko scaffold sets sorted largest "
    "first and filled into train, then validation, then test; all acyclic "
    "molecules share the empty scaffold, the largest set, so they are in train"
)


def scaffold_of(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False) if mol else ""


def scaffold_split(
    smiles: Sequence[str], test_fraction: float = 0.1, val_fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic scaffold split, as :data:`SCAFFOLD_SPLITTER` describes."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(smiles):
        groups[scaffold_of(s)].append(i)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    n = len(smiles)
    train_cut, val_cut = (1 - test_fraction - val_fraction) * n, (1 - test_fraction) * n
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for _, idx in ordered:
        if len(train) + len(idx) <= train_cut:
            train += idx
        elif len(train) + len(val) + len(idx) <= val_cut:
            val += idx
        else:
            test += idx
    return np.array(train), np.array(val), np.array(test)
