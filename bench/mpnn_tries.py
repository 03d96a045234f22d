"""Solubility (issue 18): a D-MPNN (:mod:`domains.chemistry.mpnn`) against and with the served
model, on the solubility recipe's own splits.

Reads the recipe's data declaration and parameters (``domains.chemistry.recipes.SOLUBILITY``:
ESOL, its standardised molecules and RDKit descriptors, :func:`load_table`) and scores, on the
pipeline's seeded random 80/10/10 splits (``random_split(n, seed + s)``, fit seed ``seed +
s``) and the recipe's scaffold split (fit seed ``seed``):

- ``served``: the pipeline's own family with the recipe's parameters (5 LightGBM boosters on
  a ridge and 5 Keras MLPs, averaged: :class:`hub.learning.families.Family`);
- ``mpnn``: a D-MPNN ensemble on the molecular graphs;
- ``mpnn+desc``: the same with the recipe's descriptors concatenated to the graph vector;
- ``blend(a,b)``: the mean of two models' held-out predictions (no training).

Each model's held-out predictions per split are cached in ``--cache`` (npz; delete to retrain),
so a table of blends costs no training. Prints: model, random RMSE mean ± sd, scaffold RMSE,
train time (s, the sum of its fits' wall time).

    nice -n 15 .venv/bin/python bench/mpnn_tries.py --models served mpnn mpnn+desc --splits 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.chemistry import mpnn
from domains.chemistry.recipes import SOLUBILITY, Table, load_table
from domains.chemistry.splits import scaffold_split
from hub.learning.families import Family
from hub.learning.splits import random_split

PARAMS = dict(SOLUBILITY.params)
DATA = SOLUBILITY.model.name  # for the messages


def solubility_data() -> Any:
    """The recipe's :class:`~domains.chemistry.recipes.PropertyData` (its train closure's)."""
    import inspect

    return inspect.getclosurevars(SOLUBILITY.train).nonlocals["data"]


def splits(t: Table, n_splits: int, seed: int) -> list[tuple[str, int, tuple]]:
    """(name, fit seed, (train, val, test)) of the recipe's random and scaffold splits."""
    out = [("random", seed + s, random_split(len(t.y), seed + s)) for s in range(n_splits)]
    return [*out, ("scaffold", seed, scaffold_split(t.smiles))]


def train_model(
    name: str, t: Table, g: mpnn.Graphs, parts: tuple, fit_seed: int, p: mpnn.MPNNParams
) -> np.ndarray:
    """Held-out predictions (test rows) of model ``name`` trained on ``parts``."""
    i_tr, i_va, i_te = parts
    if name == "served":
        family = Family(str(PARAMS["family"]), t.x, t.y, PARAMS)
        return family.predict(family.fit(i_tr, i_va, fit_seed), i_te)[0]
    desc = t.x if name == "mpnn+desc" else None
    models = mpnn.fit(g, t.y, i_tr, i_va, p, fit_seed, descriptors=desc)
    return mpnn.predict(models, g, i_te, descriptors=desc)[0]


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["served", "mpnn", "mpnn+desc"])
    ap.add_argument("--splits", type=int, default=int(PARAMS["n_splits"]))
    ap.add_argument("--seed", type=int, default=int(PARAMS["seed"]))
    ap.add_argument("--hidden", type=int, default=mpnn.MPNNParams.hidden)
    ap.add_argument("--depth", type=int, default=mpnn.MPNNParams.depth)
    ap.add_argument("--epochs", type=int, default=mpnn.MPNNParams.epochs)
    ap.add_argument("--patience", type=int, default=mpnn.MPNNParams.patience)
    ap.add_argument("--members", type=int, default=mpnn.MPNNParams.members)
    ap.add_argument("--dropout", type=float, default=mpnn.MPNNParams.dropout)
    ap.add_argument("--tag", default="", help="suffix of the MPNN models' cache names")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mpnn_tries"))
    a = ap.parse_args()
    p = mpnn.MPNNParams(
        hidden=a.hidden, depth=a.depth, ffn=a.hidden, dropout=a.dropout, epochs=a.epochs,
        patience=a.patience, members=a.members,
    )  # fmt: skip
    a.cache.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    t = load_table(solubility_data(), PARAMS)
    g = mpnn.featurize(t.mols)
    print(f"{DATA}: {len(t.y)} molecules, featurized in {time.time() - t0:.0f} s", flush=True)
    parts = splits(t, a.splits, a.seed)
    preds: dict[str, list[np.ndarray]] = {}
    secs: dict[str, float] = {}
    blends = [m for m in a.models if m.startswith("blend(")]
    for name in [m for m in a.models if m not in blends]:
        key = name if name == "served" else f"{name}{a.tag}"
        preds[key], secs[key] = [], 0.0
        for k, (split, fit_seed, pt) in enumerate(parts):
            file = a.cache / f"{key}_{split}_{fit_seed}.npz"
            if file.exists():
                z = np.load(file)
                pred, dt = z["pred"], float(z["seconds"])
            else:
                start = time.time()
                pred = train_model(name, t, g, pt, fit_seed, p)
                dt = time.time() - start
                np.savez(file, pred=pred, seconds=dt)
            preds[key].append(pred)
            secs[key] += dt
            print(
                f"  {key} {split} {k}: RMSE {rmse(t.y[pt[2]], pred):.3f} ({dt:.0f} s)", flush=True
            )
    for b in blends:  # blend(a,b): mean of cached predictions
        left, right = b[len("blend(") : -1].split(",")
        preds[b] = [(u + v) / 2 for u, v in zip(preds[left], preds[right], strict=True)]
        secs[b] = secs[left] + secs[right]
    print(f"\n| model | random RMSE ({a.splits}) | scaffold RMSE | train time (s) |")
    print("|---|---|---|---|")
    for key, ps in preds.items():
        scores = [rmse(t.y[pt[2]], pr) for (_, _, pt), pr in zip(parts, ps, strict=True)]
        rnd = np.array(scores[:-1])
        print(
            f"| {key} | {rnd.mean():.3f} ± {rnd.std():.3f} | {scores[-1]:.3f} | {secs[key]:.0f} |"
        )


if __name__ == "__main__":
    main()
