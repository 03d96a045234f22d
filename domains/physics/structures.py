"""Atomic structures from JSON: the ``atoms`` input type.

Accepted forms (positions in Å, cell vectors in Å as rows)::

    {"symbols": ["Cu", "Cu"] | "Cu2", "positions": [[0, 0, 0], [1.8, 1.8, 0]],
     "cell": [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 3.6]] | [3.6, 3.6, 3.6], "pbc": true | [1, 1, 0]}
    {"numbers": [29, 29], ...}
    {"extxyz": "<text of an extended XYZ file with one frame>"}

Checks, each a typed :class:`~hub.errors.ItemError`: ``invalid_atoms`` (shape, types, unknown
element), ``non_finite`` (NaN or infinite coordinates or cell), ``too_many_atoms``
(:data:`MAX_ATOMS`), ``overlapping_atoms`` (closer than :data:`MIN_DISTANCE`), ``singular_cell``
(a periodic direction whose cell vectors span no volume).
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from hub.errors import ItemError

MAX_ATOMS = 5000
MIN_DISTANCE = 0.5  # Å; closer atoms are almost certainly an input error


def _bad(message: str, code: str = "invalid_atoms", **detail: Any) -> ItemError:
    return ItemError(message, code=code, **detail)


def _numbers(raw: dict[str, Any]) -> np.ndarray:
    if "numbers" in raw:
        try:
            numbers = np.asarray(raw["numbers"], dtype=int).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise _bad("'numbers' must be a list of atomic numbers") from exc
        bad = [int(z) for z in numbers if not 0 < z < len(chemical_symbols)]
        if bad:
            raise _bad(f"unknown atomic number(s): {bad[:5]}", code="unknown_element")
        return numbers
    symbols = raw.get("symbols")
    if isinstance(symbols, str):
        try:
            return Atoms(symbols).numbers
        except (KeyError, ValueError) as exc:
            raise _bad(
                f"cannot read formula {symbols[:50]!r}: unknown element {exc}",
                code="unknown_element",
            ) from exc
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise _bad("give 'symbols' (a list of element symbols or a formula) or 'numbers'")
    unknown = sorted({s for s in symbols if s not in atomic_numbers})
    if unknown:
        raise _bad(
            f"unknown element(s): {', '.join(u[:10] for u in unknown[:5])}",
            code="unknown_element",
            elements=unknown[:20],
        )
    return np.array([atomic_numbers[s] for s in symbols], dtype=int)


def _from_extxyz(text: Any) -> Atoms:
    from ase.io import read

    if not isinstance(text, str) or len(text) > 5_000_000:
        raise _bad("'extxyz' must be the text of an extended XYZ file (at most 5 MB)")
    try:
        atoms = read(io.StringIO(text), format="extxyz", index=0)
    except Exception as exc:
        raise _bad(f"cannot read extxyz: {exc}") from exc
    atoms.calc = None
    return atoms


def _positions(raw: dict[str, Any], n: int) -> np.ndarray:
    """``positions`` as lists, or ``positions_b64``: base64 of n*3 little-endian float64 (the
    compact form the remote ASE calculator sends)."""
    if "positions_b64" in raw:
        try:
            data = base64.b64decode(raw["positions_b64"], validate=True)
            return np.frombuffer(data, dtype="<f8").reshape(n, 3).copy()
        except (binascii.Error, TypeError, ValueError) as exc:
            raise _bad(f"'positions_b64' must be base64 of {n}x3 little-endian float64") from exc
    try:
        return np.asarray(raw.get("positions"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise _bad("'positions' must be a list of [x, y, z] in Å") from exc


def parse_atoms(raw: Any) -> Atoms:
    """An :class:`ase.Atoms` from its JSON form, checked as the module docstring says."""
    if isinstance(raw, Atoms):
        atoms = raw.copy()
    elif isinstance(raw, dict) and "extxyz" in raw:
        atoms = _from_extxyz(raw["extxyz"])
    elif isinstance(raw, dict):
        numbers = _numbers(raw)
        if len(numbers) > MAX_ATOMS:
            raise _bad(f"{len(numbers)} atoms; the limit is {MAX_ATOMS}", code="too_many_atoms")
        positions = _positions(raw, len(numbers))
        if positions.shape != (len(numbers), 3):
            raise _bad(f"'positions' has shape {positions.shape}; expected ({len(numbers)}, 3)")
        cell = raw.get("cell")
        try:
            cell_arr = None if cell is None else np.asarray(cell, dtype=float)
        except (TypeError, ValueError) as exc:
            raise _bad("'cell' must be 3 lengths or a 3x3 matrix in Å") from exc
        if cell_arr is not None and cell_arr.shape not in ((3,), (3, 3)):
            raise _bad("'cell' must be 3 lengths or a 3x3 matrix in Å")
        pbc = raw.get("pbc", cell is not None)
        if not isinstance(pbc, bool | list):
            raise _bad("'pbc' must be a boolean or a list of three booleans")
        if cell_arr is not None and not np.isfinite(cell_arr).all():
            raise _bad("the cell has NaN or infinite entries", code="non_finite")
        if not np.isfinite(positions).all():
            raise _bad("positions contain NaN or infinite values", code="non_finite")
        try:
            atoms = Atoms(numbers=numbers, positions=positions, cell=cell_arr, pbc=pbc)
        except (ValueError, TypeError) as exc:
            raise _bad(f"invalid structure: {exc}") from exc
    else:
        raise _bad(f"expected an atoms object (a JSON object), got {type(raw).__name__}")
    check_atoms(atoms)
    return atoms


def check_atoms(atoms: Atoms) -> None:
    """Checks that do not depend on the input's form."""
    n = len(atoms)
    if n == 0:
        raise _bad("the structure has no atoms", code="empty_input")
    if n > MAX_ATOMS:
        raise _bad(f"{n} atoms; the limit is {MAX_ATOMS}", code="too_many_atoms")
    if not np.isfinite(atoms.positions).all() or not np.isfinite(atoms.cell.array).all():
        raise _bad("positions or cell contain NaN or infinite values", code="non_finite")
    if atoms.pbc.any():
        periodic = atoms.cell.array[atoms.pbc]
        if len(periodic) and (
            np.linalg.matrix_rank(periodic, tol=1e-6) < len(periodic)
            or (atoms.pbc.all() and abs(atoms.cell.volume) < 1e-6)
        ):
            raise _bad(
                "the cell is singular along a periodic direction (zero volume)",
                code="singular_cell",
            )
    if n > 1:
        pair = _closest_pair_below(atoms, MIN_DISTANCE)
        if pair is not None:
            i, j, d = pair
            raise _bad(
                f"atoms {i} and {j} are {d:.3f} Å apart, closer than {MIN_DISTANCE} Å",
                code="overlapping_atoms",
            )


