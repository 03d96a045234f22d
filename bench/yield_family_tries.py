"""Yield models (issue 19): model families and reaction features on the recipes' random splits.

For a data set (``bh``: Buchwald-Hartwig, ``sm``: Suzuki-Miyaura), a feature set and a model
family, trains one ensemble per split on the recipes' own seeded random 70/30 splits
(:func:`domains.chemistry.recipes_yield.random_70_30`, seeds ``seed + s`` as the pipeline
uses them) with the pipeline's own families (:class:`hub.learning.families.Family`, the
recipe's parameters), and prints test R2 mean ± std over the splits. Each split's held-out
predictions are cached in ``--cache`` (npz), so the blends (the pipeline's ``blend``: a
weighted mean of the tree and MLP ensembles, clipped to 0-100 %) of any weight are scored
from the cached parts without training again.

Features: blocks joined by ``+`` (e.g. ``roles+drfp``), concatenated, each block cached in
``--cache`` as npy:

- ``bag``: the served ``chemistry.reaction_bag`` (log1p of the summed Morgan counts, radius 2,
  4,096 bits);
- ``roles``: log1p Morgan counts of each role's components (the data set's columns), 1,024
  bits per role, concatenated (``reaction_bag`` with ``roles``, as the recipes now serve it);
- ``onehot``: one column per distinct component of the data set (its identity);
- ``drfp``: DRFP (Probst et al. 2022, the ``drfp`` package 0.3.7, ``pip install --no-deps``),
  2,048 bits of the whole reaction SMILES (about 4 min for Buchwald-Hartwig here);
- ``desc``: RDKit's descriptors of each role column's entry (summed over its components).

    OMP_NUM_THREADS=1 .venv/bin/python bench/yield_family_tries.py --data bh \
        --features roles+drfp --families mlp trees --splits 1

The table (``--report``) gives R2 mean ± std over the cached splits, seconds per fit (one
ensemble), and each split's R2 when there are at most three. Minutes per fit on the shared
2-core machine: MLP about 3-5, trees about 1-2.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.chemistry.reaction_features import reaction_bag
from domains.chemistry.reactions import parse_reaction
from domains.chemistry.recipes import DATA
from domains.chemistry.recipes_yield import (
    BH_DATA,
    PARAMS,
    SM_DATA,
    additive_held_out,
    random_70_30,
    role_lists,
)
from hub.learning import families, metrics

SETS = {"bh": BH_DATA, "sm": SM_DATA}  # the recipes' own data declarations


def load(name: str) -> tuple[list[dict[str, str]], np.ndarray]:
    data = SETS[name]
    scale = data.scale
    with gzip.open(DATA / data.file, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows, np.array([float(r["yield"]) * scale for r in rows], np.float32)


def one_hot(parsed: dict[str, Any], rows: list[dict[str, str]]) -> np.ndarray:
    """One column per distinct component (canonical SMILES) of the data set: 1 when present."""
    comps = sorted({c for rxn in parsed.values() for c in rxn.components})
    index = {c: i for i, c in enumerate(comps)}
    onehot = np.zeros((len(rows), len(comps)), np.float32)
    for i, r in enumerate(rows):
        onehot[i, [index[c] for c in parsed[r["rxn"]].components]] = 1.0
    return onehot


def role_descriptors(name: str, rows: list[dict[str, str]]) -> np.ndarray:
    """RDKit's descriptors (``Descriptors.CalcMolDescriptors``) of each role column's entry,
    summed over its components, concatenated over the roles; NaN and inf set to 0."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    seen: dict[str, np.ndarray] = {}

    def of(entry: str) -> np.ndarray:
        if entry not in seen:
            vals = [
                np.array(list(Descriptors.CalcMolDescriptors(m).values()), np.float64)
                for m in (Chem.MolFromSmiles(s) for s in entry.split(".") if s)
                if m is not None
            ]
            seen[entry] = np.sum(vals, 0) if vals else np.zeros(len(Descriptors._descList))
        return seen[entry]

    cols = SETS[name].role_columns
    x = np.stack([np.concatenate([of(r[c]) for c in cols]) for r in rows])
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(x, -1e6, 1e6).astype(np.float32)


def featurize(
    name: str, rows: list[dict[str, str]], kind: str, cache: Path | None = None
) -> np.ndarray:
    """The ``+``-joined feature blocks ``kind`` (``bag``, ``roles``, ``onehot``, ``drfp``,
    ``desc``), concatenated; each block kept in ``cache`` (npy) when given."""
    parsed: dict[str, Any] = {}
    blocks = []
    for part in kind.split("+"):
        path = cache / f"features_{name}_{part}.npy" if cache else None
        if path and path.exists():
            blocks.append(np.load(path))
            continue
        parsed = parsed or {r["rxn"]: parse_reaction(r["rxn"]) for r in rows}
        if part == "bag":
            bag = reaction_bag(2, 4096)
            blocks.append(np.stack([bag(parsed[r["rxn"]]) for r in rows]))
        elif part == "roles":  # as the recipes serve it: a component's role by its SMILES
            bag = reaction_bag(2, 4096, role_lists(rows, SETS[name].role_columns), 1024)
            blocks.append(np.stack([bag(parsed[r["rxn"]]) for r in rows]))
        elif part == "onehot":
            blocks.append(one_hot(parsed, rows))
        elif part == "drfp":
            from drfp import DrfpEncoder

            smiles = sorted({rxn.smiles() for rxn in parsed.values()})
            fps = DrfpEncoder.encode(smiles, n_folded_length=2048)
            by = dict(zip(smiles, fps, strict=True))
            fp = np.stack([by[parsed[r["rxn"]].smiles()] for r in rows])
            blocks.append(fp.astype(np.float32))
        elif part == "desc":
            blocks.append(role_descriptors(name, rows))
        else:
            raise SystemExit(f"unknown features {part!r}")
        if path:
            np.save(path, blocks[-1])
    return np.hstack(blocks)


