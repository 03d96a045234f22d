"""Recipes of the physics models. A simulator's recipe trains nothing: it registers the engine's
name and parameters, with reference figures the engine computes at registration (and plots of
them, stored as ``plot_*`` artifacts the catalog pages show). The engine parameters include the
model's cost limits (``params["limits"]``, :mod:`domains.physics.limits`), so the card shows
them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ase.build import bulk, molecule

from domains.physics.limits import EMT_LIMITS, LJ_LIMITS, XTB_LIMITS
from hub.sdk import Metric, ModelInfo, OutputSpec, Recipe, RecipeContext, RecipeResult

ENERGY_OUTPUTS = (
    OutputSpec("energy", "eV", "potential energy"),
    OutputSpec("forces", "eV/Å", "forces on the atoms, shape (n_atoms, 3)"),
    OutputSpec("stress", "eV/Å^3", "stress, Voigt order, periodic cells only"),
)


@dataclass(frozen=True)
class Reference:
    """What a simulator's recipe measures at registration: metrics, and plots as
    ``role -> (SVG bytes, caption)`` (roles start with ``plot_``)."""

    metrics: list[Metric]
    plots: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def simulator_recipe(
    info: ModelInfo,
    simulator: str,
    params: dict[str, Any],
    reference: Callable[[Callable], Reference | list[Metric]],
    *,
    revision: str = "2",
) -> Recipe:
    def register(ctx: RecipeContext) -> RecipeResult:
        from hub.sdk import load_plugins

        compute = load_plugins().simulator(simulator).build(**ctx.params)
        ref = reference(compute)
        ref = ref if isinstance(ref, Reference) else Reference(list(ref))
        spec: dict[str, Any] = {"simulator": simulator, "params": dict(ctx.params)}
        artifacts = {role: ctx.put_artifact(svg) for role, (svg, _) in ref.plots.items()}
        if ref.plots:
            spec["plots"] = {role: caption for role, (_, caption) in ref.plots.items()}
        ctx.progress(1.0, "checked")
        return RecipeResult(
            kind="simulator", spec=spec, artifacts=artifacts, metrics=tuple(ref.metrics)
        )

    return Recipe(model=info, train=register, params=params, revision=revision, minutes=0.1)


def _cu_lattice(compute: Callable) -> Reference:
    """E(a) of fcc Cu (one-atom primitive cell) on a 0.005 Å grid: the lattice constant at the
    grid's minimum, the bulk modulus from a Birch-Murnaghan fit, and the curve as a plot."""
    import numpy as np
    from ase.eos import EquationOfState
    from ase.units import GPa

    from hub.sdk.plots import curve_svg

    grid = [3.50 + 0.005 * i for i in range(41)]
    energies = [compute(bulk("Cu", "fcc", a=a))["energy"] for a in grid]
    a0 = grid[min(range(len(grid)), key=energies.__getitem__)]
    volumes = np.array(grid) ** 3 / 4  # Å^3 per atom
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    _, _, bulk_modulus = eos.fit()
    svg = curve_svg(
        {  # the fit as a line (41 points), every other computed point as a marker (21)
            f"Birch-Murnaghan fit, B = {bulk_modulus / GPa:.0f} GPa": (
                grid,
                [float(e) for e in eos.func(volumes, *eos.eos_parameters)],
            ),
            "computed by the engine": (grid[::2], energies[::2]),
        },
        xlabel="lattice constant a (Å)",
        ylabel="energy per atom (eV)",
        title=f"equation of state of fcc Cu, minimum at a = {a0:.3f} Å",
    )
    caption = (
        "Energy per atom of fcc Cu against the lattice constant, computed by this engine at "
        f"registration; minimum at {a0:.3f} Å (experiment about 3.615 Å), bulk modulus "
        f"{bulk_modulus / GPa:.0f} GPa from a Birch-Murnaghan fit (experiment about 140 GPa)."
    )
    return Reference(
        [
            Metric("cu_fcc_lattice_constant_angstrom", a0, split="reference"),
            Metric("cu_bulk_modulus_gpa", float(bulk_modulus / GPa), split="reference"),
        ],
        {"plot_eos": (svg, caption)},
    )


