"""Cost of every RDKit 2D descriptor, in microseconds per molecule, on real molecules.

Molecules: ``--n`` from ESOL and ``--n`` from Lipophilicity (every k-th row), parsed and
standardised as the hub does (:func:`domains.chemistry.molecules.parse_molecule`). Two columns:

CPU time (``time.thread_time``), not wall time: the machine is shared.

- ``in order``: each descriptor timed as the old featurizer calls it, all of RDKit's list in
  order on the same molecule, so a descriptor that fills a cache (Gasteiger charges, Crippen
  contributions, ring info) pays for it and the later ones read it for free;
- ``alone``: each descriptor on a fresh copy of the molecule, so it pays for everything it needs.

Then the totals: the old featurizer (:func:`domains.chemistry.featurizers.rdkit2d_morgan`,
RDKit's per-descriptor functions) and the new one (:mod:`domains.chemistry.descriptors`,
shared intermediates computed once), for the default set and ``"all"`` + Morgan 2048 bits.

    .venv/bin/python bench/descriptor_costs.py [--n 300] [--top 40] [--totals]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rdkit import Chem  # noqa: E402

from domains.chemistry.molecules import Molecule, parse_molecule  # noqa: E402


def real_molecules(n: int) -> list[Molecule]:
    """``n`` standardised molecules from each of ESOL and Lipophilicity, spread over the files."""
    out: list[Molecule] = []
    for file in ("ESOL.csv.gz", "Lipophilicity.csv.gz"):
        with gzip.open(ROOT / "domains/chemistry/data" / file, "rt") as fh:
            rows = [r["smiles"] for r in csv.DictReader(fh)]
        step = max(1, len(rows) // n)
        out += [parse_molecule(s) for s in rows[::step][:n]]
    return out


def per_descriptor(mols: list[Molecule]) -> dict[str, tuple[float, float]]:
    """Descriptor name -> (µs in order, µs alone) per molecule."""
    from domains.chemistry.featurizers import rdkit_descriptors

    table = rdkit_descriptors()
    in_order = dict.fromkeys(table, 0.0)
    alone = dict.fromkeys(table, 0.0)
    clock = time.thread_time  # CPU time: the machine is shared
    for m in mols:
        mol = Chem.Mol(m.mol)
        for name, f in table.items():
            t0 = clock()
            f(mol)
            in_order[name] += clock() - t0
        for name, f in table.items():
            fresh = Chem.Mol(m.mol)
            t0 = clock()
            f(fresh)
            alone[name] += clock() - t0
    k = 1e6 / len(mols)
    return {n: (in_order[n] * k, alone[n] * k) for n in table}


def featurizer_costs(builds: dict, mols: list[Molecule], repeat: int = 3, **params) -> dict:
    """CPU µs per molecule of each featurizer in ``builds`` (name -> build), interleaved
    molecule by molecule on fresh copies so that the machine's varying load hits them alike
    (CPU time: the machine is shared, and wall time would count the others' work)."""
    made = {k: b(**params) for k, b in builds.items()}
    spent = dict.fromkeys(made, 0.0)
    for _ in range(repeat):
        for m in mols:
            for k, featurize in made.items():
                fresh = Molecule(Chem.Mol(m.mol), m.smiles, m.input)
                t0 = time.thread_time()
                featurize(fresh)
                spent[k] += time.thread_time() - t0
    return {k: v * 1e6 / (repeat * len(mols)) for k, v in spent.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300, help="molecules from each data set")
    ap.add_argument("--top", type=int, default=0, help="print only the costliest (0: all)")
    ap.add_argument("--totals", action="store_true", help="only the featurizers' totals")
    args = ap.parse_args()
    mols = real_molecules(args.n)
    if not args.totals:
        table(mols, args.top)
    totals(mols)


def table(mols: list[Molecule], top: int) -> None:
    """Print each descriptor's cost, costliest first."""
    costs = per_descriptor(mols)
    total = sum(c[0] for c in costs.values())
    rows = sorted(costs.items(), key=lambda kv: -kv[1][0])
    print(f"{len(mols)} molecules (ESOL + Lipophilicity), RDKit's {len(costs)} descriptors")
    print(f"{'descriptor':<28}{'in order µs':>12}{'alone µs':>10}{'share':>8}")
    for name, (o, a) in rows[: top or None]:
        print(f"{name:<28}{o:>12.1f}{a:>10.1f}{o / total:>8.1%}")
    fr = sum(o for n, (o, _) in costs.items() if n.startswith("fr_"))
    print(f"{'all, in order':<28}{total:>12.1f}   (fr_* SMARTS counts: {fr:.0f} µs)")


def totals(mols: list[Molecule]) -> None:
    """Print the old and new featurizers' cost per molecule."""
    from domains.chemistry import featurizers as feat

    print("\nfeaturizer, CPU µs per molecule (3 passes, old and new interleaved)")
    builds = {"old": feat.legacy_rdkit2d_morgan, "new": feat.rdkit2d_morgan}
    for label, params in (
        ("default set", {}),
        ('"all" + Morgan 2048', {"descriptors": "all", "n_bits": 2048}),
    ):
        c = featurizer_costs(builds, mols, **params)
        old, new = c["old"], c["new"]
        print(f"  {label:<24} old {old:>8.0f}   new {new:>8.0f}   x{old / new:.2f}")


if __name__ == "__main__":
    main()
