"""Recipes of the physics models. A simulator's recipe trains nothing: it registers the engine's
name and parameters, with a check of the engine against a reference computed with ASE."""

from __future__ import annotations

from ase.build import bulk

from hub.entities import Metric, ModelInfo, OutputSpec
from hub.plugins import Recipe, RecipeContext, RecipeResult

ENERGY_OUTPUTS = (
    OutputSpec("energy", "eV", "potential energy"),
    OutputSpec("forces", "eV/Å", "forces on the atoms, shape (n_atoms, 3)"),
    OutputSpec("stress", "eV/Å^3", "stress, Voigt order, periodic cells only"),
)


def _register_emt(ctx: RecipeContext) -> RecipeResult:
    from domains.physics.simulators import emt

    # A measured sanity figure: the fcc Cu lattice constant of this EMT (ASE: 3.59 Å).
    compute = emt()
    grid = [3.50 + 0.005 * i for i in range(41)]
    energies = [compute(bulk("Cu", "fcc", a=a))["energy"] for a in grid]
    a0 = grid[min(range(len(grid)), key=energies.__getitem__)]
    ctx.progress(1.0, "checked")
    return RecipeResult(
        kind="simulator",
        spec={"simulator": "physics.emt", "params": dict(ctx.params)},
        metrics=(Metric("cu_fcc_lattice_constant_angstrom", a0, split="reference"),),
    )


EMT = Recipe(
    model=ModelInfo(
        name="physics.emt",
        domain="physics",
        task="simulation",
        title="EMT (ASE)",
        description=(
            "Effective medium theory potential as implemented in ASE: energy, forces "
            "and stress of metals and simple adsorbates (H, C, N, O, Al, Ni, Cu, Pd, "
            "Ag, Pt, Au). Fast and approximate; for fcc metals and their surfaces."
        ),
        input_type="atoms",
        outputs=ENERGY_OUTPUTS,
        tags=("simulator", "emt", "metals", "potential"),
    ),
    train=_register_emt,
    params={"asap": False},
    revision="1",
)
