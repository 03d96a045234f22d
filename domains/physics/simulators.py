"""Simulators: physics engines shipped as plugin code (the catalog stores only parameters).

Units as ASE: energy eV, forces eV/Å, stress eV/Å^3 (Voigt order xx, yy, zz, yz, xz, xy).

Each engine takes ``limits`` (a dict of :class:`~domains.physics.limits.Limits`; unset keys
take the engine's defaults, :data:`~domains.physics.limits.EMT_LIMITS` and
:data:`~domains.physics.limits.LJ_LIMITS`) and checks every structure against them before it
computes anything: ``too_many_atoms`` or ``too_expensive`` (neighbour pairs within the cutoff).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from ase import Atoms

from domains.physics.limits import EMT_LIMITS, LJ_LIMITS, limits_from
from hub.sdk import ItemError, RunError, Simulator

UNITS = {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3"}


def _emt_elements() -> frozenset[str]:
    from ase.calculators.emt import parameters

    return frozenset(parameters)


def require_elements(atoms: Atoms, allowed: frozenset[str], engine: str) -> None:
    extra = sorted(set(atoms.get_chemical_symbols()) - allowed)
    if extra:
        raise ItemError(
            f"{engine} does not cover element(s) {', '.join(extra)} (it covers "
            f"{', '.join(sorted(allowed))})",
            code="unsupported_element",
            elements=extra,
        )


def single_point(atoms: Atoms, calc: Any, engine: str) -> dict[str, Any]:
    """Energy, forces and, for a fully periodic cell, stress of ``atoms`` with ``calc``."""
    atoms = atoms.copy()
    atoms.calc = calc
    try:
        out: dict[str, Any] = {
            "energy": float(atoms.get_potential_energy()),
            "forces": atoms.get_forces(),
        }
        if atoms.pbc.all():
            out["stress"] = atoms.get_stress(voigt=True)
    except ItemError:
        raise
    except Exception as exc:
        raise ItemError(f"{engine} failed: {exc}", code="simulation_failed") from exc
    if not np.isfinite(out["energy"]):
        raise ItemError(f"{engine} returned a non-finite energy", code="simulation_failed")
    out["engine"] = engine
    return out


def emt(
    engine: str = "auto", limits: dict[str, Any] | None = None
) -> Callable[[Atoms], dict[str, Any]]:
    """EMT: ``engine`` "ase" (ASE's), "asap3" (asap3's, faster), or "auto" (asap3 when it is
    installed, else ASE). The response names the engine that ran. ``limits``: see the module
    docstring."""
    allowed = _emt_elements()
    checked = limits_from(limits, EMT_LIMITS, "EMT")
    make, name = None, "ase.calculators.emt.EMT"
    if engine in ("asap3", "auto"):
        try:
            from asap3 import EMT as AsapEMT  # noqa: N811 - asap3's class name

            make, name = AsapEMT, "asap3.EMT"
        except ImportError as exc:
            if engine == "asap3":
                raise RunError("asap3 is not installed") from exc
    if make is None:
        from ase.calculators.emt import EMT

        make = EMT

    local = threading.local()

    def compute(atoms: Atoms) -> dict[str, Any]:
        require_elements(atoms, allowed, "EMT")
        checked.check(atoms, "EMT")
        # One calculator per thread, kept across calls: its neighbour list (with a skin) is
        # rebuilt only when atoms move far, as in a local MD loop. Results are unchanged.
        if getattr(local, "calc", None) is None:
            local.calc = make()
        return single_point(atoms, local.calc, name)

    return compute


def lennard_jones(
    sigma: float = 1.0,
    epsilon: float = 1.0,
    rc: float | None = None,
    smooth: bool = False,
    limits: dict[str, Any] | None = None,
) -> Callable[[Atoms], dict[str, Any]]:
    """ASE's Lennard-Jones: sigma (Å), epsilon (eV), cutoff rc (Å; default 3 sigma). The
    neighbour-pair limit is counted within ``rc``."""
    from ase.calculators.lj import LennardJones

    cutoff = float(rc if rc is not None else 3 * sigma)
    checked = limits_from(limits, LJ_LIMITS.model_copy(update={"cutoff_angstrom": cutoff}), "LJ")

    def compute(atoms: Atoms) -> dict[str, Any]:
        checked.check(atoms, "Lennard-Jones")
        calc = LennardJones(sigma=sigma, epsilon=epsilon, rc=rc, smooth=smooth)
        return single_point(atoms, calc, "ase.calculators.lj.LennardJones")

    return compute


EMT_SIMULATOR = Simulator(
    name="physics.emt",
    input_type="atoms",
    description="Effective medium theory (ASE): H, C, N, O, Al, Ni, Cu, Pd, Ag, Pt, Au",
    implemented_properties=("energy", "forces", "stress"),
    units=UNITS,
    build=emt,
)

LJ_SIMULATOR = Simulator(
    name="physics.lennard-jones",
    input_type="atoms",
    description="Lennard-Jones pair potential (ASE), any element, parameters sigma and epsilon",
    implemented_properties=("energy", "forces", "stress"),
    units=UNITS,
    build=lennard_jones,
)
