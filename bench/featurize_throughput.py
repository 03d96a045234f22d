"""Featurization throughput, old and new featurizer, on 1 and N processes; and end to end.

Measures, on ``--n`` SMILES drawn from ESOL (repeated) on this machine, in molecules per second
of wall time (each line: parse + MolStandardize + featurize, from the SMILES text):

1. raw RDKit: ``MolFromSmiles`` + a Morgan fingerprint (radius 2, 2048 bits), one core;
2. the old featurizer (RDKit's function per descriptor:
   :func:`domains.chemistry.featurizers.legacy_rdkit2d_morgan`), 1 process, then N processes
   (a spawn pool made here, warmed before timing);
3. the new one (:class:`domains.chemistry.featurizers.RDKitFeaturizer`), 1 process, then N
   through its warm pool (:func:`domains.chemistry.descriptors_pool.featurize_inputs`);
4. unless ``--no-http``: ``POST /v1/models/{model}/predict`` with all of them in one request,
   against a hub started here over the project's catalog (``make build`` first), HTTP and JSON
   included.

The featurizer's parameters are the model's (``--model``, from the catalog) when the catalog
has it, else ``--set default`` (the solubility and hydration models' set) or ``--set all``
(all descriptors and a 2048-bit Morgan count fingerprint: the lipophilicity model's).

    .venv/bin/python bench/featurize_throughput.py [--n 10000] [--processes 2] [--set default]
        [--model chemistry.solubility] [--no-http]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def esol_smiles(n: int) -> list[str]:
    with gzip.open(ROOT / "domains/chemistry/data/ESOL.csv.gz", "rt") as fh:
        smiles = [r["smiles"] for r in csv.DictReader(fh)]
    return [smiles[i % len(smiles)] for i in range(n)]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>9,.0f} mol/s ({seconds:.2f} s)"


def line(label: str, n: int, seconds: float) -> None:
    print(f"  {label:<48}{rate(n, seconds)}")


def _legacy_chunk(params: dict[str, Any], batch: list[str]) -> int:
    """In a bench worker: parse + the old featurizer over ``batch``; how many made it."""
    from domains.chemistry.featurizers import legacy_rdkit2d_morgan
    from domains.chemistry.molecules import parse_molecule

    featurize = legacy_rdkit2d_morgan(**params)
    done = 0
    for s in batch:
        try:
            featurize(parse_molecule(s))
            done += 1
        except Exception:  # noqa: BLE001 - a bad row counts as not done
            continue
    return done


def featurizer_params(model: str, choice: str) -> tuple[dict[str, Any], str]:
    """The model's featurizer parameters from the catalog, else the ``choice`` set."""
    try:
        from hub.runtime import Runtime

        spec = Runtime().store.resolve(model).spec["featurizer"]
        p = dict(spec.get("params", {}))
        return p, f"{model}'s ({spec['name']}, {len(p.get('descriptors') or [])} descriptors)"
    except Exception:  # noqa: BLE001 - no catalog here: the named set
        if choice == "all":
            return {"descriptors": "all", "n_bits": 2048}, "all descriptors + Morgan 2048"
        return {}, "default set, no fingerprint"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="chemistry.solubility")
    ap.add_argument("--set", choices=("default", "all"), default="default")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--no-http", action="store_true", help="skip the end-to-end HTTP run")
    args = ap.parse_args()
    batch = esol_smiles(args.n)
    n, procs = args.n, args.processes
    params, label = featurizer_params(args.model, args.set)
    print(f"{n} ESOL SMILES, featurizer parameters: {label}; {time.strftime('%Y-%m-%d %H:%M')}")

    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    t0 = time.perf_counter()
    for s in batch:
        gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s))
    line("raw RDKit parse + Morgan fingerprint, 1 process", n, time.perf_counter() - t0)

    from domains.chemistry.descriptors_pool import featurize_inputs, pool
    from domains.chemistry.featurizers import RDKitFeaturizer, legacy_rdkit2d_morgan
    from domains.chemistry.molecules import parse_molecule

    old, new = legacy_rdkit2d_morgan(**params), RDKitFeaturizer(**params)
    for name, featurize in (("old", old), ("new", new)):
        t0 = time.perf_counter()
        for s in batch:
            featurize(parse_molecule(s))
        line(f"{name} featurizer, 1 process", n, time.perf_counter() - t0)

    chunk = max(8, min(256, -(-n // (4 * procs))))
    chunks = [batch[i : i + chunk] for i in range(0, n, chunk)]
    with multiprocessing.get_context("spawn").Pool(procs) as legacy_pool:
        legacy_pool.starmap(_legacy_chunk, [(params, batch[:4])] * procs)  # warm
        t0 = time.perf_counter()
        legacy_pool.starmap(_legacy_chunk, [(params, c) for c in chunks])
        line(f"old featurizer, {procs} processes", n, time.perf_counter() - t0)
    pool(procs)
    featurize_inputs(new.params, batch[: 4 * procs], processes=procs)  # warm
    t0 = time.perf_counter()
    out = featurize_inputs(new.params, batch, processes=procs)
    line(f"new featurizer, {procs} processes (warm pool)", n, time.perf_counter() - t0)
    assert len(out) == n
    print(f"  new featurizer's cost figure (f.cost_us): {new.cost_us:.0f} µs CPU per molecule")

    if not args.no_http:
        import httpx
        from predict_latency import hub_server

        with hub_server() as url, httpx.Client(base_url=url, timeout=600) as http:
            path = f"/v1/models/{args.model}/predict"
            http.post(path, json={"inputs": batch[:500]}).raise_for_status()
            t0 = time.perf_counter()
            r = http.post(path, json={"inputs": batch})
            e2e = time.perf_counter() - t0
            r.raise_for_status()
            assert len(r.json()["outputs"]) == n
        line("hub end to end, one HTTP request", n, e2e)


if __name__ == "__main__":
    main()
