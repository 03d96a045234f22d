"""A remote ASE calculator: ``atoms.calc = HubClient(url).calculator("physics.emt")``.

It is a real :class:`ase.calculators.calculator.Calculator` (``implemented_properties``,
results cached until the atoms change, ``check_state``), so ASE's own optimisers and MD drive
it. Each calculation is one POST over the client's persistent connection; positions travel as
base64 of little-endian float64 (compact and exact). Units as ASE: eV, eV/Å, eV/Å^3.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.calculator import Calculator, CalculatorError, all_changes

if TYPE_CHECKING:
    from ase import Atoms

    from hub.client.http import HubClient


class HubCalculatorError(CalculatorError):
    """The hub answered this structure with an error (``code`` and ``message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def encode_atoms(atoms: Atoms) -> dict[str, Any]:
    """The compact JSON form of ``atoms`` (positions as base64 float64)."""
    pos = np.ascontiguousarray(atoms.positions, dtype="<f8")
    out: dict[str, Any] = {
        "numbers": atoms.numbers.tolist(),
        "positions_b64": base64.b64encode(pos.tobytes()).decode("ascii"),
        "pbc": atoms.pbc.tolist(),
    }
    if atoms.cell.rank or atoms.pbc.any():
        out["cell"] = atoms.cell.array.tolist()
    return out


def ase_results(value: dict[str, Any]) -> dict[str, Any]:
    """ASE's ``results`` from an energy model's output value (eV, eV/Å, eV/Å^3)."""
    results = {
        "energy": float(value["energy"]),
        "free_energy": float(value["energy"]),
        "forces": np.asarray(value["forces"], dtype=float),
    }
    if "stress" in value:
        results["stress"] = np.asarray(value["stress"], dtype=float)
    return results


class HubCalculator(Calculator):
    """Energy, forces and (periodic cells) stress from a model on a hub."""

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, client: HubClient, ref: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.ref = ref
        self.engine: str | None = None
        self.version: int | None = None

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Any = ("energy",),
        system_changes: Any = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        pred = self.client.predict(self.ref, [encode_atoms(self.atoms)])
        out = pred.outputs[0]
        if "error" in out:
            raise HubCalculatorError(out["error"]["code"], out["error"]["message"])
        self.version, self.engine = pred.version, out.get("engine")
        self.results = ase_results(out["value"])
        if "stress" in properties and "stress" not in self.results:
            raise HubCalculatorError("no_stress", "stress needs a fully periodic cell")
