"""Drawings of parsed inputs for the catalog pages: molecules and reactions as SVG, with RDKit.

The drawing is of what the model actually used (the standardised molecule, the canonical
reaction components), made by RDKit from a parsed RDKit object: no input text is copied into
the SVG.
"""

from __future__ import annotations

from rdkit import Chem

from domains.chemistry.molecules import Molecule
from domains.chemistry.reactions import Reaction


def depict_molecule(mol: Molecule, *, width: int = 320, height: int = 240) -> str:
    """SVG text of the standardised molecule, ``width`` x ``height`` pixels."""
    from rdkit.Chem.Draw import rdMolDraw2D

    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, Chem.Mol(mol.mol))
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def depict_reaction(rxn: Reaction, *, width: int | None = None, height: int = 170) -> str:
    """SVG text of the reaction: reactants, agents over the arrow, products; ``width``
    defaults to about 190 pixels a molecule, so that a six-component HTE reaction is not
    drawn smaller than a two-component one."""
    from rdkit.Chem import rdChemReactions
    from rdkit.Chem.Draw import rdMolDraw2D

    reaction = rdChemReactions.ReactionFromSmarts(rxn.smiles(), useSmiles=True)
    n = len(rxn.reactants) + len(rxn.agents) + len(rxn.products)
    drawer = rdMolDraw2D.MolDraw2DSVG(width or max(600, 190 * n), height)
    drawer.drawOptions().padding = 0.02  # RDKit lays a reaction out in a fixed band: less margin
    drawer.DrawReaction(reaction)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()
