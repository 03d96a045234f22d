"""Tasks on any energy model (simulators and learned potentials): relax, eos, md.

Each runs ASE's own algorithms with :class:`ModelCalculator`, an ASE calculator over the loaded
model version, so a task works unchanged on every model that returns energy and forces.
Units as ASE: eV, Å, fs, K; bulk modulus in GPa.

Parameters are declared as pydantic models (:class:`RelaxParams`, :class:`EosParams`,
:class:`MdParams`: types, units and limits), validated strictly and converted when a job is
submitted (``"100"``, ``1.5`` or ``true`` for a number of steps, or ``"inf"`` for a float, are
refused with :class:`~hub.errors.InvalidRequest`, 422, before anything is queued); the job
stores the converted values. Each task's checker keeps its model as ``check_params.model``.

Cost before work, per job: at most :data:`MAX_MD_STEPS` MD steps, :data:`MAX_RELAX_STEPS`
optimiser steps, :data:`MAX_FRAMES` stored MD frames (``steps // interval + 1``: a larger
``interval`` is asked for, never silently chosen), and, once the structure is known
(:func:`check_cost`, called at the start of every task and meant for submission too), at most
:data:`MAX_ATOM_STEPS` atom-steps (atoms x force calls) and :data:`MAX_FRAME_ATOMS` atoms in all
stored frames (``check_params.check_input(atoms, params)`` runs it at submission for a hub
that calls it). Over a limit is ``too_expensive`` naming it. Each force call also meets the
model's own limits (:mod:`domains.physics.limits`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
from ase import Atoms, units
from pydantic import Field

from domains.physics.structures import atoms_to_json
from domains.physics.tasks_base import (
    ModelCalculator,
    Progress,
    results_json,
    to_extxyz,
    with_state,
)
from hub.sdk import InvalidRequest, ItemError, ModelInfo, Params, Task, check_params

MAX_MD_STEPS = 100_000
MAX_RELAX_STEPS = 10_000
MAX_FRAMES = 1_000  # stored MD frames per job
MAX_ATOM_STEPS = 20_000_000  # atoms x force calls per job
MAX_FRAME_ATOMS = 1_000_000  # atoms summed over the stored frames (about 80 MB of extxyz)
MAX_SEED = 2**63 - 1

Finite = Annotated[float, Field(allow_inf_nan=False)]


class TaskParams(Params):
    """Strict (:class:`hub.sdk.Params`): no string, bool or float where an integer is
    declared, no NaN or infinity. ``charge`` and ``uhf``, when given, set the structure's
    total charge and unpaired electrons (over its own), for models that read them
    (GFN2-xTB)."""

    charge: int | None = Field(None, ge=-1000, le=1000, description="total charge, e")
    uhf: int | None = Field(None, ge=0, le=2000, description="unpaired electrons")

    def force_calls(self) -> int:
        """How many energy and force evaluations the task makes at most."""
        raise NotImplementedError

    def calls_for(self, n_atoms: int) -> int:
        """Force calls at most for a structure of ``n_atoms`` (vibrations: per atom)."""
        return self.force_calls()

    def frames(self) -> int:
        """How many structures the task stores in its result."""
        return 1


class RelaxParams(TaskParams):
    optimizer: Literal["BFGS", "FIRE"] = "BFGS"
    fmax: Finite = Field(0.05, gt=0, le=100, description="convergence: max |force|, eV/Å")
    steps: int = Field(500, ge=1, le=MAX_RELAX_STEPS, description="optimiser steps at most")
    cell: bool = Field(False, description="relax the cell too (FrechetCellFilter; periodic)")
    pressure_gpa: Finite = Field(0.0, ge=-100, le=1000, description="external pressure, GPa")
    hydrostatic: bool = Field(False, description="cell relaxation keeps the cell's shape")

    def force_calls(self) -> int:
        return self.steps + 1


class EosParams(TaskParams):
    points: int = Field(9, ge=5, le=101, description="volumes scanned")
    strain: Finite = Field(0.05, gt=0, lt=0.3, description="volume range, +- fraction")
    eos: Literal["birchmurnaghan", "murnaghan", "vinet", "sj"] = "birchmurnaghan"

    def force_calls(self) -> int:
        return self.points

    def frames(self) -> int:
        return 0


class MdParams(TaskParams):
    integrator: Literal["verlet", "langevin"] = "verlet"
    timestep_fs: Finite = Field(2.0, gt=0, le=10, description="time step, fs")
    temperature_K: Finite = Field(  # noqa: N815 - ASE's name
        300.0, ge=0, le=1e5, description="initial or bath temperature, K"
    )
    steps: int = Field(1000, ge=1, le=MAX_MD_STEPS, description="MD steps")
    interval: int = Field(10, ge=1, le=MAX_MD_STEPS, description="steps between stored frames")
    friction_per_fs: Finite = Field(0.01, gt=0, le=10, description="Langevin friction, 1/fs")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of the initial velocities")

    def force_calls(self) -> int:
        return self.steps + 1

    def frames(self) -> int:
        return self.steps // self.interval + 1


class ParamsChecker:
    """``check(params) -> dict``: the task's parameters validated by ``model`` and converted,
    defaults filled in; :class:`~hub.errors.InvalidRequest` naming every bad one otherwise."""

    def __init__(self, model: type[TaskParams]) -> None:
        self.model = model

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = check_params(self.model, params)
        frames = checked.frames()
        if frames > MAX_FRAMES:
            need = -(-checked.steps // (MAX_FRAMES - 1))  # type: ignore[attr-defined]
            raise InvalidRequest(
                f"{frames} stored frames; the limit is {MAX_FRAMES} per job: give interval >= "
                f"{need} for {checked.steps} steps",  # type: ignore[attr-defined]
                code="too_expensive",
                limit="max_frames",
                value=frames,
                maximum=MAX_FRAMES,
            )
        return checked.model_dump()

    def json_schema(self) -> dict[str, Any]:
        """The declared parameters (types, units, bounds) as JSON Schema."""
        return self.model.model_json_schema()

    def check_input(self, atoms: Atoms, params: dict[str, Any]) -> None:
        """The job's cost with its structure (:func:`check_cost`), for a submitter that has
        parsed the input: ``too_expensive`` (422) before the job is queued."""
        check_cost(atoms, self.model(**params), self.name)

    @property
    def name(self) -> str:
        return next(k for k, v in PARAMS.items() if v is self.model)


def check_cost(atoms: Atoms, params: TaskParams | dict[str, Any], task: str) -> None:
    """Refuse a job whose structure makes it too expensive: atom-steps (atoms x force calls)
    and atoms in the stored frames, each against its limit, as ``too_expensive``."""
    if isinstance(params, dict):
        params = PARAMS[task](**params)
    n = len(atoms)
    for limit, value, maximum, what in (
        ("max_atom_steps", n * params.calls_for(n), MAX_ATOM_STEPS, "atom-steps"),
        ("max_frame_atoms", n * params.frames(), MAX_FRAME_ATOMS, "atoms in stored frames"),
    ):
        if value > maximum:
            raise InvalidRequest(
                f"{task} of {n} atoms: {value} {what}; the limit per job is {maximum} ({limit})",
                code="too_expensive",
                limit=limit,
                value=value,
                maximum=maximum,
            )


# -- relax ----------------------------------------------------------------------------------
RELAX_DEFAULTS = RelaxParams().model_dump()


def relax(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Minimise the energy with ASE's BFGS or FIRE until max |force| < fmax (eV/Å), honouring
    the structure's constraints; with ``cell``, the cell too (ASE's FrechetCellFilter at
    ``pressure_gpa``)."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE

    check_cost(atoms, params, "relax")
    atoms = with_state(atoms, params)
    atoms.calc = ModelCalculator(predictor)
    target: Any = atoms
    if params.get("cell"):
        if not atoms.pbc.all():
            raise ItemError("relaxing the cell needs a fully periodic cell", code="not_periodic")
        target = FrechetCellFilter(
            atoms,
            hydrostatic_strain=params["hydrostatic"],
            scalar_pressure=params["pressure_gpa"] * units.GPa,
        )
    opt = {"BFGS": BFGS, "FIRE": FIRE}[params["optimizer"]](target, logfile=None)
    energies: list[float] = []

    def observe() -> None:
        energies.append(float(atoms.get_potential_energy()))
        progress(len(energies) - 1, params["steps"], f"E = {energies[-1]:.6f} eV")

    opt.attach(observe, interval=1)
    converged = bool(opt.run(fmax=params["fmax"], steps=params["steps"]))
    fmax = float(np.sqrt((target.get_forces() ** 2).sum(1).max()))
    progress(params["steps"], params["steps"], "done")
    return {
        "converged": converged,
        "steps": opt.nsteps,
        "energy": energies[-1],
        "fmax": fmax,
        "energies": energies,
        "atoms": atoms_to_json(atoms),
        "results": results_json(atoms),
        "volume": float(atoms.get_volume()) if atoms.pbc.all() else None,
        "extxyz": to_extxyz([atoms]),
        "units": {"energy": "eV", "fmax": "eV/Å", "stress": "eV/Å^3", "volume": "Å^3"},
    }


# -- eos ------------------------------------------------------------------------------------
EOS_DEFAULTS = EosParams().model_dump()


def eos(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Energies of isotropically scaled cells (volume within +-strain), fitted by ASE."""
    from ase.eos import EquationOfState

    if not atoms.pbc.all():
        raise ItemError("an equation of state needs a periodic cell", code="not_periodic")
    check_cost(atoms, params, "eos")
    atoms = with_state(atoms, params)
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
MD_DEFAULTS = MdParams().model_dump()