def run(args: argparse.Namespace) -> None:
    rows, y = load(args.data)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    x = None
    params: dict[str, Any] = {**PARAMS, **dict(kv.split("=", 1) for kv in args.set)}
    for k, v in list(params.items()):
        if isinstance(v, str) and k != "family":
            params[k] = float(v) if "." in v or "e" in v else int(v)
    for fam in args.families:
        for s in args.additive or range(args.splits):
            path = cache / f"{args.data}_{args.features}_{fam}{args.tag}_s{s}.npz"
            if path.exists():
                continue
            if x is None:
                t0 = time.time()
                x = featurize(args.data, rows, args.features, cache)
                print(f"features {args.features}: {x.shape} in {time.time() - t0:.0f} s")
            i_tr, i_va, i_te = random_70_30(len(y), int(params["seed"]) + s)
            fit_seed = int(params["seed"]) + s
            if s in args.additive:  # the recipe's additive-held-out group s + 1 instead
                groups = [r["additive"] for r in rows]
                i_tr, i_va, i_te, fit_seed = additive_held_out(groups, int(params["seed"]))[s]
                path = path.with_name(path.name.replace(f"_s{s}", f"_additive{s + 1}"))
                if path.exists():
                    continue
            family = families.Family(fam, x, y, params, active_columns=True)
            t0 = time.time()
            model = family.fit(i_tr, i_va, fit_seed)
            mean, std = family.predict(model, i_te)
            r2 = metrics.regression_metrics(y[i_te], np.clip(mean, 0, 100))["r2"]
            print(f"{path.stem}: R2 {r2:.4f} ({time.time() - t0:.0f} s)", flush=True)
            np.savez(path, mean=mean, std=std, test=i_te, seconds=time.time() - t0)


def report(args: argparse.Namespace) -> None:
    """Every cached configuration's R2, and blends of cached MLP and tree parts."""
    _, y = load(args.data)
    cache = Path(args.cache)
    runs: dict[str, dict[int, Any]] = {}
    for path in sorted(cache.glob(f"{args.data}_*_additive*.npz")):
        p = np.load(path)
        r2 = metrics.regression_metrics(y[p["test"]], np.clip(p["mean"], 0, 100))["r2"]
        print(f"{path.stem:55s} {r2:.4f}")
    for path in sorted(cache.glob(f"{args.data}_*_s*.npz")):
        conf, split = path.stem.rsplit("_s", 1)
        runs.setdefault(conf, {})[int(split)] = np.load(path)

    def show(label: str, preds: list[tuple[np.ndarray, np.ndarray]], secs: str = "") -> None:
        r2 = [metrics.regression_metrics(y[t], np.clip(m, 0, 100))["r2"] for t, m in preds]
        each = " ".join(f"{v:.4f}" for v in r2) if len(r2) <= 3 else ""
        print(f"{label:45s} {np.mean(r2):.4f} ± {np.std(r2):.4f} (n={len(r2)}) {secs} {each}")

    for conf, parts in runs.items():
        t = [float(p["seconds"]) for p in parts.values() if "seconds" in p]
        secs = f"{np.mean(t):5.0f} s/fit" if t else ""
        show(conf, [(p["test"], p["mean"]) for p in parts.values()], secs)
    for a in runs:
        for b in runs:
            if "_mlp" not in a or "_trees" not in b:
                continue
            common = sorted(set(runs[a]) & set(runs[b]))
            for w in args.weights:
                show(
                    f"blend {w:g} trees {b} + mlp {a}",
                    [
                        (
                            runs[a][s]["test"],
                            w * runs[b][s]["mean"] + (1 - w) * runs[a][s]["mean"],
                        )
                        for s in common
                    ],
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", choices=sorted(SETS), default="bh")
    ap.add_argument("--features", default="bag")
    ap.add_argument("--families", nargs="*", default=["mlp", "trees"])
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--set", nargs="*", default=[], help="recipe parameter changes k=v")
    ap.add_argument(
        "--additive",
        type=int,
        nargs="*",
        default=[],
        help="split numbers (0-3) that run the additive-held-out group instead (bh)",
    )
    ap.add_argument("--tag", default="", help="suffix of the cached configuration's name")
    ap.add_argument("--cache", default="/tmp/yields/cache")
    ap.add_argument("--report", action="store_true", help="only score the cached runs")
    ap.add_argument("--weights", type=float, nargs="*", default=[0.3, 0.5])
    args = ap.parse_args()
    if not args.report:
        run(args)
    report(args)


if __name__ == "__main__":
    main()
