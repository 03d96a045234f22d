"""Per-atom explanations of a property prediction, drawn with RDKit.

Atom occlusion: for each heavy atom, the molecule is predicted again with that atom deleted
(its neighbours take implicit hydrogens); the atom's contribution is the full prediction minus
that one. It needs nothing from the model but predictions, so it works for any featurizer. The
SVG colours atoms by contribution (RDKit similarity map: green raises, pink lowers the value).
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


def explain_molecule(mol: Molecule, predict: Callable[[list[Any]], Any]) -> dict[str, Any]:
    """``{"method", "atoms": [{index, symbol, contribution}], "svg"}``."""
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
