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
from hub.sdk import Annotator, InvalidRequest

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


def leave_one_out_similarities(reference: Sequence) -> np.ndarray:
    """For each reference fingerprint, its highest similarity to the *other* ones (a stand-in
    for held-out molecules when there are none); needs at least two fingerprints."""
    out = []
    for i, fp in enumerate(reference):
        sims = DataStructs.BulkTanimotoSimilarity(fp, reference)
        sims[i] = -1.0
        out.append(max(sims))
    return np.array(out)


def fit_tanimoto_domain(
    reference: Sequence[Molecule], held_out: Sequence[Molecule]
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Fit the domain to a model's training molecules (``reference``): the threshold is the 5th
    percentile of the ``held_out`` molecules' nearest-neighbour similarity to them, as the
    recipes choose it (without held-out molecules: of each training molecule's similarity to
    its nearest other one). Returns the ``build`` params and the ``training_smiles`` artifact
    (unique canonical SMILES, one a line, in the order first seen)."""
    smiles = list(dict.fromkeys(m.smiles for m in reference))
    if not smiles:
        raise InvalidRequest("the applicability domain needs at least one training molecule")
    gen = _generator()
    ref_fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    if held_out:
        sims = nearest_similarities([gen.GetFingerprint(m.mol) for m in held_out], ref_fps)
    elif len(ref_fps) >= 2:
        sims = leave_one_out_similarities(ref_fps)
    else:
        raise InvalidRequest(
            "the applicability domain needs held-out molecules or at least two training ones"
        )
    params = {"threshold": round(choose_threshold(sims), 6)}
    return params, {"training_smiles": "\n".join(smiles).encode("utf-8")}


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
    fit=fit_tanimoto_domain,
)
