"""QM9 as shipped inside the PyPI package ``qm9pack`` (MIT): 130,831 molecules of up to nine
heavy atoms (C, N, O, F, with H), geometries and properties from B3LYP/6-31G(2df,p).

The package keeps the data in three CSV files (``qm9pack/data/qm9_part{1,2,3}.csv``; the 3,054
molecules whose DFT relaxation failed are already left out). Columns read here, with the units
the package states and the units served::

    XYZ_Ang               positions, Å (B3LYP-relaxed)       -> Å
    Elements              element symbols, one per atom
    HOMO_LUMO_gap_au      HOMO-LUMO gap, hartree              -> eV  (x 27.211386)
    InternalEnergy_0K_au  internal energy at 0 K (U0), Ha     -> eV  (x 27.211386)
    Dipole_debye          dipole moment magnitude, Debye      -> Debye

Reference: Ramakrishnan, Dral, Rupp, von Lilienfeld, Sci. Data 1, 140022 (2014).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units

from hub.sdk import Annotator

HARTREE_EV = float(units.Hartree)  # 27.211386... eV per hartree (ASE's CODATA value)
CITATION = (
    "Ramakrishnan, Dral, Rupp, von Lilienfeld, Quantum chemistry structures and properties of "
    "134 kilo molecules, Sci. Data 1, 140022 (2014); data as packaged in qm9pack "
    "(R. Ramakrishnan)"
)
LICENSE = "MIT (qm9pack); see domains/physics/data/DATA.md"
PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
_COLUMNS = ["Index", "SMILES", "Elements", "XYZ_Ang", "HOMO_LUMO_gap_au",
            "InternalEnergy_0K_au", "Dipole_debye"]  # fmt: skip

# name -> (column, factor to the served unit, served unit, description)
PROPERTIES: dict[str, tuple[str, float, str, str]] = {
    "gap": ("HOMO_LUMO_gap_au", HARTREE_EV, "eV", "HOMO-LUMO gap (B3LYP/6-31G(2df,p))"),
    "u0": ("InternalEnergy_0K_au", HARTREE_EV, "eV", "internal energy at 0 K (B3LYP)"),
    "dipole": ("Dipole_debye", 1.0, "D", "dipole moment magnitude (B3LYP)"),
}


def data_files() -> tuple[Path, ...]:
    """The three CSV files inside the installed ``qm9pack``."""
    folder = resources.files("qm9pack") / "data"
    return tuple(Path(str(folder / name)) for name in PARTS)


@dataclass(frozen=True)
class Qm9:
    """Molecules ``index`` (QM9 ids), their structures and properties in served units."""

    index: np.ndarray  # (n,) int, QM9 molecule number (1..133885)
    smiles: list[str]
    numbers: list[np.ndarray]  # per molecule (n_atoms,) atomic numbers
    positions: list[np.ndarray]  # per molecule (n_atoms, 3) Å
    targets: dict[str, np.ndarray]  # property -> (n,) float64 in its served unit

    def __len__(self) -> int:
        return len(self.index)

    def atoms(self, i: int) -> Atoms:
        return Atoms(numbers=self.numbers[i], positions=self.positions[i])


def _positions(text: str) -> np.ndarray:
    # "[[0.59,0.,1.],...]": numbers like "0." are not JSON, so split the flat list instead
    flat = text.replace("[", "").replace("]", "").split(",")
    return np.asarray(flat, dtype=np.float64).reshape(-1, 3)


def _numbers(text: str) -> np.ndarray:
    from ase.data import atomic_numbers

    symbols = [s.strip().strip("'\"") for s in text.strip("[]").split(",")]
    return np.array([atomic_numbers[s] for s in symbols], dtype=np.int64)


def load_qm9(rows: np.ndarray | None = None) -> Qm9:
    """All molecules, or the rows ``rows`` (positions in the package's order, 0-based).
    Structures are parsed only for the rows asked for."""
    import pandas as pd

    frame = pd.concat([pd.read_csv(p, usecols=_COLUMNS) for p in data_files()], ignore_index=True)
    if rows is not None:
        frame = frame.iloc[np.asarray(rows)]
    numbers = [_numbers(e) for e in frame["Elements"]]
    positions = [_positions(x) for x in frame["XYZ_Ang"]]
    for z, r in zip(numbers, positions, strict=True):
        if len(z) != len(r):
            raise ValueError("qm9pack row with as many elements as positions expected")
    targets = {
        name: frame[col].to_numpy(np.float64) * factor
        for name, (col, factor, _, _) in PROPERTIES.items()
    }
    return Qm9(
        index=frame["Index"].to_numpy(np.int64),
        smiles=[str(s) for s in frame["SMILES"]],
        numbers=numbers,
        positions=positions,
        targets=targets,
    )


def count_rows() -> int:
    """How many molecules the package holds (without parsing structures)."""
    total = 0
    for p in data_files():
        with open(p, "rb") as fh:
            total += sum(1 for _ in fh) - 1
    return total


@dataclass(frozen=True)
class Provenance:
    sha256: str  # of the three CSV files read in order, as one byte stream
    files: dict[str, str]  # file name -> its own sha256
    bytes: int
    package: str  # "qm9pack 1.0.3"


def provenance() -> Provenance:
    """Hashes of the data files as installed (what the registered version was trained on)."""
    whole, files, size = hashlib.sha256(), {}, 0
    for p in data_files():
        one = hashlib.sha256()
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                whole.update(chunk)
                one.update(chunk)
                size += len(chunk)
        files[p.name] = one.hexdigest()
    return Provenance(whole.hexdigest(), files, size, f"qm9pack {version('qm9pack')}")


MAX_HEAVY_ATOMS = 9  # QM9 enumerates molecules of up to nine C, N, O, F atoms


def qm9_domain(
    artifacts: dict[str, bytes], warning: str = "", max_heavy_atoms: int = MAX_HEAVY_ATOMS
) -> Any:
    """The ``physics.qm9_domain`` annotator: which geometry was used (``given`` for a
    structure sent by the caller), the warning that QM9 geometries are DFT-relaxed, and
    ``in_domain``: at most ``max_heavy_atoms`` heavy atoms, as in QM9."""
    del artifacts  # this check needs no stored data

    def annotate(atoms: Atoms) -> dict[str, Any]:
        heavy = int((atoms.numbers > 1).sum())
        return {
            "geometry": atoms.info.get("geometry", "given (used as sent)"),
            "warning": warning,
            "in_domain": heavy <= max_heavy_atoms,
            "domain": {
                "heavy_atoms": heavy,
                "max_heavy_atoms": max_heavy_atoms,
                "method": "number of heavy atoms against QM9's largest molecules",
            },
        }

    return annotate


QM9_DOMAIN = Annotator(
    name="physics.qm9_domain",
    input_type="molecule3d",
    description="Geometry used, DFT-geometry warning and a heavy-atom-count domain check",
    build=qm9_domain,
)
