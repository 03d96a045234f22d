"""GFN2-xTB through ``tblite``, for molecules: energy, forces, dipole, charges, HOMO-LUMO gap.

tblite works in atomic units (Hartree, Bohr); results are converted here to eV, eV/Å, Debye
and elementary charges. The thread count is set explicitly (one thread is fastest for small
molecules), on tblite's OpenMP runtime through threadpoolctl. An SCF that does not converge
is the item's ``scf_not_converged`` error.

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

from domains.physics.limits import XTB_LIMITS, limits_from
from hub.sdk import ItemError, Simulator

UNITS = {"energy": "eV", "forces": "eV/Å", "dipole": "D", "charges": "e", "homo_lumo_gap": "eV"}
ELEMENTS_MAX_Z = 86  # GFN2-xTB is parametrised for H to Rn
DEBYE_PER_E_BOHR = units.Bohr / units.Debye  # e*Bohr -> Debye


def gfn2_xtb(
    accuracy: float = 1.0,
    max_iterations: int = 250,
    electronic_temperature_K: float = 300.0,
    charge: int = 0,
    threads: int = 1,
    limits: dict[str, Any] | None = None,
) -> Callable[[Atoms], dict[str, Any]]:
    """GFN2-xTB single points; ``electronic_temperature_K`` in K, ``charge`` in e."""
    from tblite.interface import Calculator
    from threadpoolctl import threadpool_limits

    checked = limits_from(limits, XTB_LIMITS, "GFN2-xTB")
    # tblite's OpenMP runtime is loaded with it and read OMP_NUM_THREADS then: setting the
    # variable now would do nothing (measured: 2 threads on 2 cores). threadpoolctl sets the
    # loaded runtime's thread count itself, for the process (only tblite uses OpenMP here).
    threadpool_limits(limits=threads, user_api="openmp")

    def compute(atoms: Atoms) -> dict[str, Any]:
        heavy = [int(z) for z in atoms.numbers if z > ELEMENTS_MAX_Z]
        if heavy:
            raise ItemError(
                f"GFN2-xTB covers H to Rn; got atomic numbers {sorted(set(heavy))}",
                code="unsupported_element",
            )
        if atoms.pbc.any():
            raise ItemError("gfn2-xtb here is for molecules: give pbc false", code="invalid_atoms")
        checked.check(atoms, "GFN2-xTB")
        calc = Calculator(
            "GFN2-xTB", atoms.numbers, atoms.positions / units.Bohr, charge=float(charge)
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
            "engine": "tblite GFN2-xTB",
        }

    return compute


XTB_SIMULATOR = Simulator(
    name="physics.gfn2-xtb",
    input_type="molecule3d",
    description="GFN2-xTB tight binding (tblite) for molecules; SMILES are embedded with ETKDG",
    implemented_properties=tuple(UNITS),
    units=UNITS,
    build=gfn2_xtb,
)
