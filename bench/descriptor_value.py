"""What the costly descriptors add to accuracy: LightGBM with and without each group.

For ESOL, FreeSolv and Lipophilicity (molecules standardised as the hub does), every RDKit 2D
descriptor is computed once (:mod:`domains.chemistry.descriptors`); then a LightGBM regressor
(500 trees, learning rate 0.05, one thread) is fitted on column subsets and scored by test RMSE
on 5 seeded random 80/20 splits (mean) and on the scaffold split
(:func:`domains.chemistry.splits.scaffold_split`, train+validation against test).

Subsets: ``all`` (RDKit's whole list), ``default`` (``all`` without qed, SPS, Ipc, AvgIpc and
BCUT2D: what ``chemistry.rdkit2d_morgan`` uses when no list is given), then ``default`` with one
group taken out (``fr_*`` SMARTS counts, ``BertzCT``, ...) or put back (``+qed`` ...). The cost
column is each group's CPU time per molecule in this featurizer, from
``bench/descriptor_costs.py``'s method (in order, fresh molecules).

    .venv/bin/python bench/descriptor_value.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rdkit import Chem  # noqa: E402

from domains.chemistry.descriptors import rdkit_descriptors, timed_values  # noqa: E402
from domains.chemistry.featurizers import default_descriptors  # noqa: E402
from domains.chemistry.molecules import parse_molecule  # noqa: E402
from domains.chemistry.splits import scaffold_split  # noqa: E402

DATA = {
    "ESOL": ("ESOL.csv.gz", "measured log solubility in mols per litre"),
    "FreeSolv": ("FreeSolv.csv.gz", "expt"),
    "Lipophilicity": ("Lipophilicity.csv.gz", "exp"),
}


def load(name: str) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """All descriptors (n, 217), targets, canonical SMILES, and CPU µs per descriptor."""
    file, target = DATA[name]
    with gzip.open(ROOT / "domains/chemistry/data" / file, "rt") as fh:
        rows = list(csv.DictReader(fh))
    names = list(rdkit_descriptors())
    x, y, smiles = [], [], []
    cost = np.zeros(len(names))
    for r in rows:
        try:
            m = parse_molecule(r["smiles"])
        except Exception:  # noqa: BLE001 - rows RDKit cannot read are left out, as in recipes
            continue
        vals, seconds = timed_values(Chem.Mol(m.mol), names)
        cost += seconds
        x.append(vals)
        y.append(float(r[target]))
        smiles.append(m.smiles)
    return np.array(x, np.float64), np.array(y), smiles, cost * 1e6 / len(y)


def rmse(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray) -> float:
    import lightgbm as lgb

    model = lgb.LGBMRegressor(
        n_estimators=500, learning_rate=0.05, num_leaves=31, subsample=0.8, subsample_freq=1,
        colsample_bytree=0.5, n_jobs=1, verbose=-1, random_state=0,
    )  # fmt: skip
    model.fit(xtr, ytr)
    return float(np.sqrt(np.mean((model.predict(xte) - yte) ** 2)))


def subsets(names: list[str]) -> dict[str, list[str]]:
    default = list(default_descriptors())
    groups = {
        "qed": ["qed"],
        "Ipc+AvgIpc": ["Ipc", "AvgIpc"],
        "SPS": ["SPS"],
        "BCUT2D": [n for n in names if n.startswith("BCUT2D")],
    }
    out = {"all": names, "default": default}
    for g, cols in groups.items():
        out[f"default +{g}"] = [n for n in names if n in default or n in cols]
    for g, pred in (
        ("fr_*", lambda n: n.startswith("fr_")),
        ("BertzCT", lambda n: n == "BertzCT"),
        ("EState+VSA_EState", lambda n: "EState" in n),
        ("FpDensityMorgan*", lambda n: n.startswith("FpDensity")),
    ):
        out[f"default -{g}"] = [n for n in default if not pred(n)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    loaded = {name: load(name) for name in DATA}
    names = list(rdkit_descriptors())
    costs = np.mean([c for *_, c in loaded.values()], axis=0)
    sets = subsets(names)
    print(f"LightGBM test RMSE: mean of {args.seeds} random 80/20 splits | scaffold split")
    head = "".join(f"{n:>22}" for n in DATA)
    print(f"{'descriptors':<28}{'µs/mol':>8}{head}")
    for label, cols in sets.items():
        idx = [names.index(c) for c in cols]
        cells = []
        for x, y, smiles, _ in loaded.values():
            xs = np.nan_to_num(x[:, idx], nan=0.0, posinf=1e12, neginf=-1e12)
            rnd = []
            for seed in range(args.seeds):
                perm = np.random.default_rng(seed).permutation(len(y))
                cut = int(0.8 * len(y))
                tr, te = perm[:cut], perm[cut:]
                rnd.append(rmse(xs[tr], y[tr], xs[te], y[te]))
            tr_, va_, te_ = scaffold_split(smiles)
            tr_ = np.concatenate([tr_, va_])
            scaf = rmse(xs[tr_], y[tr_], xs[te_], y[te_])
            cells.append(f"{np.mean(rnd):>10.3f} | {scaf:>7.3f} ")
        print(f"{label:<28}{costs[idx].sum():>8.0f}" + "".join(f"{c:>22}" for c in cells))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
