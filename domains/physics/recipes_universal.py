"""Recipes of the universal potentials: physics.sevennet-0, physics.sevennet-l3i5, physics.chgnet.

Each registers its engine's parameters (model, threads, limits and its weights: file, sha256,
licence, citation, training data; the engine refuses other weights) and reference figures the
engine computes at registration: the lattice constants and bulk moduli of rock-salt NaCl and
diamond Si from Birch-Murnaghan fits (primitive cells, 9 points), with the NaCl curve as a plot.

They are offered only where the ``universal`` extra is installed (:func:`universal_recipes`):
the default install builds without PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ase.build import bulk

from domains.physics.universal import (
    CHGNET_LIMITS,
    L3I5_LIMITS,
    SEVENNET_LIMITS,
    WEIGHTS,
    Weights,
    available,
)
from hub.sdk import Metric, ModelInfo, OutputSpec, Recipe, RecipeContext, RecipeResult

OUTPUTS = (
    OutputSpec("energy", "eV", "potential energy"),
    OutputSpec("forces", "eV/Å", "forces on the atoms, shape (n_atoms, 3)"),
    OutputSpec("stress", "eV/Å^3", "stress, Voigt order, periodic cells only"),
)
MAGMOMS = OutputSpec("magmoms", "μB", "magnetic moment of each atom (CHGNet)")

# (label, structure builder at lattice constant a (Å), experimental a (Å), experimental B (GPa))
# Experiment: Kittel, Introduction to Solid State Physics, 8th ed., tables 1.3 and 3.3 (room
# temperature lattice constants; bulk moduli).
REFERENCES = (
    ("nacl", lambda a: bulk("NaCl", "rocksalt", a=a), 5.640, 24.0),
    ("si", lambda a: bulk("Si", "diamond", a=a), 5.431, 98.8),
)


def eos_reference(compute: Callable, a_guess: float, make: Callable, points: int = 9) -> dict:
    """E(a) on +-3 % of ``a_guess`` (``points`` cells), a Birch-Murnaghan fit: the lattice
    constant (Å) and bulk modulus (GPa) at its minimum, and the curve."""
    from ase.eos import EquationOfState
    from ase.units import GPa

    grid = np.linspace(0.97 * a_guess, 1.03 * a_guess, points)
    cells = [make(float(a)) for a in grid]
    energies = [float(compute(c)["energy"]) for c in cells]
    volumes = [c.get_volume() for c in cells]
    fit = EquationOfState(volumes, energies, eos="birchmurnaghan")
    v0, _, b = fit.fit()
    a0 = float(a_guess * (v0 / make(a_guess).get_volume()) ** (1 / 3))
    curve = [float(e) for e in fit.func(np.array(volumes), *fit.eos_parameters)]
    return {"a": a0, "b_gpa": float(b / GPa), "grid": grid.tolist(), "e": energies, "fit": curve}


def _register(simulator: str, weights: Weights) -> Callable[[RecipeContext], RecipeResult]:
    def register(ctx: RecipeContext) -> RecipeResult:
        from hub.sdk import load_plugins
        from hub.sdk.plots import curve_svg

        compute = load_plugins().simulator(simulator).build(**ctx.params)
        metrics, curves = [], {}
        for i, (label, make, a_exp, _b_exp) in enumerate(REFERENCES):
            ref = eos_reference(compute, a_exp, make)
            curves[label] = ref
            metrics += [
                Metric(f"{label}_lattice_constant_angstrom", ref["a"], split="reference"),
                Metric(f"{label}_bulk_modulus_gpa", ref["b_gpa"], split="reference"),
            ]
            ctx.progress((i + 1) / (len(REFERENCES) + 1), f"{label}: a = {ref['a']:.3f} Å")
        nacl = curves["nacl"]
        svg = curve_svg(
            {
                f"Birch-Murnaghan fit, B = {nacl['b_gpa']:.1f} GPa": (nacl["grid"], nacl["fit"]),
                "computed by the engine": (nacl["grid"], nacl["e"]),
            },
            xlabel="lattice constant a (Å)",
            ylabel="energy per NaCl (eV)",
            title=f"rock-salt NaCl, minimum at a = {nacl['a']:.3f} Å",
        )
        caption = (
            "Energy of rock-salt NaCl (two-atom cell) against the lattice constant, computed "
            f"by this model at registration: a = {nacl['a']:.3f} Å (experiment 5.640 Å, room "
            f"temperature), B = {nacl['b_gpa']:.1f} GPa (experiment 24 GPa)."
        )
        spec: dict[str, Any] = {
            "simulator": simulator,
            "params": dict(ctx.params),
            "plots": {"plot_eos": caption},
        }
        artifacts = {"plot_eos": ctx.put_artifact(svg)}
        ctx.progress(1.0, "checked")
        description = (
            f"Weights: {weights.title}, {weights.path} inside the {weights.package} wheel, "
            f"sha256 {weights.sha256}; licence {weights.license}; trained on "
            f"{weights.training_data}; cite {weights.citation}."
        )
        return RecipeResult(
            kind="simulator",
            spec=spec,
            artifacts=artifacts,
            metrics=tuple(metrics),
            description=description,
        )

    return register


def _recipe(name: str, title: str, blurb: str, simulator: str, key: str, params: dict) -> Recipe:
    weights = WEIGHTS[key]
    outputs = (*OUTPUTS, MAGMOMS) if simulator == "physics.chgnet" else OUTPUTS
    info = ModelInfo(
        name=name,
        domain="physics",
        task="simulation",
        title=title,
        description=(
            f"{blurb} Pretrained on {weights.training_data}; runs on the CPU (PyTorch), "
            "weights shipped in the package wheel (nothing downloaded). Elements outside the "
            "training set are refused as unsupported_element. "
            f"Licence: {weights.license}. Cite: {weights.citation}."
        ),
        input_type="atoms",
        outputs=outputs,
        tags=("simulator", "universal-potential", "materials", "potential", "pytorch"),
    )
    engine = {**params, "threads": 1, "weights": weights.to_dict()}
    return Recipe(model=info, train=_register(simulator, weights), params=engine, minutes=0.5)


SEVENNET_0 = _recipe(
    "physics.sevennet-0",
    "SevenNet-0 universal potential",
    "SevenNet-0 (11Jul2024), an E(3)-equivariant graph network potential (NequIP-like, 5 Å "
    "cutoff) for energy, forces and stress of inorganic materials; Matbench Discovery F1 0.72.",
    "physics.sevennet",
    "7net-0",
    {"model": "7net-0", "limits": SEVENNET_LIMITS.to_dict()},
)
SEVENNET_L3I5 = _recipe(
    "physics.sevennet-l3i5",
    "SevenNet-l3i5 universal potential",
    "SevenNet-l3i5: SevenNet with spherical harmonics up to l = 3 and 5 interaction layers; "
    "more accurate than SevenNet-0 (Matbench Discovery F1 0.76) and about 4 times slower.",
    "physics.sevennet",
    "7net-l3i5",
    {"model": "7net-l3i5", "limits": L3I5_LIMITS.to_dict()},
)
CHGNET = _recipe(
    "physics.chgnet",
    "CHGNet 0.3.0 universal potential",
    "CHGNet 0.3.0, a crystal graph network potential (6 Å atom graph, 3 Å bond graph) for "
    "energy, forces, stress and magnetic moments (charge-informed) of 3-D periodic crystals; "
    "Matbench Discovery F1 0.61.",
    "physics.chgnet",
    "chgnet-0.3.0",
    {"model": "0.3.0", "limits": CHGNET_LIMITS.to_dict()},
)


def universal_recipes() -> tuple[Recipe, ...]:
    """The recipes whose packages are installed (none without the ``universal`` extra)."""
    out: list[Recipe] = []
    if available("sevenn"):
        out += [SEVENNET_0, SEVENNET_L3I5]
    if available("chgnet"):
        out.append(CHGNET)
    return tuple(out)
