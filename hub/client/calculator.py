"""A remote ASE calculator: ``atoms.calc = HubClient(url).calculator("physics.emt")``.

It is a real :class:`ase.calculators.calculator.Calculator` (``implemented_properties``,
results cached until the atoms change, ``check_state``), so ASE's own optimisers and MD drive
it. Each calculation is one ``predict`` call over the client's persistent connection;
positions travel as base64 of little-endian float64 (compact and exact, see
:func:`~hub.client.atoms.encode_atoms`). Units as ASE: eV, eV/Å, eV/Å^3.

It needs only something that predicts (:class:`Predicts`, which :class:`~hub.client.HubClient`
is), so it does not import the client.

:func:`calculate` (behind ``HubClient.calculate`` and ``hub.calculate``) scores many structures
in one request and returns them as ASE atoms with a
:class:`~ase.calculators.singlepoint.SinglePointCalculator` each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ase.calculators.calculator import Calculator, CalculatorError, all_changes

from hub.client.atoms import encode_atoms, is_atoms, with_results
from hub.client.predictions import Predictions
from hub.sdk.ase import ase_results

if TYPE_CHECKING:
    from ase import Atoms

__all__ = ["HubCalculator", "HubCalculatorError", "Predicts", "calculate", "encode_atoms"]


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

    # magnetic moments: from the models that give them (CHGNet), else ASE's PropertyNotImplemented
    implemented_properties = ("energy", "free_energy", "forces", "stress", "magmoms", "magmom")

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


def attach(atoms: Atoms, out: dict[str, Any]) -> Atoms:
    """``atoms`` (a copy) with one prediction output: energy, forces and stress in a
    SinglePointCalculator, the output's other numbers (``homo_lumo_gap``, ``uhf``...) in
    ``info``, with ``info["engine"]``."""
    atoms = atoms.copy()
    value = out["value"]
    with_results(atoms, value)
    for key, val in value.items():
        if key not in ("energy", "forces", "stress") and isinstance(val, int | float | str):
            atoms.info[key] = val
    if out.get("engine"):
        atoms.info["engine"] = out["engine"]
    return atoms


def calculate(
    atoms: Atoms | Sequence[Atoms],
    *,
    model: str,
    client: Predicts,
    chunk: int = 500,
    errors: str = "raise",
) -> Atoms | list[Atoms | None]:
    """Energy, forces (and stress for periodic cells) of one structure or many, computed by
    ``model`` on a hub in requests of ``chunk`` structures; returns copies of the structures
    with a :class:`SinglePointCalculator` (``get_potential_energy()`` in eV, ``get_forces()``
    in eV/Å, ``get_stress()`` in eV/Å^3), one :class:`ase.Atoms` for one.

    ``client``: a :class:`~hub.client.HubClient` (``hub.calculate`` makes one from a URL). A
    structure the hub refuses raises :class:`HubCalculatorError` (its index in the message),
    or is ``None`` in the list with ``errors="ignore"``."""
    if errors not in ("raise", "ignore"):
        raise ValueError("errors must be 'raise' or 'ignore'")
    single = is_atoms(atoms)
    structures = [atoms] if single else list(atoms)  # type: ignore[list-item, arg-type]
    results: list[Atoms | None] = []
    for start in range(0, len(structures), chunk):
        part = structures[start : start + chunk]
        pred = client.predict(model, [encode_atoms(a) for a in part])
        for k, (a, out) in enumerate(zip(part, pred.outputs, strict=True)):
            if "error" in out:
                if errors == "raise":
                    err = out["error"]
                    where = f"structure {start + k}"
                    raise HubCalculatorError(err["code"], f"{where}: {err['message']}")
                results.append(None)
            else:
                results.append(attach(a, out))
    return results[0] if single else results  # type: ignore[return-value]