def _ar_dimer(compute: Callable) -> list[Metric]:
    from ase import Atoms

    grid = [3.5 + 0.01 * i for i in range(101)]
    energies = [compute(Atoms("Ar2", positions=[[0, 0, 0], [0, 0, r]]))["energy"] for r in grid]
    k = min(range(len(grid)), key=energies.__getitem__)
    return [
        Metric("ar2_bond_length_angstrom", grid[k], split="reference"),
        Metric("ar2_well_depth_ev", -energies[k], split="reference"),
    ]


def _water(compute: Callable) -> list[Metric]:
    out = compute(molecule("H2O"))
    dipole = float(sum(d * d for d in out["dipole"]) ** 0.5)
    return [
        Metric("h2o_energy_ev", out["energy"], split="reference"),
        Metric("h2o_dipole_debye", dipole, split="reference"),
        Metric("h2o_homo_lumo_gap_ev", out["homo_lumo_gap"], split="reference"),
    ]


EMT = simulator_recipe(
    ModelInfo(
        name="physics.emt",
        domain="physics",
        task="simulation",
        title="EMT (ASE / asap3)",
        description=(
            "Effective medium theory potential: energy, forces and stress of metals and "
            "simple adsorbates (H, C, N, O, Al, Ni, Cu, Pd, Ag, Pt, Au). Runs asap3's "
            "EMT when installed (faster), else ASE's; each response names the engine. "
            "Fast and approximate; for fcc metals, their surfaces and alloys."
        ),
        input_type="atoms",
        outputs=ENERGY_OUTPUTS,
        tags=("simulator", "emt", "metals", "potential"),
    ),
    "physics.emt",
    {"engine": "auto", "limits": EMT_LIMITS.to_dict()},
    _cu_lattice,
    revision="3",  # 3: E(a) plot and bulk modulus
)

LENNARD_JONES = simulator_recipe(
    ModelInfo(
        name="physics.lennard-jones",
        domain="physics",
        task="simulation",
        title="Lennard-Jones (argon parameters)",
        description=(
            "ASE's Lennard-Jones pair potential with argon's parameters (sigma 3.405 Å, "
            "epsilon 0.0104 eV, cutoff 3 sigma). Applies the same pair potential to any "
            "element: meant for noble gases and for testing workflows."
        ),
        input_type="atoms",
        outputs=ENERGY_OUTPUTS,
        tags=("simulator", "lennard-jones", "potential"),
    ),
    "physics.lennard-jones",
    {
        "sigma": 3.405,
        "epsilon": 0.0104,
        "rc": 10.215,
        "limits": LJ_LIMITS.to_dict(),
    },
    _ar_dimer,
)

GFN2_XTB = simulator_recipe(
    ModelInfo(
        name="physics.gfn2-xtb",
        domain="physics",
        task="simulation",
        title="GFN2-xTB (tblite)",
        description=(
            "Semi-empirical tight binding GFN2-xTB (Bannwarth, Ehlert, Grimme, JCTC 15, "
            "1652 (2019)) through tblite, for molecules with elements H to Rn: energy, "
            "forces, dipole, Mulliken charges and HOMO-LUMO gap. Give an atoms object or a "
            "SMILES (embedded with RDKit ETKDGv3, seed 42, and MMFF94). One thread."
        ),
        input_type="molecule3d",
        outputs=(
            OutputSpec("energy", "eV", "total energy"),
            OutputSpec("forces", "eV/Å", "forces on the atoms"),
            OutputSpec("dipole", "D", "dipole moment vector"),
            OutputSpec("charges", "e", "atomic partial charges"),
            OutputSpec("homo_lumo_gap", "eV", "HOMO-LUMO gap"),
        ),
        tags=("simulator", "xtb", "quantum-chemistry", "molecules"),
    ),
    "physics.gfn2-xtb",
    {
        "accuracy": 1.0,
        "max_iterations": 250,
        "electronic_temperature_K": 300.0,
        "charge": 0,
        "threads": 1,
        "limits": XTB_LIMITS.to_dict(),
    },
    _water,
)

RECIPES = (EMT, LENNARD_JONES, GFN2_XTB)