def _closest_pair_below(atoms: Atoms, cutoff: float) -> tuple[int, int, float] | None:
    """A pair of atoms closer than ``cutoff`` Å (minimum image), or None. A k-d tree for
    molecules and orthorhombic cells (the common, fast case), ASE's neighbour list otherwise."""
    from scipy.spatial import cKDTree

    cell = atoms.cell.array
    orthorhombic = not np.any(cell - np.diag(np.diag(cell)))
    if not atoms.pbc.any():
        tree, pos = cKDTree(atoms.positions), atoms.positions
    elif orthorhombic and atoms.pbc.all() and np.all(np.diag(cell) > 2 * cutoff):
        box = np.diag(cell)
        pos = np.mod(atoms.positions, box)
        tree = cKDTree(pos, boxsize=box * (1 + 1e-12))
    else:
        from ase.neighborlist import neighbor_list

        i, j, d = neighbor_list("ijd", atoms, cutoff)
        if not len(d):
            return None
        k = int(np.argmin(d))
        return int(i[k]), int(j[k]), float(d[k])
    pairs = tree.query_pairs(cutoff, output_type="ndarray")
    if not len(pairs):
        return None
    i, j = (int(x) for x in pairs[0])
    delta = pos[i] - pos[j]
    if atoms.pbc.any():
        delta -= np.round(delta / np.diag(cell)) * np.diag(cell)
    return i, j, float(np.linalg.norm(delta))


def atoms_to_json(atoms: Atoms) -> dict[str, Any]:
    """The JSON form of ``atoms`` that :func:`parse_atoms` reads back."""
    return {
        "numbers": atoms.numbers.tolist(),
        "positions": atoms.positions.tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": atoms.pbc.tolist(),
    }


def embed_smiles(smiles: str, seed: int = 42) -> Atoms:
    """A 3D structure for a SMILES: RDKit ETKDG (seeded) then MMFF94 relaxation, with H."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from hub.errors import ItemError as _ItemError

    mol = Chem.MolFromSmiles(smiles) if len(smiles) <= 500 else None
    if mol is None:
        raise _ItemError(f"cannot read SMILES {smiles[:80]!r}", code="invalid_smiles")
    mol = Chem.AddHs(mol)
    if mol.GetNumAtoms() > 300:
        raise _ItemError(
            "molecule too large to embed (over 300 atoms with H)", code="too_many_atoms"
        )
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise _ItemError(f"RDKit could not embed {smiles!r} in 3D", code="embedding_failed")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
    pos = mol.GetConformer().GetPositions()
    return Atoms(numbers=[a.GetAtomicNum() for a in mol.GetAtoms()], positions=pos)


def parse_molecule3d(raw: Any) -> Atoms:
    """The ``molecule3d`` input type: an atoms object, or a SMILES embedded in 3D."""
    if isinstance(raw, str) and "\n" not in raw:
        atoms = embed_smiles(raw.strip())
        atoms.info["geometry"] = "RDKit ETKDGv3 (seed 42) + MMFF94"
        check_atoms(atoms)
        return atoms
    return parse_atoms(raw)


def describe_molecule3d(atoms: Atoms) -> dict[str, Any]:
    """For a structure embedded from SMILES: which geometry was used, and the structure."""
    if "geometry" not in atoms.info:
        return {}
    return {"geometry": atoms.info["geometry"], "atoms": atoms_to_json(atoms)}
