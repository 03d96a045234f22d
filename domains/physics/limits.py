"""Cost before work: each physics model's limits, checked on a parsed structure before it runs.

A parsed structure has already passed the input type's generic checks
(:mod:`domains.physics.structures`: at most ``MAX_ATOMS`` atoms, coordinates within
``MAX_COORDINATE`` Å, periodic cell heights of at least ``MIN_DISTANCE`` Å). A model then
estimates what one item would cost it, from the structure alone and without allocating it,
and refuses what is over its :class:`Limits` with a typed :class:`~hub.errors.ItemError`
whose ``detail`` names the limit (``limit``, ``value``, ``maximum``)::

    too_many_atoms         more atoms than the model's ``max_atoms``
    too_expensive          estimated neighbour pairs within the model's cutoff
                           (``max_neighbour_pairs``), periodic images a potential would build
                           (``max_image_atoms``), or GFN2-xTB basis functions
                           (``max_basis_functions``: the SCF costs about their cube)
    molecule_too_large     a molecule wider than ``max_extent_angstrom`` (QM9 models: SOAP's
                           memory grows with the volume of the bounding box)
    disconnected_molecule  isolated fragments where the model takes one connected molecule

Limits are plain data (:meth:`Limits.to_dict`): simulators keep them in their engine
parameters (``spec["params"]["limits"]``), learned models in ``spec["limits"]``, so a card can
show them. Units: Å.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ase import Atoms
from pydantic import BaseModel, ConfigDict, Field

from hub.sdk import ItemError


class Limits(BaseModel):
    """What one item may cost a model. ``None`` switches a check off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_atoms: int = Field(5000, ge=1, le=100_000, description="atoms per structure")
    cutoff_angstrom: float = Field(
        6.0, gt=0, le=50, description="interaction cutoff (Å) used to estimate neighbour pairs"
    )
    max_neighbour_pairs: int | None = Field(
        2_000_000, ge=1, description="ordered atom pairs within the cutoff (periodic images too)"
    )
    max_image_atoms: int | None = Field(
        None, ge=1, description="atoms of the periodic images within reach of the cutoff"
    )
    max_basis_functions: int | None = Field(
        None, ge=1, description="GFN2-xTB basis functions (estimated from the elements)"
    )
    max_extent_angstrom: float | None = Field(
        None, gt=0, description="largest distance (Å) between two atoms of a molecule"
    )
    connected: bool = Field(False, description="one connected molecule (no isolated fragments)")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    def check(self, atoms: Atoms, model: str) -> None:
        """Raise the typed error of the first limit ``atoms`` is over (cheapest checks first)."""
        n = len(atoms)
        if n > self.max_atoms:
            raise _over(model, "too_many_atoms", "max_atoms", n, self.max_atoms, "atoms")
        if self.max_basis_functions is not None:
            nbf = basis_functions(atoms.numbers)
            if nbf > self.max_basis_functions:
                raise _over(
                    model,
                    "too_expensive",
                    "max_basis_functions",
                    nbf,
                    self.max_basis_functions,
                    "GFN2-xTB basis functions (the SCF cost grows as their cube)",
                )
        if self.max_extent_angstrom is not None and n > 1:
            extent = molecule_extent(atoms.positions)
            if extent > self.max_extent_angstrom:
                raise _over(
                    model,
                    "molecule_too_large",
                    "max_extent_angstrom",
                    round(extent, 3),
                    self.max_extent_angstrom,
                    "Å between its farthest atoms",
                )
        if self.max_image_atoms is not None and atoms.pbc.any():
            images = image_atoms(atoms, self.cutoff_angstrom)
            if images > self.max_image_atoms:
                raise _over(
                    model,
                    "too_expensive",
                    "max_image_atoms",
                    images,
                    self.max_image_atoms,
                    f"atoms in the periodic images within {self.cutoff_angstrom} Å",
                )
        if self.max_neighbour_pairs is not None:
            pairs = neighbour_pairs(atoms, self.cutoff_angstrom)
            if pairs > self.max_neighbour_pairs:
                raise _over(
                    model,
                    "too_expensive",
                    "max_neighbour_pairs",
                    pairs,
                    self.max_neighbour_pairs,
                    f"atom pairs within {self.cutoff_angstrom} Å",
                )
        if self.connected and n > 1:
            count = fragments(atoms)
            if count > 1:
                raise ItemError(
                    f"the structure has {count} disconnected fragments; {model} takes one "
                    "connected molecule (send each fragment as its own input)",
                    code="disconnected_molecule",
                    limit="connected",
                    value=count,
                )


def _over(model: str, code: str, limit: str, value: float, maximum: float, what: str) -> ItemError:
    return ItemError(
        f"{value} {what}; the limit of {model} is {maximum} ({limit})",
        code=code,
        limit=limit,
        value=value,
        maximum=maximum,
    )


def molecule_extent(positions: np.ndarray) -> float:
    """The largest distance (Å) between two atoms, within a factor 1.74 of the bounding box's
    diagonal: exact for two atoms, an upper bound (the box's diagonal) otherwise."""
    if len(positions) == 2:
        return float(np.linalg.norm(positions[0] - positions[1]))
    return float(np.linalg.norm(np.ptp(positions, axis=0)))


