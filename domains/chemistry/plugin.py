"""The chemistry domain record, loaded by the hub through the ``hub.domains`` entry point."""

from __future__ import annotations

from hub.plugins import Domain, InputType


def domain() -> Domain:
    """Imports RDKit and TensorFlow-side code only when the hub asks for the domain."""
    from domains.chemistry.applicability import TANIMOTO_DOMAIN
    from domains.chemistry.explain import explain_molecule
    from domains.chemistry.featurizers import RDKIT2D_MORGAN
    from domains.chemistry.molecules import Molecule, parse_molecule
    from domains.chemistry.recipes import RECIPES

    smiles = InputType(
        name="smiles",
        description=(
            "A molecule as a SMILES (or InChI) string; standardised with RDKit "
            "MolStandardize (largest organic fragment, neutralised)"
        ),
        parse=parse_molecule,
        describe=Molecule.describe,
        explain=explain_molecule,
        example="c1ccccc1O",
    )
    return Domain(
        name="chemistry",
        description="Molecules from SMILES, with RDKit",
        input_types=(smiles,),
        featurizers=(RDKIT2D_MORGAN,),
        annotators=(TANIMOTO_DOMAIN,),
        recipes=RECIPES,
    )