def md(predictor: Any, atoms: Atoms, params: dict[str, Any], progress: Progress) -> dict:
    """Velocity Verlet (NVE) or Langevin (NVT) MD from Maxwell-Boltzmann velocities (seeded)."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.md.verlet import VelocityVerlet

    check_cost(atoms, params, "md")
    atoms = with_state(atoms, params)
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


PARAMS: dict[str, type[TaskParams]] = {"relax": RelaxParams, "eos": EosParams, "md": MdParams}


def energy_model(model: ModelInfo) -> bool:
    """The models a structure task runs on: those that give the energy of a structure (EMT,
    GFN2-xTB, the potentials), whichever of the two structure input types they take; not the
    learned QM9 properties, say, which take the same structures."""
    return model.input_type in ("atoms", "molecule3d") and any(
        o.name == "energy" for o in model.outputs
    )


def make_task(
    name: str,
    description: str,
    run: Callable[..., dict[str, Any]],
    params: type[TaskParams] | None = None,
    *,
    input_type: str = "atoms",
    check_input: Callable[[Any, dict[str, Any]], None] | None = None,
) -> Task:
    """A task whose parameters (``params``, registered in :data:`PARAMS` under ``name``) and
    cost are checked at submission; it runs on every :func:`energy_model`."""
    if params is not None:
        PARAMS[name] = params
    checker = ParamsChecker(PARAMS[name])
    return Task(
        name,
        input_type,
        description,
        run,
        checker,
        check_input=check_input or checker.check_input,
        params=PARAMS[name],
        applies_to=energy_model,
    )


_task = make_task


TASKS = (
    _task("relax", "Local relaxation with ASE's BFGS or FIRE", relax),
    _task("eos", "Equation of state: scan of volumes, fitted (ASE)", eos),
    _task("md", "Molecular dynamics: velocity Verlet (NVE) or Langevin (NVT)", md),
)
