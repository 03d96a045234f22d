"""Featurization and end-to-end batch throughput, against raw RDKit on the same molecules.

Measures, on 10,000 SMILES drawn from ESOL (repeated) on this machine:

1. raw RDKit: ``MolFromSmiles`` + a Morgan fingerprint (radius 2, 2048 bits), one core;
2. the hub's featurization: parse + MolStandardize + the model's featurizer, one core;
3. end to end: ``POST /v1/models/{model}/predict`` with all 10,000 in one request, against a
   hub started here over the project's catalog (``make build`` first), including HTTP and JSON.

    .venv/bin/python bench/featurize_throughput.py [--model chemistry.solubility] [--n 10000]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from predict_latency import hub_server  # noqa: E402


def esol_smiles(n: int) -> list[str]:
    with gzip.open(ROOT / "domains/chemistry/data/ESOL.csv.gz", "rt") as fh:
        smiles = [r["smiles"] for r in csv.DictReader(fh)]
    return [smiles[i % len(smiles)] for i in range(n)]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>9,.0f} mol/s ({seconds:.2f} s)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="chemistry.solubility")
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    batch = esol_smiles(args.n)

    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    t0 = time.perf_counter()
    for s in batch:
        gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s))
    raw = time.perf_counter() - t0

    from hub.runtime import Runtime

    runtime = Runtime()
    version = runtime.store.resolve(args.model)
    predictor = runtime.predictor(version)
    parse, featurize = predictor.input_type.parse, predictor.featurize
    t0 = time.perf_counter()
    for s in batch:
        featurize(parse(s))
    feat = time.perf_counter() - t0

    import httpx

    with hub_server() as url, httpx.Client(base_url=url, timeout=600) as http:
        path = f"/v1/models/{args.model}/predict"
        http.post(path, json={"inputs": batch[:500]}).raise_for_status()
        t0 = time.perf_counter()
        r = http.post(path, json={"inputs": batch})
        e2e = time.perf_counter() - t0
        r.raise_for_status()
        assert len(r.json()["outputs"]) == args.n
    featurizer = version.spec["featurizer"]["name"]
    print(f"{args.n} ESOL SMILES, model {version.ref}, featurizer {featurizer}")
    print(f"  raw RDKit parse + Morgan fingerprint (1 core): {rate(args.n, raw)}")
    print(
        f"  hub parse + standardize + featurize (1 core):  {rate(args.n, feat)}"
        f"   ratio to raw {raw / feat:.3f}"
    )
    print(
        f"  hub end to end, one HTTP request:             {rate(args.n, e2e)}"
        f"   ratio to raw {raw / e2e:.3f}"
    )


if __name__ == "__main__":
    main()
