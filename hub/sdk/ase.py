"""ASE helpers for a domain whose models compute energies (units as ASE: eV, eV/Å, eV/Å^3).

:func:`ase_results` turns an energy model's output value into an ASE calculator's
``results`` dict; a domain's own ASE calculator (a job's, an evaluation's) and the HTTP
client's remote calculator share it, so both report the same properties the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ase_results", "plain_json"]


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
