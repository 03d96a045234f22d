"""Atomic structures from JSON: the ``atoms`` input type.

Accepted forms (positions in Å, cell vectors in Å as rows)::

    {"symbols": ["Cu", "Cu"] | "Cu2", "positions": [[0, 0, 0], [1.8, 1.8, 0]],
     "cell": [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 3.6]] | [3.6, 3.6, 3.6], "pbc": true | [1, 1, 0]}
    {"numbers": [29, 29], ...}
    {"extxyz": "<text of an extended XYZ file with one frame>"}

Checks, each a typed :class:`~hub.errors.ItemError`, all made before anything of the
structure's size is allocated (a formula's atoms are counted before it is expanded, an extxyz
file's declared count is read before ASE reads the file):

- ``invalid_atoms``: shape or types (atomic numbers must be integers: ``29.7``, ``"29"`` and
  ``true`` are refused, not read as copper or hydrogen);
- ``unknown_element``: an atomic number outside 1..118 or an unknown symbol;
- ``empty_input``: no atoms;
- ``too_many_atoms``: over :data:`MAX_ATOMS` (a model may have a lower limit:
  :mod:`domains.physics.limits`);
- ``non_finite``: NaN or infinite coordinates or cell;
- ``coordinates_out_of_range``: a coordinate or cell entry over :data:`MAX_COORDINATE` Å;
- ``singular_cell``: cell vectors that span no volume along a periodic direction (also when a
  non-periodic vector is parallel to a periodic one);
- ``cell_too_small``: a periodic cell thinner than :data:`MIN_DISTANCE` Å in some direction
  (each atom would overlap its own periodic image);
- ``overlapping_atoms``: two atoms closer than :data:`MIN_DISTANCE` Å (periodic images too);
- constraints, initial magnetic moments and charges, total ``charge`` and ``uhf``
  (:mod:`domains.physics.atoms_state`): ``unknown_constraint``,
  ``constraint_index_out_of_range``, ``invalid_constraint``;
- for a SMILES embedded in 3D (``molecule3d``): ``empty_input``, ``invalid_smiles`` (not
  ASCII, or not read by RDKit), ``disconnected_molecule`` (several fragments, as
  ``[Na+].[Cl-]``), ``too_many_atoms`` and ``embedding_failed``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from domains.physics.atoms_state import apply_state
from hub.sdk import ItemError
from hub.sdk.ase import state_json

MAX_ATOMS = 5000
MIN_DISTANCE = 0.5  # Å; closer atoms are almost certainly an input error
MAX_COORDINATE = 1e5  # Å; a bound on every coordinate and cell entry
MAX_FORMULA_CHARS = 1000
MAX_SMILES_CHARS = 500
MAX_EMBED_ATOMS = 300  # atoms with H of a SMILES embedded in 3D
# what every structure input is checked against (shown on the cards: InputType.limits)
LIMITS = {
    "max_atoms": MAX_ATOMS,
    "min_distance_angstrom": MIN_DISTANCE,
    "max_coordinate_angstrom": MAX_COORDINATE,
    "max_formula_chars": MAX_FORMULA_CHARS,
    "max_smiles_chars": MAX_SMILES_CHARS,
    "max_embed_atoms": MAX_EMBED_ATOMS,
}


def _bad(message: str, code: str = "invalid_atoms", **detail: Any) -> ItemError:
    return ItemError(message, code=code, **detail)


def _atomic_number(z: Any) -> int:
    """One atomic number: an integer (a float only when whole), never a bool or a string."""
    if isinstance(z, bool | np.bool_) or not isinstance(z, int | float | np.integer | np.floating):
        raise _bad(f"atomic numbers must be integers; got {str(z)[:30]!r}")
    if isinstance(z, float | np.floating) and not float(z).is_integer():
        raise _bad(f"atomic numbers must be integers; got {float(z)!r}")
    if not 0 < z < len(chemical_symbols):
        raise _bad(
            f"unknown atomic number {str(z)[:30]}: give 1 to {len(chemical_symbols) - 1}",
            code="unknown_element",
        )
    return int(z)


def _count(n: int) -> None:
    if n > MAX_ATOMS:
        raise _bad(
            f"{n} atoms; the limit is {MAX_ATOMS}",
            code="too_many_atoms",
            limit="max_atoms",
            value=n,
            maximum=MAX_ATOMS,
        )


def _formula(symbols: str) -> np.ndarray:
    """The atomic numbers of a formula (``"Cu2"``, ``"(CH3)2O"``), counted before expanded."""
    from ase.formula import Formula

    if len(symbols) > MAX_FORMULA_CHARS:
        raise _bad(f"a formula has at most {MAX_FORMULA_CHARS} characters")
    try:
        formula = Formula(symbols)
        _count(len(formula))  # a sum of counts: nothing expanded yet
        return Atoms(symbols).numbers
    except ItemError:
        raise
    except (KeyError, ValueError, RecursionError) as exc:
        raise _bad(
            f"cannot read formula {symbols[:50]!r}: unknown element {exc}",
            code="unknown_element",
        ) from exc


def _numbers(raw: dict[str, Any]) -> np.ndarray:
    if "numbers" in raw:
        numbers = raw["numbers"]
        if isinstance(numbers, np.ndarray):
            numbers = numbers.tolist()
        if not isinstance(numbers, list | tuple):
            raise _bad("'numbers' must be a list of atomic numbers")
        _count(len(numbers))
        return np.array([_atomic_number(z) for z in numbers], dtype=int)
    symbols = raw.get("symbols")
    if isinstance(symbols, str):
        return _formula(symbols)
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise _bad("give 'symbols' (a list of element symbols or a formula) or 'numbers'")
    _count(len(symbols))
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
    # ASE loops towards the declared count: read it first, and refuse what the text cannot hold
    head = text.lstrip("\n")[:100].split("\n", 1)[0].strip()
    if not head.isdigit():
        raise _bad("cannot read extxyz: its first line must be the number of atoms")
    declared = int(head)
    if declared == 0:
        raise _bad("the structure has no atoms", code="empty_input")
    _count(declared)
    if text.count("\n") + 1 < declared + 2:
        raise _bad(
            f"cannot read extxyz: it declares {declared} atoms but has fewer lines than that"
        )
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
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad("'positions' must be a list of [x, y, z] in Å") from exc


def parse_atoms(raw: Any) -> Atoms:
    """An :class:`ase.Atoms` from its JSON form, checked as the module docstring says."""
    if isinstance(raw, Atoms):
        atoms = raw.copy()
    elif isinstance(raw, dict) and "extxyz" in raw:
        atoms = _from_extxyz(raw["extxyz"])
    elif isinstance(raw, dict):
        numbers = _numbers(raw)
        positions = _positions(raw, len(numbers))
        if positions.shape != (len(numbers), 3):
            raise _bad(f"'positions' has shape {positions.shape}; expected ({len(numbers)}, 3)")
        cell = raw.get("cell")
        try:
            cell_arr = None if cell is None else np.asarray(cell, dtype=float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise _bad("'cell' must be 3 lengths or a 3x3 matrix in Å") from exc
        if cell_arr is not None and cell_arr.shape not in ((3,), (3, 3)):
            raise _bad("'cell' must be 3 lengths or a 3x3 matrix in Å")
        pbc = raw.get("pbc", cell is not None)
        if not (
            isinstance(pbc, bool)
            or (isinstance(pbc, list) and len(pbc) == 3 and all(p in (0, 1) for p in pbc))
        ):
            raise _bad("'pbc' must be a boolean or a list of three booleans")
        if cell_arr is not None and not np.isfinite(cell_arr).all():
            raise _bad("the cell has NaN or infinite entries", code="non_finite")
        if not np.isfinite(positions).all():
            raise _bad("positions contain NaN or infinite values", code="non_finite")
        try:
            atoms = Atoms(numbers=numbers, positions=positions, cell=cell_arr, pbc=pbc)
        except (ValueError, TypeError) as exc:
            raise _bad(f"invalid structure: {exc}") from exc
        apply_state(atoms, raw)
    else:
        raise _bad(f"expected an atoms object (a JSON object), got {type(raw).__name__}")
    check_atoms(atoms)
    return atoms


def check_atoms(atoms: Atoms) -> None:
    """Checks that do not depend on the input's form (the module docstring lists them)."""
    n = len(atoms)
    if n == 0:
        raise _bad("the structure has no atoms", code="empty_input")
    _count(n)
    cell = atoms.cell.array
    if not np.isfinite(atoms.positions).all() or not np.isfinite(cell).all():
        raise _bad("positions or cell contain NaN or infinite values", code="non_finite")
    largest = max(float(np.abs(atoms.positions).max()), float(np.abs(cell).max()))
    if largest > MAX_COORDINATE:
        raise _bad(
            f"a coordinate or cell entry is {largest:.3g} Å; the limit is {MAX_COORDINATE:g} Å",
            code="coordinates_out_of_range",
            limit="max_coordinate_angstrom",
            value=largest,
            maximum=MAX_COORDINATE,
        )
    if atoms.pbc.any():
        _check_cell(atoms)
    if n > 1:
        pair = _closest_pair_below(atoms, MIN_DISTANCE)
        if pair is not None:
            i, j, d = pair
            raise _bad(
                f"atoms {i} and {j} are {d:.3f} Å apart, closer than {MIN_DISTANCE} Å",
                code="overlapping_atoms",
            )


