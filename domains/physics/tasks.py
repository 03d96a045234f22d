"""Tasks on any energy model (simulators and learned potentials): relax, eos, md.

Each runs ASE's own algorithms with :class:`ModelCalculator`, an ASE calculator over the loaded
model version, so a task works unchanged on every model that returns energy and forces.
Units as ASE: eV, Å, fs, K; bulk modulus in GPa.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes

from domains.physics.structures import atoms_to_json
from hub.client.calculator import ase_results
from hub.errors import InvalidRequest, ItemError
from hub.plugins import Task

Progress = Callable[[int, int, str], None]


class ModelCalculator(Calculator):
    """ASE calculator over a hub predictor (in process: no HTTP)."""

    implemented_properties = ("energy", "forces", "stress")

    def __init__(self, predictor: Any) -> None:
        super().__init__()
        self.predictor = predictor

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Any = ("energy",),
        system_changes: Any = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        out = self.predictor.predict([self.atoms], {})[0]
        if "error" in out:
            raise ItemError(out["error"]["message"], code=out["error"]["code"])
        self.results = ase_results(out["value"])


def to_extxyz(frames: list[Atoms]) -> str:
    from ase.io import write

    buf = io.StringIO()
    write(buf, frames, format="extxyz")
    return buf.getvalue()


def _checker(
    defaults: dict[str, Any], rules: dict[str, Callable[[Any], bool]]
) -> Callable[[dict[str, Any]], dict]:
    def check(params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise InvalidRequest(f"unknown parameter(s) {unknown}; known: {sorted(defaults)}")
        out = {**defaults, **params}
        for key, ok in rules.items():
            try:
                good = ok(out[key])
            except (TypeError, ValueError):
                good = False
            if not good:
                raise InvalidRequest(f"invalid value for {key!r}: {out[key]!r}")
        return out

    return check


# -- relax ----------------------------------------------------------------------------------
RELAX_DEFAULTS = {"optimizer": "BFGS", "fmax": 0.05, "steps": 500}


def relax(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Minimise the energy with ASE's BFGS or FIRE until max |force| < fmax (eV/Å)."""
    from ase.optimize import BFGS, FIRE

    atoms = atoms.copy()
    atoms.calc = ModelCalculator(predictor)
    opt = {"BFGS": BFGS, "FIRE": FIRE}[params["optimizer"]](atoms, logfile=None)
    energies: list[float] = []

    def observe() -> None:
        energies.append(float(atoms.get_potential_energy()))
        progress(len(energies) - 1, params["steps"], f"E = {energies[-1]:.6f} eV")

    opt.attach(observe, interval=1)
    converged = bool(opt.run(fmax=params["fmax"], steps=params["steps"]))
    fmax = float(np.sqrt((atoms.get_forces() ** 2).sum(1).max()))
    progress(params["steps"], params["steps"], "done")
    return {
        "converged": converged,
        "steps": opt.nsteps,
        "energy": energies[-1],
        "fmax": fmax,
        "energies": energies,
        "atoms": atoms_to_json(atoms),
        "extxyz": to_extxyz([atoms]),
        "units": {"energy": "eV", "fmax": "eV/Å"},
    }


# -- eos ------------------------------------------------------------------------------------
EOS_DEFAULTS = {"points": 9, "strain": 0.05, "eos": "birchmurnaghan"}


