"""The physics domain record, loaded by the hub through the ``hub.domains`` entry point."""

from __future__ import annotations

from hub.plugins import Domain, InputType


def domain() -> Domain:
    from domains.physics.recipes import EMT
    from domains.physics.simulators import EMT_SIMULATOR
    from domains.physics.structures import parse_atoms

    atoms = InputType(
        name="atoms",
        description=(
            "An atomic structure: {symbols|numbers, positions (Å), cell (Å), pbc} or {extxyz: text}"
        ),
        parse=parse_atoms,
        example={
            "symbols": ["Cu"],
            "positions": [[0, 0, 0]],
            "cell": [[0, 1.805, 1.805], [1.805, 0, 1.805], [1.805, 1.805, 0]],
            "pbc": True,
        },
    )
    return Domain(
        name="physics",
        description="Atomic systems with ASE",
        input_types=(atoms,),
        simulators=(EMT_SIMULATOR,),
        recipes=(EMT,),
    )