def cell_heights(atoms: Atoms) -> np.ndarray:
    """Distances (3,) Å between opposite faces of the cell, missing vectors completed by ASE
    (orthogonal unit vectors); 0 along a direction the cell spans no volume in."""
    cell = atoms.cell.complete().array
    vol = abs(float(np.linalg.det(cell)))
    out = np.zeros(3)
    for k in range(3):
        norm = float(np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])))
        out[k] = vol / norm if norm > 0 else 0.0
    return out


def _check_cell(atoms: Atoms) -> None:
    """A periodic cell must span a volume (its completed form is what ASE inverts, even when
    partly periodic) and be at least :data:`MIN_DISTANCE` thick along each periodic direction:
    no lattice vector is then shorter than that, so no atom overlaps its own image."""
    heights = cell_heights(atoms)
    scale = max(float(np.abs(atoms.cell.complete().array).max()), 1.0)
    # ASE completes a zero vector with a unit one: a periodic direction without a vector is
    # singular too (else its 0 Å period passes as 1 Å)
    missing = ~atoms.cell.array.any(axis=1) & atoms.pbc
    if missing.any() or heights.min() <= 1e-9 * scale:
        raise _bad(
            "the cell is singular along a periodic direction (its vectors span no volume)",
            code="singular_cell",
        )
    thin = [
        (axis, float(h))
        for axis, (h, p) in enumerate(zip(heights, atoms.pbc, strict=True))
        if p and h < MIN_DISTANCE
    ]
    if thin:
        axis, h = thin[0]
        raise _bad(
            f"the periodic cell is {h:.3g} Å thick along cell vector {axis}; it must be at least "
            f"{MIN_DISTANCE} Å (each atom would overlap its own periodic image)",
            code="cell_too_small",
            limit="min_cell_height_angstrom",
            value=h,
            minimum=MIN_DISTANCE,
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


_SMILES_ATOM = re.compile(r"Cl|Br|[BCNOPSFI]|[bcnops]|\[[^\]]*\]")


def estimate_atoms(raw: Any) -> int:
    """A cheap estimate of how many atoms a raw input holds, read without parsing or allocating
    it (the input types' ``cost``): the length of ``numbers`` or ``symbols``, a formula's count
    (summed, not expanded), an extxyz file's declared count, or for a SMILES twice its heavy
    atoms plus two (hydrogens added when embedding); at least 1 and at most :data:`MAX_ATOMS`
    (a larger one is refused before any work). An input too odd to estimate counts as 1: its
    parser reports it."""
    n = 1
    if isinstance(raw, dict):
        if isinstance(raw.get("numbers"), list | tuple):
            n = len(raw["numbers"])
        elif isinstance(raw.get("symbols"), list | tuple):
            n = len(raw["symbols"])
        elif isinstance(raw.get("symbols"), str) and len(raw["symbols"]) <= MAX_FORMULA_CHARS:
            from ase.formula import Formula

            try:
                n = len(Formula(raw["symbols"]))
            except Exception:  # noqa: BLE001 - the parser reports a bad formula
                n = 1
        elif isinstance(raw.get("extxyz"), str):
            head = raw["extxyz"].lstrip("\n")[:30].split("\n", 1)[0].strip()
            n = int(head) if head.isdigit() and len(head) < 20 else 1
    elif isinstance(raw, str) and "\n" not in raw:
        n = 2 * len(_SMILES_ATOM.findall(raw[: 2 * MAX_SMILES_CHARS])) + 2
    return min(max(1, n), MAX_ATOMS)


def atoms_to_json(atoms: Atoms) -> dict[str, Any]:
    """The JSON form of ``atoms`` that :func:`parse_atoms` reads back, with its constraints,
    initial moments and charges, total charge and unpaired electrons when it has them."""
    return {
        "numbers": atoms.numbers.tolist(),
        "positions": atoms.positions.tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": atoms.pbc.tolist(),
    } | state_json(atoms)


def embed_smiles(smiles: str, seed: int = 42) -> Atoms:
    """A 3D structure for a SMILES: RDKit ETKDG (seeded) then MMFF94 relaxation, with H.

    Typed errors: ``empty_input``, ``invalid_smiles`` (too long, not ASCII, or not read by
    RDKit), ``disconnected_molecule`` (several fragments: they would be embedded on top of one
    another), ``too_many_atoms`` (over :data:`MAX_EMBED_ATOMS` with H), ``embedding_failed``."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    smiles = smiles.strip()
    if not smiles:
        raise _bad("the SMILES is empty", code="empty_input")
    if len(smiles) > MAX_SMILES_CHARS or not smiles.isascii():
        # SMILES is ASCII; RDKit silently drops some trailing non-ASCII characters
        raise _bad(
            f"cannot read SMILES {smiles[:80]!r}: a SMILES is ASCII text of at most "
            f"{MAX_SMILES_CHARS} characters",
            code="invalid_smiles",
        )
    try:
        mol = Chem.MolFromSmiles(smiles)
    except (RuntimeError, SystemError, ValueError) as exc:  # RDKit invariant violations
        raise _bad(f"cannot read SMILES {smiles[:80]!r}: {exc}", code="invalid_smiles") from exc
    if mol is None:
        raise _bad(f"cannot read SMILES {smiles[:80]!r}", code="invalid_smiles")
    if mol.GetNumAtoms() == 0:
        raise _bad("the SMILES has no atoms", code="empty_input")
    if any(a.GetAtomicNum() == 0 for a in mol.GetAtoms()):
        raise _bad(  # a 3D model needs elements; RDKit would embed '*' as element X
            f"SMILES {smiles[:80]!r} has a dummy atom '*': a 3D model needs every element",
            code="invalid_smiles",
        )
    frags = len(Chem.GetMolFrags(mol))
    if frags > 1:
        raise _bad(
            f"SMILES {smiles[:80]!r} has {frags} disconnected fragments; a 3D model takes one "
            "molecule (send each fragment as its own input, or an atoms object with positions)",
            code="disconnected_molecule",
            limit="connected",
            value=frags,
        )
    if mol.GetNumAtoms() > MAX_EMBED_ATOMS:  # heavy atoms already over: do not add H
        raise _bad(
            f"molecule too large to embed (over {MAX_EMBED_ATOMS} atoms with H)",
            code="too_many_atoms",
            limit="max_embed_atoms",
            maximum=MAX_EMBED_ATOMS,
        )
    mol = Chem.AddHs(mol)
    if mol.GetNumAtoms() > MAX_EMBED_ATOMS:
        raise _bad(
            f"molecule too large to embed (over {MAX_EMBED_ATOMS} atoms with H)",
            code="too_many_atoms",
            limit="max_embed_atoms",
            value=mol.GetNumAtoms(),
            maximum=MAX_EMBED_ATOMS,
        )
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    try:
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise _bad(f"RDKit could not embed {smiles[:80]!r} in 3D", code="embedding_failed")
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
    except (RuntimeError, ValueError) as exc:  # RDKit's invariant violations in DistGeom
        raise _bad(
            f"RDKit could not embed {smiles[:80]!r} in 3D: {str(exc)[:200]}",
            code="embedding_failed",
        ) from exc
    pos = mol.GetConformer().GetPositions()
    atoms = Atoms(numbers=[a.GetAtomicNum() for a in mol.GetAtoms()], positions=pos)
    # formal charges and radicals, as ASE keeps them (tblite's own calculator reads these)
    charges = [a.GetFormalCharge() for a in mol.GetAtoms()]
    radicals = [a.GetNumRadicalElectrons() for a in mol.GetAtoms()]
    if any(charges):
        atoms.set_initial_charges(charges)
    if any(radicals):
        atoms.set_initial_magnetic_moments(radicals)
    return atoms


def parse_molecule3d(raw: Any) -> Atoms:
    """The ``molecule3d`` input type: an atoms object, or a SMILES embedded in 3D."""
    if isinstance(raw, str) and "\n" not in raw:
        atoms = embed_smiles(raw)
        atoms.info["geometry"] = "RDKit ETKDGv3 (seed 42) + MMFF94"
        check_atoms(atoms)
        return atoms
    return parse_atoms(raw)


def describe_molecule3d(atoms: Atoms) -> dict[str, Any]:
    """For a structure embedded from SMILES: which geometry was used, and the structure."""
    if "geometry" not in atoms.info:
        return {}
    return {"geometry": atoms.info["geometry"], "atoms": atoms_to_json(atoms)}
