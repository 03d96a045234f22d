"""A remote ASE calculator: ``atoms.calc = HubClient(url).calculator("physics.emt")``.

It is a real :class:`ase.calculators.calculator.Calculator` (``implemented_properties``,
results cached until the atoms change, ``check_state``), so ASE's own optimisers and MD drive
it. Each calculation is one ``predict`` call over the client's persistent connection;
positions travel as base64 of little-endian float64 (compact and exact, see
:func:`~hub.client.atoms.encode_atoms`). Units as ASE: eV, eV/Å, eV/Å^3.

It needs only something that predicts (:class:`Predicts`, which :class:`~hub.client.HubClient`
is), so it does not import the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ase.calculators.calculator import Calculator, CalculatorError, all_changes

from hub.client.atoms import encode_atoms
from hub.client.predictions import Predictions
from hub.sdk.ase import ase_results

if TYPE_CHECKING:
    from ase import Atoms

__all__ = ["HubCalculator", "HubCalculatorError", "Predicts", "encode_atoms"]


class Predicts(Protocol):
    """Anything with the client's ``predict`` method."""

    def predict(
        self, ref: str, inputs: Sequence[Any] | Any, *, params: dict[str, Any] | None = None
    ) -> Predictions: ...


class HubCalculatorError(CalculatorError):
    """The hub answered this structure with an error (``code`` and ``message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class HubCalculator(Calculator):
    """Energy, forces and (periodic cells) stress from a model on a hub."""

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, client: Predicts, ref: str, **kwargs: Any) -> None:
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