def _heights(cell: np.ndarray) -> np.ndarray:
    """Distances (3,) Å between opposite faces of a complete (full-rank) cell."""
    vol = abs(float(np.linalg.det(cell)))
    return np.array(
        [vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    )


def image_atoms(atoms: Atoms, cutoff: float) -> int:
    """Atoms in the block of periodic images within ``cutoff`` Å of the cell (what a neighbour
    search over replicated images, as :func:`domains.physics.nnp.neighbor_pairs`, allocates)."""
    heights = _heights(atoms.cell.complete().array)
    reach = [math.ceil(cutoff / h) if p else 0 for h, p in zip(heights, atoms.pbc, strict=True)]
    return len(atoms) * math.prod(2 * r + 1 for r in reach)


def neighbour_pairs(atoms: Atoms, cutoff: float) -> int:
    """Ordered pairs (i, j) within ``cutoff`` Å: counted exactly for a molecule (a k-d tree's
    pair count, which allocates no pair list), estimated from the density for a periodic cell
    (``n * n / V * 4/3 pi rc^3`` with ``V`` the periodic volume times the molecule's extent
    along the other directions, at least ``cutoff`` each)."""
    n = len(atoms)
    if n < 2 and not atoms.pbc.any():
        return 0
    pos = atoms.positions
    if not atoms.pbc.any():
        from scipy.spatial import cKDTree

        tree = cKDTree(pos)
        return int(tree.count_neighbors(tree, cutoff)) - n
    periodic = atoms.cell.array[atoms.pbc]
    k_volume = math.sqrt(max(float(np.linalg.det(periodic @ periodic.T)), 0.0))
    if len(periodic) < 3:
        # directions orthogonal to the periodic vectors: the structure's extent along them
        _, _, vt = np.linalg.svd(periodic)
        for e in vt[len(periodic) :]:
            k_volume *= max(float(np.ptp(pos @ e)), cutoff)
    density = n / max(k_volume, 1e-30)
    sphere = 4.0 / 3.0 * math.pi * cutoff**3
    return int(n * density * sphere)


def fragments(atoms: Atoms, scale: float = 1.5) -> int:
    """How many connected fragments: atoms are bonded when closer than ``scale`` times the sum
    of their covalent radii (ASE's table)."""
    from ase.data import covalent_radii
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    radii = covalent_radii[atoms.numbers]
    tree = cKDTree(atoms.positions)
    pairs = tree.query_pairs(2 * scale * float(radii.max()), output_type="ndarray")
    if len(pairs):
        d = np.linalg.norm(atoms.positions[pairs[:, 0]] - atoms.positions[pairs[:, 1]], axis=1)
        pairs = pairs[d < scale * (radii[pairs[:, 0]] + radii[pairs[:, 1]])]
    from scipy.sparse import coo_matrix

    n = len(atoms)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    count, _ = connected_components(graph, directed=False)
    return int(count)


def basis_functions(numbers: np.ndarray) -> int:
    """An upper estimate of GFN2-xTB's basis functions: 2 for H and He, 4 (s, p) for Li to Ne,
    9 (s, p, d) beyond."""
    z = np.asarray(numbers)
    return int(np.where(z <= 2, 2, np.where(z <= 10, 4, 9)).sum())


# -- the limits of each model -----------------------------------------------------------------
EMT_LIMITS = Limits(max_atoms=5000, cutoff_angstrom=6.0, max_neighbour_pairs=2_000_000)
LJ_LIMITS = Limits(max_atoms=5000, cutoff_angstrom=10.215, max_neighbour_pairs=2_000_000)
XTB_LIMITS = Limits(
    max_atoms=250,
    cutoff_angstrom=6.0,
    max_neighbour_pairs=None,  # no cutoff in tight binding: the basis is the cost
    max_basis_functions=600,  # C49H100 (396) took 1.7-6.5 s; the SCF grows as their cube
    max_extent_angstrom=200.0,
)
QM9_LIMITS = Limits(
    max_atoms=60,  # QM9's largest molecule has 29 atoms
    cutoff_angstrom=5.0,
    max_neighbour_pairs=None,
    max_extent_angstrom=50.0,  # QM9 molecules are under 15 Å
    connected=True,
)
NNP_LIMITS = Limits(
    max_atoms=5000, cutoff_angstrom=6.0, max_neighbour_pairs=2_000_000, max_image_atoms=2_000_000
)


def limits_from(raw: Any, default: Limits, model: str) -> Limits:
    """Limits from a spec's dict (unset keys take ``default``'s values), or ``default``."""
    if raw is None:
        return default
    if isinstance(raw, Limits):
        return raw
    from pydantic import ValidationError

    from hub.sdk import PluginError

    try:
        return Limits(**(default.model_dump() | dict(raw)))
    except (TypeError, ValidationError) as exc:
        raise PluginError(f"{model}: invalid limits {raw!r}: {exc}") from exc
