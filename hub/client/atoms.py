"""ASE atoms on the wire: the compact JSON form the client sends, and ASE objects read back.

:func:`encode_atoms` writes an :class:`ase.Atoms` as the hub's ``atoms`` JSON: numbers,
positions (base64 of little-endian float64: compact and exact), cell, pbc, and what the
structure carries besides: its constraints (ASE's own ``todict`` form: ``FixAtoms``,
``FixCartesian``, ``FixBondLength(s)``, ``FixedLine``, ``FixedPlane``), initial magnetic
moments and charges, and the total ``charge`` and unpaired electrons ``uhf`` kept in
``atoms.info``. :func:`decode_atoms` reads that form back (constraints too), and
:func:`with_results` attaches a result's energy (eV), forces (eV/Å) and stress (eV/Å^3) as a
:class:`~ase.calculators.singlepoint.SinglePointCalculator`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.sdk.ase import state_json

if TYPE_CHECKING:
    from ase import Atoms

__all__ = ["atoms_from_extxyz", "decode_atoms", "encode_atoms", "is_atoms", "to_wire"]


def encode_atoms(atoms: Atoms) -> dict[str, Any]:
    """The compact JSON form of ``atoms``: numbers, positions (Å) as base64 of little-endian
    float64, pbc, the cell (Å) when it has one, and its constraints, initial moments and
    charges, ``info["charge"]`` and ``info["uhf"]`` when it has them."""
    pos = np.ascontiguousarray(atoms.positions, dtype="<f8")
    out: dict[str, Any] = {
        "numbers": atoms.numbers.tolist(),
        "positions_b64": base64.b64encode(pos.tobytes()).decode("ascii"),
        "pbc": atoms.pbc.tolist(),
    }
    if atoms.cell.rank or atoms.pbc.any():
        out["cell"] = atoms.cell.array.tolist()
    return out | state_json(atoms)


def is_atoms(x: Any) -> bool:
    """True for an :class:`ase.Atoms` (without importing ASE when it is not loaded)."""
    import sys

    ase = sys.modules.get("ase")
    return ase is not None and isinstance(x, ase.Atoms)


def to_wire(x: Any) -> Any:
    """An input as JSON: :class:`ase.Atoms` encoded (:func:`encode_atoms`), anything else
    unchanged."""
    return encode_atoms(x) if is_atoms(x) else x


def batch_of(inputs: Sequence[Any] | Any) -> list[Any]:
    """A request's inputs: a list or tuple as given, one input (an Atoms too: ASE's Atoms is
    a sequence of atoms, not of structures) as a batch of one; Atoms encoded."""
    items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    return [to_wire(x) for x in items]


def decode_atoms(data: dict[str, Any]) -> Atoms:
    """An :class:`ase.Atoms` from the hub's atoms JSON (lists or ``positions_b64``), with its
    constraints (``ase.constraints.dict2constraint``), initial moments and charges, and
    ``charge`` / ``uhf`` in ``info``."""
    from ase import Atoms
    from ase.constraints import dict2constraint

    numbers = data.get("numbers")
    if numbers is None:
        numbers = Atoms(data["symbols"]).numbers
    if "positions_b64" in data:
        raw = base64.b64decode(data["positions_b64"])
        positions = np.frombuffer(raw, dtype="<f8").reshape(len(numbers), 3).copy()
    else:
        positions = np.asarray(data["positions"], dtype=float)
    atoms = Atoms(
        numbers=numbers, positions=positions, cell=data.get("cell"), pbc=data.get("pbc", False)
    )
    if data.get("initial_magmoms") is not None:
        atoms.set_initial_magnetic_moments(data["initial_magmoms"])
    if data.get("initial_charges") is not None:
        atoms.set_initial_charges(data["initial_charges"])
    for key in ("charge", "uhf"):
        if data.get(key) is not None:
            atoms.info[key] = int(data[key])
    if data.get("constraints"):
        atoms.set_constraint([dict2constraint(c) for c in data["constraints"]])
    return atoms


def with_results(atoms: Atoms, results: dict[str, Any]) -> Atoms:
    """``atoms`` with a :class:`SinglePointCalculator` holding ``results``' energy (eV),
    forces (eV/Å) and stress (eV/Å^3, Voigt) when present, so ``get_potential_energy()``,
    ``get_forces()`` and ``get_stress()`` answer without a calculation."""
    from ase.calculators.singlepoint import SinglePointCalculator

    kw: dict[str, Any] = {}
    if "energy" in results:
        kw["energy"] = float(results["energy"])
        kw["free_energy"] = float(results["energy"])
    if results.get("forces") is not None:
        kw["forces"] = np.asarray(results["forces"], dtype=float)
    if results.get("stress") is not None:
        kw["stress"] = np.asarray(results["stress"], dtype=float)
    atoms.calc = SinglePointCalculator(atoms, **kw)
    return atoms


def atoms_from_extxyz(text: str, index: Any = ":") -> Any:
    """The frames of extxyz ``text`` as :class:`ase.Atoms` (a list for ``":"``, one for an
    integer index), as a job's result carries them."""
    from ase.io import read

    return read(io.StringIO(text), format="extxyz", index=index)
