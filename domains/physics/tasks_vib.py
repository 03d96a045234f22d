"""Vibrations and thermochemistry as jobs on any energy model (ASE's own algorithms).

- ``vibrations``: the Hessian by finite displacements (:class:`ase.vibrations.Vibrations`,
  ``delta`` Å, ``nfree`` 2 or 4 displacements per coordinate) of the structure, optionally
  relaxed first (``relax_fmax``). Returns every mode's frequency in cm^-1 (an imaginary one as
  a negative number, and flagged), the zero-point energy (eV), and how many imaginary modes
  there are beyond the rigid-body ones (3 translations and 3 rotations of a free molecule, 2
  for a linear one): a structure that is not a minimum is reported, with a warning, not hidden.
- ``thermo``: the same vibrations, then ideal-gas (:class:`ase.thermochemistry.IdealGasThermo`:
  enthalpy H, entropy S, Gibbs energy G at ``temperature_K`` and ``pressure_pa``) or harmonic
  (:class:`ase.thermochemistry.HarmonicThermo`, an adsorbate or a solid: internal energy U,
  S, Helmholtz energy F) thermochemistry. Imaginary vibrational modes are an
  ``imaginary_modes`` error unless ``ignore_imaginary`` (then left out, with a warning).

Which atoms move: ``indices`` when given, else every atom not held by a ``FixAtoms``
constraint. Units: eV, eV/K, K, Pa, cm^-1, Å.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms
from pydantic import Field

from domains.physics.tasks import (
    Finite,
    ModelCalculator,
    Progress,
    TaskParams,
    check_cost,
    make_task,
    with_state,
)
from hub.sdk import ItemError, check_params

MAX_VIB_RELAX_STEPS = 1000


class VibParams(TaskParams):
    delta: Finite = Field(0.01, gt=0, le=0.1, description="displacement, Å")
    nfree: Literal[2, 4] = Field(2, description="displacements per coordinate")
    indices: list[int] | None = Field(
        None, max_length=5000, description="atoms displaced (default: those not fixed)"
    )
    relax_fmax: Finite | None = Field(
        None, gt=0, le=10, description="relax first (BFGS) to this max |force|, eV/Å"
    )
    relax_steps: int = Field(200, ge=1, le=MAX_VIB_RELAX_STEPS, description="relax steps")

    def force_calls(self) -> int:
        return self.calls_for(len(self.indices or ()) or 1)

    def calls_for(self, n_atoms: int) -> int:
        moved = len(self.indices) if self.indices is not None else n_atoms
        relax = self.relax_steps + 1 if self.relax_fmax is not None else 0
        return 1 + 3 * moved * self.nfree + relax


class ThermoParams(VibParams):
    approximation: Literal["ideal_gas", "harmonic"] = Field(
        "ideal_gas", description="ideal gas (a molecule) or harmonic (adsorbate, solid)"
    )
    temperature_K: Finite = Field(  # noqa: N815 - ASE's name
        298.15, gt=0, le=1e5, description="temperature, K"
    )
    pressure_pa: Finite = Field(101325.0, gt=0, le=1e10, description="pressure (ideal gas), Pa")
    geometry: Literal["auto", "monatomic", "linear", "nonlinear"] = Field(
        "auto", description="ideal gas: the molecule's shape (auto: from its moments of inertia)"
    )
    symmetry_number: int = Field(1, ge=1, le=60, description="rotational symmetry number")
    spin: Finite | None = Field(
        None, ge=0, le=100, description="total spin S (default: unpaired electrons / 2)"
    )
    ignore_imaginary: bool = Field(False, description="leave imaginary modes out (warned)")


def moved_indices(atoms: Atoms, indices: list[int] | None) -> list[int]:
    """``indices`` checked against the structure, or the atoms no FixAtoms holds."""
    from ase.constraints import FixAtoms

    n = len(atoms)
    if indices is not None:
        bad = [i for i in indices if not 0 <= i < n]
        if bad or not indices:
            raise ItemError(
                f"indices must name atoms 0 to {n - 1}; got {bad[:5] or 'none'}",
                code="index_out_of_range",
            )
        return sorted(set(indices))
    fixed: set[int] = set()
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            fixed |= {int(i) for i in c.get_indices()}
    free = [i for i in range(n) if i not in fixed]
    if not free:
        raise ItemError("every atom is fixed: nothing vibrates", code="invalid_request")
    return free


def shape(atoms: Atoms) -> str:
    """monatomic, linear or nonlinear, from the principal moments of inertia (amu Å^2)."""
    if len(atoms) == 1:
        return "monatomic"
    moments = atoms.get_moments_of_inertia()
    return "linear" if moments.min() < 1e-3 * max(moments.max(), 1e-12) else "nonlinear"


def rigid_modes(atoms: Atoms, moved: list[int]) -> int:
    """Modes that are translations and rotations: those of a free molecule all of whose atoms
    move (6, 5 when linear, 3 for one atom), else none."""
    if atoms.pbc.any() or len(moved) != len(atoms):
        return 0
    return {"monatomic": 3, "linear": 5, "nonlinear": 6}[shape(atoms)]


def run_vibrations(
    predictor: Any, atoms: Atoms, params: VibParams, progress: Progress, task: str
) -> tuple[Atoms, Any, dict[str, Any], ModelCalculator]:
    """Relax (when asked), displace and collect ASE's :class:`VibrationsData`; returns the
    structure, the data, the result's vibration part, and the calculator."""
    from ase.optimize import BFGS
    from ase.vibrations import Vibrations

    check_cost(atoms, params, task)
    atoms = with_state(atoms, params.model_dump())
    total = params.calls_for(len(atoms))
    calls = 0

    def observe() -> None:
        nonlocal calls
        calls += 1
        progress(min(calls, total), total, f"{calls} force calls")

    calc = ModelCalculator(predictor, observe)
    atoms.calc = calc
    relaxed = None
    if params.relax_fmax is not None:
        opt = BFGS(atoms, logfile=None)
        relaxed = bool(opt.run(fmax=params.relax_fmax, steps=params.relax_steps))
    moved = moved_indices(atoms, params.indices)
    energy = float(atoms.get_potential_energy())
    with tempfile.TemporaryDirectory(prefix="hub-vib-") as tmp:
        vib = Vibrations(
            atoms, indices=moved, name=str(Path(tmp) / "vib"), delta=params.delta,
            nfree=params.nfree,
        )  # fmt: skip
        vib.run()
        data = vib.get_vibrations()
    freqs = np.asarray(data.get_frequencies())
    imaginary = np.abs(freqs.imag) > np.abs(freqs.real)
    signed = np.where(imaginary, -np.abs(freqs.imag), freqs.real)
    rigid = rigid_modes(atoms, moved)
    order = np.argsort(np.abs(signed), kind="stable")
    vibrational = np.ones(len(signed), bool)
    vibrational[order[:rigid]] = False
    n_imag = int((imaginary & vibrational).sum())
    warnings = []
    if n_imag:
        worst = float(np.abs(signed[imaginary & vibrational]).max())
        warnings.append(
            f"{n_imag} imaginary vibrational mode(s) (largest {worst:.1f}i cm^-1): the "
            "structure is not a minimum"
        )
    out = {
        "energy": energy,
        "frequencies_cm1": signed.tolist(),
        "imaginary": imaginary.tolist(),
        "rigid_body": (~vibrational).tolist(),
        "n_imaginary": n_imag,
        "zpe": float(data.get_zero_point_energy()),
        "indices": moved,
        "relaxed": relaxed,
        "warnings": warnings,
    }
    return atoms, data, out, calc


