"""ASE atoms on the wire: the compact JSON form the client sends, and extxyz read back."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ase import Atoms


def encode_atoms(atoms: Atoms) -> dict[str, Any]:
    """The compact JSON form of ``atoms``: numbers, positions (Å) as base64 of little-endian
    float64 (compact and exact), pbc, and the cell (Å) when it has one."""
    pos = np.ascontiguousarray(atoms.positions, dtype="<f8")
    out: dict[str, Any] = {
        "numbers": atoms.numbers.tolist(),
        "positions_b64": base64.b64encode(pos.tobytes()).decode("ascii"),
        "pbc": atoms.pbc.tolist(),
    }
    if atoms.cell.rank or atoms.pbc.any():
        out["cell"] = atoms.cell.array.tolist()
    return out


def atoms_from_extxyz(text: str, index: Any = ":") -> Any:
    """The frames of extxyz ``text`` as :class:`ase.Atoms` (a list for ``":"``, one for an
    integer index), as a job's result carries them."""
    from ase.io import read

    return read(io.StringIO(text), format="extxyz", index=index)
