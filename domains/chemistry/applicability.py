"""Applicability domain: is a molecule close to what the model was trained on?

Evidence is the Tanimoto similarity of the molecule's Morgan fingerprint (radius 2, 2048 bits)
to its nearest neighbour in the training set. A molecule is ``in_domain`` when that similarity
is at least the model's threshold, which its recipe chooses from held-out data (the 5th
percentile of held-out molecules' nearest-neighbour similarity over the random splits: 95 % of
molecules drawn like the training data are in domain) and registers with the errors measured
inside and outside the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from domains.chemistry.molecules import Molecule
from hub.sdk import Annotator

METHOD = "nearest-neighbour Tanimoto similarity, Morgan radius 2, 2048 bits"


def _generator(radius: int = 2, n_bits: int = 2048) -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


def fingerprints(mols: Sequence[Chem.Mol], radius: int = 2, n_bits: int = 2048) -> list:
    gen = _generator(radius, n_bits)
    return [gen.GetFingerprint(m) for m in mols]


def nearest_similarities(query: Sequence, reference: Sequence) -> np.ndarray:
    """For each query fingerprint, its highest Tanimoto similarity to ``reference``."""
    return np.array([max(DataStructs.BulkTanimotoSimilarity(q, reference)) for q in query])


def choose_threshold(held_out_similarities: np.ndarray, quantile: float = 0.05) -> float:
    return float(np.quantile(held_out_similarities, quantile))


def tanimoto_domain(
    artifacts: dict[str, bytes], threshold: float, radius: int = 2, n_bits: int = 2048
) -> Callable[[Molecule], dict[str, Any]]:
    """The annotator: needs the ``training_smiles`` artifact (one canonical SMILES a line)."""
    smiles = artifacts["training_smiles"].decode("utf-8").split("\n")
    gen = _generator(radius, n_bits)
    reference = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]

    def annotate(mol: Molecule) -> dict[str, Any]:
        sims = DataStructs.BulkTanimotoSimilarity(gen.GetFingerprint(mol.mol), reference)
        k = int(np.argmax(sims))
        return {
            "in_domain": bool(sims[k] >= threshold),
            "domain": {
                "nearest_similarity": round(float(sims[k]), 4),
                "nearest_training_smiles": smiles[k],
                "threshold": round(threshold, 4),
                "method": METHOD,
            },
        }

    return annotate


TANIMOTO_DOMAIN = Annotator(
    name="chemistry.tanimoto_domain",
    input_type="smiles",
    description=f"in_domain from the {METHOD} to the training set",
    build=tanimoto_domain,
)
