"""GFN2-xTB through ``tblite``, for molecules: energy, forces, dipole, charges, HOMO-LUMO gap.

tblite works in atomic units (Hartree, Bohr); results are converted here to eV, eV/Å, Debye
and elementary charges. Each structure's total charge and unpaired electrons
(:func:`electronic_state`: ``charge`` and ``uhf`` in the atoms JSON, or the initial charges and
magnetic moments, as ASE and tblite's own calculator keep them; a SMILES's formal charges and
radicals) are checked before tblite is called. The thread count is set explicitly (one thread
is fastest for small molecules), on tblite's OpenMP runtime through threadpoolctl. An SCF that
does not converge is the item's ``scf_not_converged`` error.

Cost before work: every molecule is checked against ``limits``
(:data:`~domains.physics.limits.XTB_LIMITS` by default: 250 atoms, 600 basis functions, 200 Å
wide) before tblite is called, as ``too_many_atoms``, ``too_expensive`` or
``molecule_too_large``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ase import Atoms, units
from pydantic import Field

from domains.physics.limits import XTB_LIMITS, limits_from
from hub.sdk import ItemError, Params, Simulator

UNITS = {
    "energy": "eV",
    "forces": "eV/Å",
    "dipole": "D",
    "charges": "e",
    "homo_lumo_gap": "eV",
    "total_charge": "e",
    "uhf": "unpaired electrons",
}
ELEMENTS_MAX_Z = 86  # GFN2-xTB is parametrised for H to Rn
DEBYE_PER_E_BOHR = units.Bohr / units.Debye  # e*Bohr -> Debye
# GFN2-xTB's valence electrons and atomic orbitals per element (Z = 1..86), read from tblite
# 0.8 (a neutral atom's occupations and orbitals): what a charge and spin must fit into
VALENCE = np.array([0] + [int(x) for x in (
    "1 2 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8 9 10 11 2 3 4 5 6 7 8 1 2 3 4 5 6 7 "
    "8 9 10 11 2 3 4 5 6 7 8 1 2 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 4 5 6 7 8 9 10 11 2 3 4 5 6 7 8"
).split()])  # fmt: skip
ORBITALS = np.array([0] + [int(x) for x in (
    "1 4 4 4 4 4 4 4 4 9 4 9 9 9 9 9 9 9 4 9 9 9 9 9 9 9 9 9 9 4 9 9 9 9 9 9 4 9 9 9 9 9 9 9 "
    "9 9 9 4 9 9 9 9 9 9 4 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 4 4 4 4 4 9 9"
).split()])  # fmt: skip


def electronic_state(atoms: Atoms, default_charge: int = 0) -> tuple[int, int]:
    """The total charge (e) and unpaired electrons of ``atoms`` for GFN2-xTB, as tblite's own
    ASE calculator reads them: ``atoms.info["charge"]`` / ``["uhf"]`` when given, else the
    rounded sums of the initial charges and magnetic moments; with neither, ``default_charge``
    and the fewest unpaired electrons (0 or 1).

    Typed errors: ``invalid_charge`` (a non-integer total, or a charge that leaves no valence
    electrons or more than the orbitals hold), ``impossible_spin`` (unpaired electrons whose
    parity differs from the electrons', as odd electrons with uhf 0, or more than fit)."""
    if "charge" in atoms.info:
        charge = atoms.info["charge"]
    elif atoms.has("initial_charges"):
        total = float(atoms.get_initial_charges().sum())
        if abs(total - round(total)) > 1e-6:
            raise ItemError(
                f"the initial charges sum to {total:g} e; GFN2-xTB needs an integer total",
                code="invalid_charge",
            )
        charge = round(total)
    else:
        charge = default_charge
    charge = int(charge)
    electrons = int(VALENCE[atoms.numbers].sum()) - charge
    orbitals = int(ORBITALS[atoms.numbers].sum())
    if not 0 < electrons <= 2 * orbitals:
        raise ItemError(
            f"{atoms.get_chemical_formula()} cannot carry a charge of {charge:+d}: it would have "
            f"{electrons} valence electrons, and GFN2-xTB needs 1 to {2 * orbitals} "
            f"({orbitals} orbitals)",
            code="invalid_charge",
            charge=charge,
            electrons=electrons,
        )
    if "uhf" in atoms.info:
        uhf = int(atoms.info["uhf"])
    elif atoms.has("initial_magmoms"):
        moments = atoms.get_initial_magnetic_moments()
        uhf = abs(round(float(moments.sum() if moments.ndim == 1 else moments[:, 2].sum())))
    else:
        uhf = electrons % 2
    if uhf < 0 or (electrons - uhf) % 2 or (electrons + uhf) // 2 > orbitals or uhf > electrons:
        parity = "odd" if electrons % 2 else "even"
        raise ItemError(
            f"{atoms.get_chemical_formula()} with charge {charge:+d} has {electrons} valence "
            f"electrons ({parity}); {uhf} unpaired electrons is impossible (give uhf with the "
            f"same parity, at most {min(electrons, 2 * orbitals - electrons)})",
            code="impossible_spin",
            charge=charge,
            electrons=electrons,
            uhf=uhf,
        )
    return charge, uhf


def gfn2_xtb(
    accuracy: float = 1.0,
    max_iterations: int = 250,
    electronic_temperature_K: float = 300.0,
    charge: int = 0,
    threads: int = 1,
    limits: dict[str, Any] | None = None,
) -> Callable[[Atoms], dict[str, Any]]:
    """GFN2-xTB single points; ``electronic_temperature_K`` in K, ``charge`` in e (the
    default total charge: a structure's own, :func:`electronic_state`, comes first)."""
    from tblite.interface import Calculator
    from threadpoolctl import threadpool_limits

    checked = limits_from(limits, XTB_LIMITS, "GFN2-xTB")
    # tblite's OpenMP runtime is loaded with it and read OMP_NUM_THREADS then: setting the
    # variable now would do nothing (measured: 2 threads on 2 cores). threadpoolctl sets the
    # loaded runtime's thread count itself, for the process (only tblite uses OpenMP here).
    threadpool_limits(limits=threads, user_api="openmp")

    default_charge = charge  # the version's; a prediction's own (XtbParams) comes first

    def compute(atoms: Atoms, charge: int | None = None, uhf: int | None = None) -> dict[str, Any]:
        if charge is not None or uhf is not None:  # a prediction's params: over the structure's
            atoms = atoms.copy()
            atoms.info |= {k: v for k, v in (("charge", charge), ("uhf", uhf)) if v is not None}
        heavy = [int(z) for z in atoms.numbers if z > ELEMENTS_MAX_Z]
        if heavy:
            raise ItemError(
                f"GFN2-xTB covers H to Rn; got atomic numbers {sorted(set(heavy))}",
                code="unsupported_element",
            )
        if atoms.pbc.any():
            raise ItemError("gfn2-xtb here is for molecules: give pbc false", code="invalid_atoms")
        checked.check(atoms, "GFN2-xTB")
        total, uhf = electronic_state(atoms, default_charge)
        calc = Calculator(
            "GFN2-xTB", atoms.numbers, atoms.positions / units.Bohr, charge=float(total), uhf=uhf
        )
        calc.set("accuracy", accuracy)
        calc.set("max-iter", max_iterations)
        calc.set("temperature", electronic_temperature_K * units.kB / units.Hartree)
        calc.set("verbosity", 0)
        try:
            res = calc.singlepoint()
        except RuntimeError as exc:
            msg = str(exc)
            code = "scf_not_converged" if "converge" in msg.lower() else "simulation_failed"
            raise ItemError(f"GFN2-xTB: {msg.strip()}", code=code) from exc
        eps = np.asarray(res.get("orbital-energies")) * units.Hartree
        occ = np.asarray(res.get("orbital-occupations"))
        homo = eps[occ > 1e-6].max() if (occ > 1e-6).any() else np.nan
        lumo = eps[occ <= 1e-6].min() if (occ <= 1e-6).any() else np.nan
        return {
            "energy": float(res.get("energy")) * units.Hartree,
            "forces": -np.asarray(res.get("gradient")) * units.Hartree / units.Bohr,
            "dipole": np.asarray(res.get("dipole")) * DEBYE_PER_E_BOHR,
            "charges": np.asarray(res.get("charges")),
            "homo_lumo_gap": float(lumo - homo),
            "total_charge": total,
            "uhf": uhf,
            "engine": "tblite GFN2-xTB",
        }

    return compute


class XtbParams(Params):
    """A prediction's electronic state, over what each structure says (its ``charge`` and
    ``uhf``, initial charges and moments, a SMILES's formal charges)."""

    charge: int | None = Field(None, ge=-20, le=20, description="total charge (e)")
    uhf: int | None = Field(None, ge=0, le=40, description="number of unpaired electrons")


XTB_SIMULATOR = Simulator(
    name="physics.gfn2-xtb",
    input_type="molecule3d",
    description="GFN2-xTB tight binding (tblite) for molecules; SMILES are embedded with ETKDG",
    implemented_properties=tuple(UNITS),
    units=UNITS,
    build=gfn2_xtb,
    params=XtbParams,
)
