"""What every physics task shares: an ASE calculator over a loaded model version (in process,
no HTTP), a structure's results and frames as JSON and extxyz, and the task's charge and spin
set on a structure. Units as ASE: eV, eV/Å, eV/Å^3."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from hub.sdk import ItemError, ase_results

Progress = Callable[[int, int, str], None]


class ModelCalculator(Calculator):
    """ASE calculator over a hub predictor (in process: no HTTP). ``observe()``, when given, is
    called after each calculation (a task's progress); ``value`` is the model's last output
    (it may carry more than ASE's results, as GFN2-xTB's ``uhf``)."""

    implemented_properties = ("energy", "forces", "stress")

    def __init__(self, predictor: Any, observe: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.predictor = predictor
        self.observe = observe
        self.value: dict[str, Any] = {}

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
        self.value = out["value"]
        self.results = ase_results(out["value"])
        if self.observe is not None:
            self.observe()


def results_json(atoms: Atoms) -> dict[str, Any]:
    """Energy (eV), forces (eV/Å, unconstrained) and, when known, stress (eV/Å^3, Voigt) of
    ``atoms``' calculator, as a result carries them for the client's SinglePointCalculator."""
    calc = atoms.calc
    out: dict[str, Any] = {
        "energy": float(calc.results["energy"]),
        "forces": np.asarray(calc.results["forces"]).tolist(),
    }
    if "stress" in calc.results:
        out["stress"] = np.asarray(calc.results["stress"]).tolist()
    return out


def to_extxyz(frames: list[Atoms]) -> str:
    from ase.io import write

    buf = io.StringIO()
    write(buf, frames, format="extxyz")
    return buf.getvalue()


def with_state(atoms: Atoms, params: dict[str, Any]) -> Atoms:
    """A copy of ``atoms`` (constraints, moments and charges kept) with the task's ``charge``
    and ``uhf`` set when given."""
    atoms = atoms.copy()
    for key in ("charge", "uhf"):
        if params.get(key) is not None:
            atoms.info[key] = int(params[key])
    return atoms
