"""Nudged elastic band (ASE's :class:`ase.mep.NEB`) as a job on any energy model.

The job's input is the ``endpoints`` input type: ``{"initial": atoms, "final": atoms}``, each
an atoms object as :func:`~domains.physics.structures.parse_atoms` reads it. Both must hold the
same atoms in the same order, with the same cell and periodicity (``mismatched_endpoints``
otherwise). The initial structure's constraints hold for every image (fixed slab layers stay
where they are). Units as ASE: eV, Å.

The band is ``n_images`` intermediate images interpolated (linear or IDPP, with the
minimum-image convention for periodic cells) between the endpoints, relaxed by ASE's FIRE,
BFGS or MDMin until the NEB force is below ``fmax``; with ``climb`` the highest image climbs to
the saddle. The result: each image's energy, the barriers forward (highest image minus
initial) and backward (highest minus final), the highest image, and the band as atoms (with
energy and forces) and as extxyz.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from ase import Atoms
from pydantic import Field

from domains.physics.structures import atoms_to_json, estimate_atoms, parse_atoms
from domains.physics.tasks import (
    MAX_RELAX_STEPS,
    Finite,
    ModelCalculator,
    Progress,
    TaskParams,
    check_cost,
    make_task,
    results_json,
    to_extxyz,
    with_state,
)
from hub.sdk import InvalidRequest, ItemError, check_params

ENDPOINTS_HELP = (
    "The two ends of a reaction path: {initial: atoms, final: atoms}, the same atoms in the "
    "same order, same cell and pbc"
)


class NebParams(TaskParams):
    n_images: int = Field(5, ge=1, le=30, description="intermediate images")
    climb: bool = Field(False, description="climbing image (the highest climbs to the saddle)")
    optimizer: Literal["FIRE", "BFGS", "MDMin"] = "FIRE"
    fmax: Finite = Field(0.05, gt=0, le=100, description="convergence: max NEB force, eV/Å")
    steps: int = Field(500, ge=1, le=MAX_RELAX_STEPS, description="optimiser steps at most")
    k: Finite = Field(0.1, gt=0, le=100, description="spring constant, eV/Å^2")
    method: Literal["improvedtangent", "aseneb", "eb", "spline", "string"] = "improvedtangent"
    interpolation: Literal["linear", "idpp"] = "linear"

    def force_calls(self) -> int:
        return self.n_images * (self.steps + 1) + 2


def parse_endpoints(raw: Any) -> tuple[Atoms, Atoms]:
    """The two endpoints of a band, each checked as an atoms input and against the other."""
    if not isinstance(raw, dict) or not {"initial", "final"} <= set(raw):
        raise ItemError("give {'initial': atoms, 'final': atoms}", code="invalid_atoms")
    initial, final = parse_atoms(raw["initial"]), parse_atoms(raw["final"])
    problem = None
    if len(initial) != len(final):
        problem = f"{len(initial)} atoms at the start, {len(final)} at the end"
    elif (initial.numbers != final.numbers).any():
        k = int(np.argmax(initial.numbers != final.numbers))
        problem = (
            f"atom {k} is {initial.get_chemical_symbols()[k]} at the start and "
            f"{final.get_chemical_symbols()[k]} at the end (same atoms, same order)"
        )
    elif (initial.pbc != final.pbc).any():
        problem = "the periodicity differs"
    elif not np.allclose(initial.cell.array, final.cell.array, atol=1e-6):
        problem = "the cells differ (a band keeps one cell)"
    if problem:
        raise ItemError(f"the endpoints do not match: {problem}", code="mismatched_endpoints")
    return initial, final


def estimate_endpoints(raw: Any) -> int:
    """Atoms of both endpoints, read without parsing (the input type's cost)."""
    if not isinstance(raw, dict):
        return 1
    return estimate_atoms(raw.get("initial")) + estimate_atoms(raw.get("final"))


def check_neb_input(obj: tuple[Atoms, Atoms], params: dict[str, Any]) -> None:
    """The band's cost with its structure, at submission (``too_expensive``)."""
    check_cost(obj[0], NebParams(**params), "neb")


def neb(
    predictor: Any, obj: tuple[Atoms, Atoms], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Relax a nudged elastic band between the endpoints (the module docstring)."""
    from ase.mep import NEB
    from ase.optimize import BFGS, FIRE, MDMin

    p = check_params(NebParams, params)
    initial, final = (with_state(a, params) for a in obj)
    check_cost(initial, p, "neb")
    final.set_constraint(initial.constraints)
    images = [initial] + [initial.copy() for _ in range(p.n_images)] + [final]
    for image in images:
        image.calc = ModelCalculator(predictor)
    band = NEB(images, k=p.k, climb=p.climb, method=p.method)
    try:
        band.interpolate(method=p.interpolation, mic=bool(initial.pbc.any()), apply_constraint=True)
    except (ValueError, RuntimeError) as exc:
        raise InvalidRequest(f"cannot interpolate the band: {exc}", code="invalid_request") from exc
    opt = {"FIRE": FIRE, "BFGS": BFGS, "MDMin": MDMin}[p.optimizer](band, logfile=None)

    def observe() -> None:
        progress(opt.nsteps, p.steps, f"max E = {max(band.energies):.6f} eV")

    opt.attach(observe, interval=1)
    converged = bool(opt.run(fmax=p.fmax, steps=p.steps))
    fmax = float(np.sqrt((band.get_forces() ** 2).sum(1).max()))
    energies = [float(image.get_potential_energy()) for image in images]
    top = int(np.argmax(energies))
    progress(p.steps, p.steps, "done")
    band_atoms = []
    for i, image in enumerate(images):
        image.info["image"] = i
        band_atoms.append(atoms_to_json(image) | {"results": results_json(image)})
    return {
        "converged": converged,
        "steps": opt.nsteps,
        "fmax": fmax,
        "energies": energies,
        "relative_energies": [e - energies[0] for e in energies],
        "barrier_forward": energies[top] - energies[0],
        "barrier_backward": energies[top] - energies[-1],
        "reaction_energy": energies[-1] - energies[0],
        "highest_image": top,
        "climb": p.climb,
        "images": band_atoms,
        "extxyz": to_extxyz(images),
        "units": {"energies": "eV", "barrier_forward": "eV", "fmax": "eV/Å"},
    }


NEB_TASKS = (
    make_task(
        "neb",
        "Nudged elastic band between two endpoints (ASE): barriers, band, highest image",
        neb,
        NebParams,
        input_type="endpoints",
        check_input=check_neb_input,
    ),
)
