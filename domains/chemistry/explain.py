"""Per-atom explanations of a property prediction, drawn with RDKit.

Atom occlusion: for each heavy atom, the molecule is predicted again with that atom deleted
(its neighbours take implicit hydrogens); the atom's contribution is the full prediction minus
that one. It needs nothing from the model but predictions, so it works for any featurizer. The
SVG colours atoms by contribution (RDKit similarity map: green raises, pink lowers the value).

SHAP (``params: {"explain": "shap"}``, tree models): the model kind computes each feature's
SHAP value (``shap`` library); here they are named after the ``chemistry.rdkit2d_morgan``
layout (the Morgan count bits, then the descriptors), each fingerprint bit set in the molecule
with its atoms (the centres and radii of the environments that set it, and the atoms they
cover). The SVG colours each atom by the SHAP values of the bits covering it, shared equally
among each environment's atoms (descriptors have no atoms: their part is in the list only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rdkit import Chem

from domains.chemistry.molecules import Molecule

MAX_ATOMS_TO_EXPLAIN = 100


def _without_atom(mol: Chem.Mol, index: int) -> Chem.Mol | None:
    """``mol`` with atom ``index`` deleted, or None when what is left is not a molecule.
    Works on the Kekulé form so that a ring opened by the deletion is a valid chain."""
    rw = Chem.RWMol(mol)
    Chem.Kekulize(rw, clearAromaticFlags=True)
    for nb in rw.GetAtomWithIdx(index).GetNeighbors():
        nb.SetNoImplicit(False)
        nb.SetNumExplicitHs(0)
    rw.RemoveAtom(index)
    out = rw.GetMol()
    try:
        Chem.SanitizeMol(out)
    except (ValueError, RuntimeError):
        return None
    return out


def draw_contributions(mol: Chem.Mol, weights: list[float], size: int = 350) -> str:
    from rdkit.Chem.Draw import SimilarityMaps, rdMolDraw2D

    drawer = rdMolDraw2D.MolDraw2DSVG(size, size)
    if mol.GetNumAtoms() > 1 and any(w != 0 for w in weights):
        SimilarityMaps.GetSimilarityMapFromWeights(mol, list(weights), draw2d=drawer)
    else:
        drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def explain_molecule(
    mol: Molecule,
    predict: Callable[[list[Any]], Any],
    shap: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``{"method", "atoms": [{index, symbol, contribution}], "svg"}``; with ``shap`` (the
    model kind's SHAP values of this molecule's features): :func:`explain_shap`."""
    if shap is not None:
        return explain_shap(mol, shap)
    n = mol.mol.GetNumAtoms()
    if n > MAX_ATOMS_TO_EXPLAIN:
        return {"error": f"explanations are limited to {MAX_ATOMS_TO_EXPLAIN} atoms"}
    variants, where = [mol], []
    for i in range(n):
        reduced = _without_atom(mol.mol, i) if n > 1 else None
        if reduced is not None and reduced.GetNumAtoms():
            variants.append(Molecule(reduced, Chem.MolToSmiles(reduced), ""))
            where.append(i)
    preds = np.asarray(predict(variants), dtype=float)
    contrib = [0.0] * n
    for k, i in enumerate(where):
        contrib[i] = float(preds[0] - preds[k + 1])
    atoms = [
        {
            "index": a.GetIdx(),
            "symbol": a.GetSymbol(),
            "contribution": round(contrib[a.GetIdx()], 5),
        }
        for a in mol.mol.GetAtoms()
    ]
    return {
        "method": "atom occlusion: prediction minus prediction with the atom deleted",
        "atoms": atoms,
        "svg": draw_contributions(mol.mol, contrib),
    }


def _environment_atoms(mol: Chem.Mol, centre: int, radius: int) -> set[int]:
    """The atoms of the Morgan environment of ``radius`` bonds around atom ``centre``."""
    if radius == 0:
        return {centre}
    atoms = {centre}
    for b in Chem.FindAtomEnvironmentOfRadiusN(mol, radius, centre):
        bond = mol.GetBondWithIdx(b)
        atoms |= {bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()}
    return atoms


def bit_environments(mol: Chem.Mol, radius: int, n_bits: int) -> dict[int, list[tuple[int, int]]]:
    """Morgan bit -> the (centre atom, radius) environments of ``mol`` that set it."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = rdFingerprintGenerator.AdditionalOutput()
    out.AllocateBitInfoMap()
    gen.GetCountFingerprintAsNumPy(mol, additionalOutput=out)
    return {int(b): [(int(a), int(r)) for a, r in envs] for b, envs in out.GetBitInfoMap().items()}


def explain_shap(mol: Molecule, shap: dict[str, Any]) -> dict[str, Any]:
    """The top ``shap["top"]`` features of a molecule by |SHAP value| (``shap["values"]``,
    one per feature of ``shap["featurizer"]``, a ``chemistry.rdkit2d_morgan`` spec), named,
    with their values in the feature vector; bits with their atoms; the per-atom SVG."""
    values = np.asarray(shap["values"], float)
    features = np.asarray(shap["features"], float)
    fparams = shap["featurizer"].get("params", {})
    n_bits, radius = int(fparams.get("n_bits") or 0), int(fparams.get("radius", 2))
    descriptors = list(fparams.get("descriptors") or [])
    envs = bit_environments(mol.mol, radius, n_bits) if n_bits else {}
    weights = [0.0] * mol.mol.GetNumAtoms()
    for bit, where in envs.items():
        for centre, r in where:
            atoms = _environment_atoms(mol.mol, centre, r)
            for a in atoms:
                weights[a] += values[bit] / len(where) / len(atoms)
    listed = []
    for k in np.argsort(-np.abs(values))[: int(shap.get("top", 10))]:
        k = int(k)
        entry: dict[str, Any] = {"index": k, "shap": round(float(values[k]), 6)}
        if k < n_bits:
            entry["feature"] = f"Morgan bit {k} (radius {radius}, count)"
            entry["value"] = round(float(np.expm1(features[k])))  # log1p of the count
            entry["environments"] = [
                {"centre": c, "radius": r, "atoms": sorted(_environment_atoms(mol.mol, c, r))}
                for c, r in envs.get(k, [])
            ]
        else:
            d = k - n_bits
            entry["feature"] = descriptors[d] if d < len(descriptors) else f"feature {k}"
            x = float(features[k])
            entry["value"] = round(float(np.sign(x) * np.expm1(abs(x))), 6)  # signed log1p
        listed.append(entry)
    return {
        "method": "SHAP values of the trees (shap TreeExplainer), top features by |value|",
        "features": listed,
        "total": round(float(values.sum()), 6),
        "atoms": [
            {"index": a.GetIdx(), "symbol": a.GetSymbol(), "contribution": round(weights[i], 5)}
            for i, a in enumerate(mol.mol.GetAtoms())
        ],
        "svg": draw_contributions(mol.mol, weights),
    }
