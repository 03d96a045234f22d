"""What an atoms object carries besides its geometry: ASE constraints, initial magnetic moments
and charges, and the total charge and unpaired electrons of the structure.

JSON keys read by :func:`apply_state` (all optional; ``n`` is the number of atoms)::

    "constraints":     [{"name": "FixAtoms", "kwargs": {"indices": [0, 1]}}, ...]
                       ASE's own dict form (``constraint.todict()``, read with
                       ``ase.constraints.dict2constraint``): FixAtoms, FixCartesian,
                       FixBondLength / FixBondLengths, FixedLine, FixedPlane
    "initial_magmoms": n numbers (μB), or n x 3 (non-collinear)
    "initial_charges": n numbers (e)
    "charge":          the total charge, an integer (e); kept in ``atoms.info["charge"]``
    "uhf":             unpaired electrons, an integer >= 0; kept in ``atoms.info["uhf"]``

Typed errors (:class:`~hub.errors.ItemError`): ``unknown_constraint`` (a type not listed
above), ``constraint_index_out_of_range`` (an atom index outside 0..n-1), ``invalid_constraint``
(a malformed one: keys, types, a zero direction, a bond of an atom with itself),
``invalid_atoms`` (malformed moments, charges, charge or uhf). :func:`hub.sdk.ase.state_json`
writes them back (the client sends the same JSON), so a job's result keeps its constraints.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from hub.sdk import ItemError

MAX_CONSTRAINTS = 1000
MAX_ABS_CHARGE = 1000  # e, total charge of a structure
MAX_ABS_MOMENT = 100.0  # μB or e per atom
# name -> (index keys, vector keys, other allowed keys)
CONSTRAINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "FixAtoms": (("indices",), (), ()),
    "FixCartesian": (("a",), (), ("mask",)),
    "FixBondLength": (("a1", "a2"), (), ()),
    "FixBondLengths": (("pairs",), (), ("tolerance", "bondlengths", "iterations")),
    "FixedLine": (("indices",), ("direction",), ()),
    "FixedPlane": (("indices",), ("direction",), ()),
}


def _bad(message: str, code: str = "invalid_constraint", **detail: Any) -> ItemError:
    return ItemError(message, code=code, **detail)


def _index_list(value: Any, n: int, name: str, key: str) -> list[int]:
    """Atom indices: integers (not bools) within 0..n-1."""
    flat = value if isinstance(value, list | tuple) else [value]
    if isinstance(value, list | tuple) and value and isinstance(value[0], list | tuple):
        flat = [i for pair in value for i in (pair if isinstance(pair, list | tuple) else [pair])]
    out = []
    for i in flat:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise _bad(f"{name}: '{key}' must hold atom indices (integers); got {str(i)[:30]!r}")
        if not 0 <= i < n:
            raise _bad(
                f"{name}: atom index {int(i)} is out of range for {n} atoms (0 to {n - 1})",
                code="constraint_index_out_of_range",
                constraint=name,
                index=int(i),
                atoms=n,
            )
        out.append(int(i))
    return out


def _vector(value: Any, name: str, key: str) -> list[float]:
    try:
        vec = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise _bad(f"{name}: '{key}' must be 3 numbers") from exc
    if vec.shape != (3,) or not np.isfinite(vec).all() or not np.linalg.norm(vec) > 0:
        raise _bad(f"{name}: '{key}' must be 3 finite numbers, not all zero")
    return vec.tolist()


def parse_constraint(raw: Any, n: int) -> Any:
    """One ASE constraint from its dict form, checked against ``n`` atoms."""
    from ase.constraints import FixBondLength, dict2constraint

    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise _bad("a constraint is {'name': 'FixAtoms', 'kwargs': {...}} (ASE's todict form)")
    name = raw["name"]
    if name not in CONSTRAINTS:
        raise _bad(
            f"unknown constraint {name[:40]!r}: give one of {', '.join(CONSTRAINTS)}",
            code="unknown_constraint",
            constraint=name[:40],
            allowed=list(CONSTRAINTS),
        )
    kwargs = raw.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise _bad(f"{name}: 'kwargs' must be an object")
    index_keys, vector_keys, other = CONSTRAINTS[name]
    unknown = sorted(set(kwargs) - set(index_keys + vector_keys + other))
    missing = [k for k in index_keys + vector_keys if k not in kwargs]
    if unknown or missing:
        raise _bad(
            f"{name}: unknown keys {unknown}, missing keys {missing} (keys: "
            f"{', '.join(index_keys + vector_keys + other)})"
        )
    clean: dict[str, Any] = {}
    for key in index_keys:
        idx = _index_list(kwargs[key], n, name, key)
        clean[key] = idx[0] if key in ("a1", "a2") else idx
    for key in vector_keys:
        clean[key] = _vector(kwargs[key], name, key)
    if name == "FixCartesian" and "mask" in kwargs:
        mask = kwargs["mask"]
        if not (isinstance(mask, list | tuple) and len(mask) == 3):
            raise _bad("FixCartesian: 'mask' must be 3 booleans (True: that direction is fixed)")
        clean["mask"] = [bool(m) for m in mask]
    for key in set(other) - {"mask"}:
        if key in kwargs and kwargs[key] is not None:
            val = kwargs[key]
            if isinstance(val, bool) or not isinstance(val, int | float | list):
                raise _bad(f"{name}: '{key}' must be a number")
            clean[key] = val
    if name == "FixBondLengths":
        pairs = kwargs["pairs"]
        if not isinstance(pairs, list | tuple) or not all(
            isinstance(p, list | tuple) and len(p) == 2 for p in pairs
        ):
            raise _bad("FixBondLengths: 'pairs' must be a list of [i, j]")
        clean["pairs"] = [
            list(p) for p in zip(clean["pairs"][::2], clean["pairs"][1::2], strict=True)
        ]
        if any(i == j for i, j in clean["pairs"]):
            raise _bad("FixBondLengths: a bond joins two different atoms")
    try:
        if name == "FixBondLength":
            if clean["a1"] == clean["a2"]:
                raise _bad("FixBondLength: a bond joins two different atoms")
            return FixBondLength(**clean)
        return dict2constraint({"name": name, "kwargs": clean})
    except ItemError:
        raise
    except (TypeError, ValueError) as exc:
        raise _bad(f"{name}: {exc}") from exc


def _per_atom(raw: Any, n: int, key: str, unit: str) -> np.ndarray:
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise _bad(f"'{key}' must be {n} numbers ({unit})", code="invalid_atoms") from exc
    allowed = ((n,), (n, 3)) if key == "initial_magmoms" else ((n,),)
    if arr.shape not in allowed or not np.isfinite(arr).all():
        raise _bad(f"'{key}' must be {n} finite numbers ({unit})", code="invalid_atoms")
    if np.abs(arr).max(initial=0.0) > MAX_ABS_MOMENT:
        raise _bad(f"'{key}' entries are at most {MAX_ABS_MOMENT:g} {unit}", code="invalid_atoms")
    return arr


def _integer(raw: Any, key: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not float(raw).is_integer():
        raise _bad(f"'{key}' must be an integer; got {str(raw)[:30]!r}", code="invalid_atoms")
    if not low <= raw <= high:
        raise _bad(f"'{key}' must be within {low} to {high}", code="invalid_atoms")
    return int(raw)


def apply_state(atoms: Atoms, raw: dict[str, Any]) -> Atoms:
    """Set on ``atoms`` the constraints, initial moments and charges, total charge and unpaired
    electrons that the JSON ``raw`` gives (the module docstring lists them), checked."""
    n = len(atoms)
    if "initial_magmoms" in raw and raw["initial_magmoms"] is not None:
        atoms.set_initial_magnetic_moments(
            _per_atom(raw["initial_magmoms"], n, "initial_magmoms", "μB")
        )
    if "initial_charges" in raw and raw["initial_charges"] is not None:
        atoms.set_initial_charges(_per_atom(raw["initial_charges"], n, "initial_charges", "e"))
    if raw.get("charge") is not None:
        atoms.info["charge"] = _integer(raw["charge"], "charge", -MAX_ABS_CHARGE, MAX_ABS_CHARGE)
    if raw.get("uhf") is not None:
        atoms.info["uhf"] = _integer(raw["uhf"], "uhf", 0, 2 * MAX_ABS_CHARGE)
    constraints = raw.get("constraints")
    if constraints is not None:
        if isinstance(constraints, dict):
            constraints = [constraints]
        if not isinstance(constraints, list) or len(constraints) > MAX_CONSTRAINTS:
            raise _bad(f"'constraints' must be a list of at most {MAX_CONSTRAINTS} constraints")
        atoms.set_constraint([parse_constraint(c, n) for c in constraints])
    return atoms
