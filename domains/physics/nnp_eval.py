"""Measurements of a trained potential against EMT: held-out errors, equation of state, NVE
energy drift and speed. Units as ASE: eV, Å, fs, K; bulk modulus in GPa; speed in µs per
atom-step (one energy-and-forces evaluation per atom)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes

from domains.physics.nnp import NNPotential
from domains.physics.nnp_data import Config, md_calculator
from hub.sdk import ase_results
from hub.sdk.learning import regression_metrics


class NNPCalculator(Calculator):
    """An ASE calculator over an in-process :class:`NNPotential` (eV, eV/Å, eV/Å^3)."""

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, potential: NNPotential) -> None:
        super().__init__()
        self.potential = potential

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Any = ("energy",),
        system_changes: Any = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        self.results = ase_results(self.potential.evaluate([self.atoms])[0])


def test_errors(potential: NNPotential, configs: list[Config]) -> dict[str, Any]:
    """Per-atom energies (eV/atom, reference and predicted, shape (n,)), their MAE and RMSE,
    force component errors (eV/Å; the hub's :func:`~hub.sdk.learning.regression_metrics`, as
    every learned model's) and stress errors (GPa, fully periodic cells)."""
    e_ref, e_pred, f_ref, f_pred, families, s_err = [], [], [], [], [], []
    for c in configs:
        res = potential.evaluate([c.atoms])[0]
        n = len(c.atoms)
        if c.stress is not None:
            s_err.append((res["stress"] - c.stress) / units.GPa)
        e_ref.append(c.energy / n)
        e_pred.append(res["energy"] / n)
        f_ref.append(c.forces.ravel())
        f_pred.append(np.asarray(res["forces"]).ravel())
        families.append(c.family)
    energy = regression_metrics(np.array(e_ref), np.array(e_pred))
    force = regression_metrics(np.concatenate(f_ref), np.concatenate(f_pred))
    return {
        "e_ref": np.array(e_ref),
        "e_pred": np.array(e_pred),
        "families": np.array(families),
        **{f"energy_{k}": energy[k] for k in ("mae", "rmse")},
        **{f"force_{k}": force[k] for k in ("mae", "rmse")},
        "stress_mae_gpa": float(np.mean(np.abs(s_err))) if s_err else float("nan"),
        "n_stress": len(s_err),
    }


def eos_scan(calc: Any, *, a0: float = 3.6, strain: float = 0.05, points: int = 9) -> dict:
    """E(V) of the 1-atom fcc Cu cell over volumes within +-``strain`` (as the ``eos`` task
    scans), fitted by ASE's Birch-Murnaghan (a parabola when that fit fails; B is NaN when
    E(V) has no minimum): volumes (Å^3), energies (eV), B (GPa), V0 (Å^3), the fit used."""
    from ase.eos import EquationOfState

    cu = bulk("Cu", "fcc", a=a0)
    volumes, energies = [], []
    for f in np.linspace(1 - strain, 1 + strain, points):
        a = cu.copy()
        a.set_cell(cu.cell.array * f ** (1 / 3), scale_atoms=True)
        a.calc = calc
        volumes.append(float(a.get_volume()))
        energies.append(float(a.get_potential_energy()))
    try:
        v0, _, b = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
        fit = "birchmurnaghan"
    except (RuntimeError, ValueError):  # no minimum a Birch-Murnaghan fit can find
        c = np.polyfit(volumes, energies, 2)
        v0 = -c[1] / (2 * c[0]) if c[0] > 0 else float("nan")
        b, fit = (2 * c[0] * v0, "parabola") if c[0] > 0 else (float("nan"), "failed")
    return {
        "volumes": volumes,
        "energies": energies,
        "v0": float(v0),
        "b_gpa": float(b / units.GPa),
        "fit": fit,
    }


def nve_drift(
    calc: Any,
    *,
    temperature_K: float,
    duration_fs: float,
    timestep_fs: float,
    cells: int,
    seed: int,
) -> dict[str, float]:
    """Velocity Verlet in a cubic cell of ``4 cells^3`` atoms at ``temperature_K``: velocities
    drawn at twice that temperature from the perfect lattice, so that the run equilibrates
    near it (equipartition); the drift (slope of a linear fit of the total energy times the
    duration) and the max - min span of the total energy, both in eV/atom, and the mean
    temperature of the second half (K)."""
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.md.verlet import VelocityVerlet

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (cells, cells, cells)
    atoms.calc = calc
    MaxwellBoltzmannDistribution(
        atoms, temperature_K=2 * temperature_K, rng=np.random.default_rng(seed)
    )
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, timestep_fs * units.fs, logfile=None)
    times, totals, temps = [], [], []

    def observe() -> None:
        times.append(dyn.nsteps * timestep_fs)
        totals.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())
        temps.append(atoms.get_temperature())

    dyn.attach(observe, interval=10)
    start = time.perf_counter()
    dyn.run(round(duration_fs / timestep_fs))
    seconds = time.perf_counter() - start
    t, e = np.array(times), np.array(totals) / len(atoms)
    slope = np.polyfit(t, e, 1)[0]
    return {
        "drift": float(abs(slope) * duration_fs),
        "span": float(e.max() - e.min()),
        "mean_temperature_K": float(np.mean(temps[len(temps) // 2 :])),
        "n_atoms": len(atoms),
        "seconds": seconds,
        "times_fs": t.tolist(),
        "total_ev_per_atom": e.tolist(),
    }


def speed(calc: Any, *, cells: int, steps: int) -> float:
    """µs per atom-step of velocity Verlet MD (2 fs, 300 K start) in a ``4 cells^3`` cell."""
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (cells, cells, cells)
    atoms.calc = calc
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dyn = VelocityVerlet(atoms, 2 * units.fs, logfile=None)
    dyn.run(2)  # warm up
    start = time.perf_counter()
    dyn.run(steps)
    return (time.perf_counter() - start) / (steps * len(atoms)) * 1e6


def emt_calculator(engine: str = "auto") -> Any:
    """The reference EMT: ``"auto"`` the engine the hub's EMT simulator runs (asap3 when
    installed), ``"ase"`` ASE's own."""
    if engine == "ase":
        from ase.calculators.emt import EMT

        return EMT()
    return md_calculator()
