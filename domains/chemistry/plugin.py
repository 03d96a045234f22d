"""The chemistry domain record, loaded by the hub through the ``hub.domains`` entry point."""

from __future__ import annotations

from hub.sdk import Domain, InputType


def domain() -> Domain:
    """Imports RDKit and TensorFlow-side code only when the hub asks for the domain."""
    from domains.chemistry.applicability import TANIMOTO_DOMAIN
    from domains.chemistry.depict import depict_molecule, depict_reaction
    from domains.chemistry.explain import explain_molecule
    from domains.chemistry.featurizers import RDKIT2D_MORGAN
    from domains.chemistry.molecules import LIMITS as MOLECULE_LIMITS
    from domains.chemistry.molecules import Molecule, parse_molecule
    from domains.chemistry.products import (
        TEMPLATE_KIND,
        ReactantSet,
        depict_reactants,
        parse_reactants,
    )
    from domains.chemistry.reaction_features import COMPONENTS_SEEN, REACTION_BAG
    from domains.chemistry.reactions import LIMITS as REACTION_LIMITS
    from domains.chemistry.reactions import Reaction, parse_reaction
    from domains.chemistry.recipes import RECIPES
    from domains.chemistry.recipes_products import RECIPES as PRODUCT_RECIPES
    from domains.chemistry.recipes_yield import RECIPES as YIELD_RECIPES
    from domains.chemistry.trainer import PROPERTY_TRAINER

    smiles = InputType(
        name="smiles",
        description=(
            "A molecule as a SMILES (or InChI) string; standardised with RDKit "
            "MolStandardize (largest organic fragment, neutralised)"
        ),
        parse=parse_molecule,
        describe=Molecule.describe,
        explain=explain_molecule,
        depict=depict_molecule,
        example="c1ccccc1O",
        key=Molecule.key,
        domain_annotator=TANIMOTO_DOMAIN.name,
        limits=MOLECULE_LIMITS,
    )
    reaction = InputType(
        name="reaction_smiles",
        description=(
            "A reaction SMILES ('reactants>agents>products' or 'reactants>>products') "
            "or an object of components by role (aryl_halide, amine, ligand, base, ...)"
        ),
        parse=parse_reaction,
        describe=Reaction.describe,
        depict=depict_reaction,
        example="Brc1ccccn1.Cc1ccc(N)cc1>>Cc1ccc(Nc2ccccn2)cc1",
        limits=REACTION_LIMITS,
    )
    reactants = InputType(
        name="reactants",
        description=(
            "Reactants to react: 'A.B', a reaction SMILES 'A.B>reagents>' (a product side is "
            "not used, only ranked), or {reactants: [...], reagents: [...]}"
        ),
        parse=parse_reactants,
        describe=ReactantSet.describe,
        depict=depict_reactants,
        example={"reactants": ["OC(=O)c1ccccc1", "NCc1ccccc1"], "reagents": ["CCN=C=NCCCN(C)C"]},
    )
    return Domain(
        name="chemistry",
        description="Molecules from SMILES, with RDKit",
        input_types=(smiles, reaction, reactants),
        featurizers=(RDKIT2D_MORGAN, REACTION_BAG),
        annotators=(TANIMOTO_DOMAIN, COMPONENTS_SEEN),
        model_kinds=(TEMPLATE_KIND,),
        recipes=RECIPES + YIELD_RECIPES + PRODUCT_RECIPES,
        trainers=(PROPERTY_TRAINER,),
    )