def eos(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Energies of isotropically scaled cells (volume within +-strain), fitted by ASE."""
    from ase.eos import EquationOfState

    if not atoms.pbc.all():
        raise ItemError("an equation of state needs a periodic cell", code="not_periodic")
    calc = ModelCalculator(predictor)
    cell0 = atoms.cell.array.copy()
    factors = np.linspace(1 - params["strain"], 1 + params["strain"], params["points"])
    volumes, energies = [], []
    for i, f in enumerate(factors):
        a = atoms.copy()
        a.set_cell(cell0 * f ** (1 / 3), scale_atoms=True)
        a.calc = calc
        volumes.append(float(a.get_volume()))
        energies.append(float(a.get_potential_energy()))
        progress(i + 1, len(factors), f"V = {volumes[-1]:.3f} Å^3")
    fit = EquationOfState(volumes, energies, eos=params["eos"])
    v0, e0, b = fit.fit()
    return {
        "v0": float(v0),
        "e0": float(e0),
        "bulk_modulus_gpa": float(b / units.GPa),
        "volumes": volumes,
        "energies": energies,
        "eos": params["eos"],
        "units": {
            "v0": "Å^3",
            "e0": "eV",
            "bulk_modulus_gpa": "GPa",
            "volumes": "Å^3",
            "energies": "eV",
        },
    }


# -- md -------------------------------------------------------------------------------------
MD_DEFAULTS = {
    "integrator": "verlet",
    "timestep_fs": 2.0,
    "temperature_K": 300.0,
    "steps": 1000,
    "interval": 10,
    "friction_per_fs": 0.01,
    "seed": 0,
}


def md(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Velocity Verlet (NVE) or Langevin (NVT) MD from Maxwell-Boltzmann velocities (seeded)."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.md.verlet import VelocityVerlet

    atoms = atoms.copy()
    atoms.calc = ModelCalculator(predictor)
    rng = np.random.default_rng(params["seed"])
    MaxwellBoltzmannDistribution(atoms, temperature_K=params["temperature_K"], rng=rng)
    Stationary(atoms)
    dt = params["timestep_fs"] * units.fs
    if params["integrator"] == "langevin":
        dyn = Langevin(
            atoms,
            dt,
            temperature_K=params["temperature_K"],
            friction=params["friction_per_fs"] / units.fs,
            rng=rng,
            logfile=None,
        )
    else:
        dyn = VelocityVerlet(atoms, dt, logfile=None)
    frames: list[Atoms] = []
    record: dict[str, list[float]] = {
        "time_fs": [],
        "potential": [],
        "kinetic": [],
        "total": [],
        "temperature_K": [],
    }

    def observe() -> None:
        epot, ekin = atoms.get_potential_energy(), atoms.get_kinetic_energy()
        frame = atoms.copy()
        frame.calc = None
        frame.info.update(energy=epot, step=dyn.nsteps)
        frames.append(frame)
        for key, val in (
            ("time_fs", dyn.nsteps * params["timestep_fs"]),
            ("potential", epot),
            ("kinetic", ekin),
            ("total", epot + ekin),
            ("temperature_K", atoms.get_temperature()),
        ):
            record[key].append(float(val))
        progress(dyn.nsteps, params["steps"], f"T = {atoms.get_temperature():.1f} K")

    dyn.attach(observe, interval=params["interval"])  # ASE also calls it at step 0
    dyn.run(params["steps"])
    return {
        "frames": len(frames),
        "extxyz": to_extxyz(frames),
        "energies": record,
        "units": {"energy": "eV", "time": "fs", "temperature": "K"},
    }


def _positive(x: Any) -> bool:
    return float(x) > 0


TASKS = (
    Task(
        "relax",
        "atoms",
        "Local relaxation with ASE's BFGS or FIRE",
        relax,
        _checker(
            RELAX_DEFAULTS,
            {
                "optimizer": lambda v: v in ("BFGS", "FIRE"),
                "fmax": _positive,
                "steps": lambda v: 0 < int(v) <= 100_000,
            },
        ),
    ),
    Task(
        "eos",
        "atoms",
        "Equation of state: scan of volumes, fitted (ASE)",
        eos,
        _checker(
            EOS_DEFAULTS,
            {
                "points": lambda v: 5 <= int(v) <= 101,
                "strain": lambda v: 0 < float(v) < 0.3,
                "eos": lambda v: v in ("birchmurnaghan", "murnaghan", "vinet", "sj"),
            },
        ),
    ),
    Task(
        "md",
        "atoms",
        "Molecular dynamics: velocity Verlet (NVE) or Langevin (NVT)",
        md,
        _checker(
            MD_DEFAULTS,
            {
                "integrator": lambda v: v in ("verlet", "langevin"),
                "timestep_fs": lambda v: 0 < float(v) <= 10,
                "temperature_K": lambda v: 0 <= float(v) <= 1e5,
                "steps": lambda v: 0 < int(v) <= 1_000_000,
                "interval": lambda v: 0 < int(v),
                "friction_per_fs": _positive,
                "seed": lambda v: int(v) >= 0,
            },
        ),
    ),
)
