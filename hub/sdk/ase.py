"""ASE helpers for a domain whose models compute energies (units as ASE: eV, eV/Å, eV/Å^3).

:func:`ase_results` turns an energy model's output value into an ASE calculator's
``results`` dict; a domain's own ASE calculator (a job's, an evaluation's) and the HTTP
client's remote calculator share it, so both report the same properties the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ase_results", "plain_json", "state_json"]


def ase_results(value: dict[str, Any]) -> dict[str, Any]:
    """ASE's ``results`` from an energy model's output value: ``energy`` (eV, also given as
    ``free_energy``), ``forces`` (eV/Å, shape (n, 3)) and, when present, ``stress`` (eV/Å^3,
    Voigt order) and ``magmoms`` (μB per atom, shape (n,); ``magmom`` their sum)."""
    results = {
        "energy": float(value["energy"]),
        "free_energy": float(value["energy"]),
        "forces": np.asarray(value["forces"], dtype=float),
    }
    if "stress" in value:
        results["stress"] = np.asarray(value["stress"], dtype=float)
    if "magmoms" in value:
        results["magmoms"] = np.asarray(value["magmoms"], dtype=float)
        results["magmom"] = float(results["magmoms"].sum())
    return results


def plain_json(x: Any) -> Any:
    """A JSON-able copy of ``x``: numpy arrays and scalars inside dicts, lists and tuples as
    lists and numbers (what ASE's ``todict()`` of a constraint, say, holds)."""
    if isinstance(x, dict):
        return {k: plain_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain_json(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def state_json(atoms: Any) -> dict[str, Any]:
    """What an :class:`ase.Atoms` carries beside its geometry, as JSON (none of the keys when
    it carries none): ``constraints`` (ASE's own dict form), ``initial_magmoms``,
    ``initial_charges``, and ``charge`` and ``uhf`` from its ``info``."""
    out: dict[str, Any] = {}
    if atoms.constraints:
        out["constraints"] = [plain_json(c.todict()) for c in atoms.constraints]
    if atoms.has("initial_magmoms"):
        out["initial_magmoms"] = atoms.get_initial_magnetic_moments().tolist()
    if atoms.has("initial_charges"):
        out["initial_charges"] = atoms.get_initial_charges().tolist()
    for key in ("charge", "uhf"):
        if atoms.info.get(key) is not None:
            out[key] = int(atoms.info[key])
    return out
