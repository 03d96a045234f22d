"""The physics domain record, loaded by the hub through the ``hub.domains`` entry point."""

from __future__ import annotations

from hub.sdk import Domain, InputType

ATOMS_HELP = (
    "An atomic structure: {symbols|numbers, positions (Å) or positions_b64, cell (Å), "
    "pbc} or {extxyz: text}"
)


def domain() -> Domain:
    from domains.physics.descriptors import SOAP_FEATURIZER
    from domains.physics.nnp_kind import NNP_KIND
    from domains.physics.qm9 import QM9_DOMAIN
    from domains.physics.recipes import RECIPES
    from domains.physics.recipes_nnp import RECIPES as NNP_RECIPES
    from domains.physics.recipes_qm9 import RECIPES as QM9_RECIPES
    from domains.physics.recipes_universal import universal_recipes
    from domains.physics.simulators import EMT_SIMULATOR, LJ_SIMULATOR
    from domains.physics.structures import (
        LIMITS,
        describe_molecule3d,
        estimate_atoms,
        parse_atoms,
        parse_molecule3d,
    )
    from domains.physics.tasks import TASKS
    from domains.physics.tasks_neb import (
        ENDPOINTS_HELP,
        NEB_TASKS,
        estimate_endpoints,
        parse_endpoints,
    )
    from domains.physics.tasks_vib import VIB_TASKS
    from domains.physics.universal import UNIVERSAL_SIMULATORS
    from domains.physics.xtb import XTB_SIMULATOR

    # each item's cost, read before parsing, and the limits every structure is checked against
    common = {"cost": estimate_atoms, "limits": LIMITS}
    atoms = InputType(
        name="atoms",
        description=ATOMS_HELP,
        parse=parse_atoms,
        example={
            "symbols": ["Cu"],
            "positions": [[0, 0, 0]],
            "cell": [[0, 1.805, 1.805], [1.805, 0, 1.805], [1.805, 1.805, 0]],
            "pbc": True,
        },
        **common,
    )
    molecule3d = InputType(
        name="molecule3d",
        description=ATOMS_HELP + "; or a SMILES, embedded in 3D (ETKDG)",
        parse=parse_molecule3d,
        describe=describe_molecule3d,
        example="CCO",
        **common,
    )
    endpoints = InputType(
        name="endpoints",
        description=ENDPOINTS_HELP,
        parse=parse_endpoints,
        example={"initial": atoms.example, "final": atoms.example},
        cost=estimate_endpoints,
        limits=LIMITS,
    )
    return Domain(
        name="physics",
        description="Atomic systems with ASE",
        input_types=(atoms, molecule3d, endpoints),
        simulators=(EMT_SIMULATOR, LJ_SIMULATOR, XTB_SIMULATOR, *UNIVERSAL_SIMULATORS),
        featurizers=(SOAP_FEATURIZER,),
        annotators=(QM9_DOMAIN,),
        tasks=TASKS + NEB_TASKS + VIB_TASKS,
        model_kinds=(NNP_KIND,),
        recipes=RECIPES + NNP_RECIPES + QM9_RECIPES + universal_recipes(),
    )
