"""Training data for the copper potential, labelled by the hub's own EMT simulator.

Families of configurations (counts are the recipe's ``configs`` parameter times ``scale``):

- ``bulk_md``: Langevin MD snapshots of fcc Cu (32- and 108-atom cells) at each temperature;
- ``strained``: 32-atom cells under random symmetric strains (each component within
  +-``strain_max``), rattled;
- ``eos``: isotropically scaled cells, lattice constant within +-``eos_strain`` of EMT's, some
  rattled, as an equation-of-state scan visits;
- ``vacancy``: MD snapshots of cells with one vacancy (31 and 107 atoms);
- ``slab111`` and ``slab100``: MD snapshots of 36-atom (111) and (100) slabs with 6 Å of
  vacuum on each side, at up to 900 K;
- ``cluster``: MD snapshots of small compact clusters (6 to 38 atoms) at up to 900 K.

MD is driven by the same EMT engine the simulator runs (asap3 when installed, else ASE) and
each snapshot is labelled by :func:`domains.physics.simulators.emt`. Everything is seeded.
Units as ASE: Å, eV, eV/Å, fs, K.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.build import bulk, fcc100, fcc111

from domains.physics.simulators import emt

FAMILIES = ("bulk_md", "strained", "eos", "vacancy", "slab111", "slab100", "cluster")
A0_EMT = 3.59  # Å, EMT's fcc Cu lattice constant to 0.01 Å


@dataclass
class Config:
    """One labelled structure: energy (eV), forces (n, 3) eV/Å, its family's name and, for a
    fully periodic cell, the stress (6,) eV/Å^3 in Voigt order."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    family: str
    stress: np.ndarray | None = None


def md_calculator() -> Any:
    """The ASE calculator of the engine :func:`emt` runs (asap3 when installed)."""
    try:
        from asap3 import EMT as AsapEMT  # noqa: N811 - asap3's class name

        return AsapEMT()
    except ImportError:
        from ase.calculators.emt import EMT

        return EMT()


def _md_snapshots(
    atoms: Atoms, temperature_K: float, count: int, p: dict[str, Any], rng: np.random.Generator
) -> Iterator[Atoms]:
    """``count`` snapshots of Langevin MD at ``temperature_K``, every ``md_interval`` steps
    after ``md_burn`` steps of equilibration."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    atoms = atoms.copy()
    atoms.calc = md_calculator()
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
    dyn = Langevin(
        atoms,
        p["timestep_fs"] * units.fs,
        temperature_K=temperature_K,
        friction=0.02 / units.fs,
        fixcm=False,
        rng=rng,
        logfile=None,
    )
    dyn.run(p["md_burn"])
    for _ in range(count):
        dyn.run(p["md_interval"])
        snap = atoms.copy()
        snap.calc = None
        yield snap


def _bulk(a: float, cells: int) -> Atoms:
    return bulk("Cu", "fcc", a=a, cubic=True) * (cells, cells, cells)


def _cluster(n: int, rng: np.random.Generator) -> Atoms:
    """The ``n`` fcc sites nearest a random point: a compact cluster."""
    grid = _bulk(A0_EMT, 4)
    centre = grid.cell.sum(axis=0) / 2 + rng.uniform(-0.9, 0.9, 3)
    order = np.argsort(np.linalg.norm(grid.positions - centre, axis=1))[:n]
    return Atoms(f"Cu{n}", positions=grid.positions[order] - centre)


def _chains(family: str, count: int, p: dict[str, Any], rng: np.random.Generator) -> Iterator:
    """Structures of one family, ``count`` of them."""
    temps = [float(t) for t in p["temperatures_K"]]
    chain = int(p["chain_length"])
    made, k = 0, 0
    while made < count:
        n = min(chain, count - made)
        t = temps[k % len(temps)]
        a = A0_EMT * (1 + rng.uniform(-0.01, 0.01))
        big = k % 8 == 7
        if family == "bulk_md":
            yield from _md_snapshots(_bulk(a, 3 if big else 2), t, n, p, rng)
        elif family == "vacancy":
            cell = _bulk(a, 3 if big else 2)
            del cell[int(rng.integers(len(cell)))]
            yield from _md_snapshots(cell, t, n, p, rng)
        elif family in ("slab111", "slab100"):
            make = fcc111 if family == "slab111" else fcc100
            slab = make("Cu", size=(3, 3, 4), a=A0_EMT, vacuum=6.0)
            yield from _md_snapshots(slab, min(t, 900.0), n, p, rng)
        elif family == "cluster":
            size = int(rng.choice([6, 8, 10, 13, 16, 19, 24, 38]))
            yield from _md_snapshots(_cluster(size, rng), min(t, 900.0), n, p, rng)
        elif family == "strained":
            for _ in range(n):
                eps = rng.uniform(-p["strain_max"], p["strain_max"], (3, 3))
                eps = 0.5 * (eps + eps.T)
                cell = _bulk(A0_EMT, 2)
                cell.set_cell(cell.cell.array @ (np.eye(3) + eps), scale_atoms=True)
                cell.positions += rng.normal(0, rng.uniform(0.02, 0.12), cell.positions.shape)
                yield cell
        elif family == "eos":
            for _ in range(n):
                s = rng.uniform(1 - p["eos_strain"], 1 + p["eos_strain"])
                cell = _bulk(A0_EMT * s, 1 if rng.random() < 0.3 else 2)
                if rng.random() < 0.7:
                    cell.positions += rng.normal(0, rng.uniform(0.0, 0.06), cell.positions.shape)
                yield cell
        else:
            raise ValueError(f"unknown family {family!r}")
        made, k = made + n, k + 1


def generate(
    p: dict[str, Any], progress: Callable[[float, str], None] | None = None
) -> list[Config]:
    """The labelled configurations the parameters ``p`` describe (seeded by ``p["seed"]``)."""
    label = emt(p.get("engine", "auto"))
    counts = {f: max(1, round(p["configs"][f] * p["scale"])) for f in FAMILIES}
    total = sum(counts.values())
    out: list[Config] = []
    for f_index, family in enumerate(FAMILIES):
        rng = np.random.default_rng([int(p["seed"]), f_index])
        for atoms in _chains(family, counts[family], p, rng):
            res = label(atoms)
            stress = np.asarray(res["stress"]) if "stress" in res else None
            out.append(
                Config(atoms, float(res["energy"]), np.asarray(res["forces"]), family, stress)
            )
            if progress is not None and len(out) % 50 == 0:
                progress(len(out) / total, f"{len(out)} of about {total} EMT configurations")
    return out


def engine_name(p: dict[str, Any]) -> str:
    """The name of the EMT engine that labels the data (as its responses name it)."""
    return emt(p.get("engine", "auto"))(Atoms("Cu", cell=[3, 3, 3], pbc=True))["engine"]


def dataset_sha256(configs: list[Config]) -> str:
    """A sha256 over every configuration's numbers, positions, cell, pbc, energy and forces."""
    h = hashlib.sha256()
    for c in configs:
        for arr in (c.atoms.numbers, c.atoms.positions, c.atoms.cell.array, c.atoms.pbc):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(np.float64(c.energy).tobytes())
        h.update(np.ascontiguousarray(c.forces, np.float64).tobytes())
    return h.hexdigest()