VIB_UNITS = {"energy": "eV", "frequencies_cm1": "cm^-1", "zpe": "eV"}


def vibrations(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Frequencies and zero-point energy by finite displacements (the module docstring)."""
    p = check_params(VibParams, params)
    structure, _, out, _ = run_vibrations(predictor, atoms, p, progress, "vibrations")
    from domains.physics.structures import atoms_to_json

    return out | {"atoms": atoms_to_json(structure), "units": VIB_UNITS}


def thermo(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Ideal-gas or harmonic thermochemistry from the vibrations (the module docstring)."""
    from ase.thermochemistry import HarmonicThermo, IdealGasThermo

    p = check_params(ThermoParams, params)
    structure, data, out, calc = run_vibrations(predictor, atoms, p, progress, "thermo")
    energies = data.get_energies()
    if out["n_imaginary"] and not p.ignore_imaginary:
        raise ItemError(
            f"{out['warnings'][0]}; thermochemistry needs real frequencies (relax first with "
            "relax_fmax, or give ignore_imaginary)",
            code="imaginary_modes",
            frequencies_cm1=out["frequencies_cm1"],
        )
    t, e = p.temperature_K, out["energy"]
    if p.approximation == "ideal_gas":
        geometry = shape(structure) if p.geometry == "auto" else p.geometry
        uhf = calc.value.get("uhf", structure.info.get("uhf", 0))
        spin = p.spin if p.spin is not None else float(uhf) / 2
        gas = IdealGasThermo(
            vib_energies=energies, geometry=geometry, potentialenergy=e, atoms=structure,
            symmetrynumber=p.symmetry_number, spin=spin, vib_selection="abs_highest",
            ignore_imag_modes=p.ignore_imaginary,
        )  # fmt: skip
        values = {
            "geometry": geometry,
            "spin": spin,
            "enthalpy": float(gas.get_enthalpy(t, verbose=False)),
            "entropy": float(gas.get_entropy(t, p.pressure_pa, verbose=False)),
            "gibbs_energy": float(gas.get_gibbs_energy(t, p.pressure_pa, verbose=False)),
        }
    else:
        vib_energies = energies[~np.asarray(out["rigid_body"])]
        harmonic = HarmonicThermo(
            vib_energies=vib_energies, potentialenergy=e, ignore_imag_modes=p.ignore_imaginary
        )
        values = {
            "internal_energy": float(harmonic.get_internal_energy(t, verbose=False)),
            "entropy": float(harmonic.get_entropy(t, verbose=False)),
            "helmholtz_energy": float(harmonic.get_helmholtz_energy(t, verbose=False)),
        }
    units = VIB_UNITS | {
        k: "eV" for k in ("enthalpy", "gibbs_energy", "internal_energy", "helmholtz_energy")
    }
    units |= {"entropy": "eV/K", "temperature_K": "K", "pressure_pa": "Pa"}
    extra = {
        "approximation": p.approximation,
        "temperature_K": t,
        "pressure_pa": p.pressure_pa,
        "units": units,
    }
    return out | values | extra


VIB_TASKS = (
    make_task(
        "vibrations",
        "Vibrational frequencies (cm^-1) and zero-point energy by finite displacements (ASE)",
        vibrations,
        VibParams,
        input_type="molecule3d",
    ),
    make_task(
        "thermo",
        "Thermochemistry (ASE): ideal gas (H, S, G at T, p) or harmonic (U, S, F at T)",
        thermo,
        ThermoParams,
        input_type="molecule3d",
    ),
)
