"""Per-call overhead of the remote ASE calculator against the same engine run locally.

For fcc Cu cells of 8, 64 and 512 atoms (rattled, so each call computes anew), times
``get_forces()`` with ``HubClient(url).calculator("physics.emt")`` over one persistent HTTP
connection and with the engine the hub reports (ASE's EMT, or asap3's) in this process; the
difference is the hub's overhead per call (HTTP, JSON, validation).

    .venv/bin/python bench/calculator_overhead.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_latency import hub_server

from hub.client import HubClient


def per_call_ms(atoms, calc, calls: int) -> float:
    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(0)
    base = atoms.positions.copy()
    times = []
    for _ in range(calls):
        atoms.positions = base + rng.normal(0, 0.02, base.shape)
        t0 = time.perf_counter()
        atoms.get_forces()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def local_engine(name: str):
    if name.startswith("asap3"):
        from asap3 import EMT
    else:
        from ase.calculators.emt import EMT
    return EMT()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    with hub_server() as url, HubClient(url) as client:
        remote = client.calculator("physics.emt")
        cu = bulk("Cu", "fcc", a=3.6, cubic=True)
        per_call_ms(cu, remote, 5)  # warm the connection and the model
        print(f"engine on the hub: {remote.engine}; median of {args.calls} calls")
        print(f"{'atoms':>6} {'local ms':>10} {'remote ms':>10} {'overhead ms':>12}")
        for reps in ((1, 1, 2), (2, 2, 4), (4, 4, 8)):
            atoms = cu * reps
            local = per_call_ms(atoms, local_engine(remote.engine), args.calls)
            far = per_call_ms(atoms, remote, args.calls)
            print(f"{len(atoms):>6} {local:>10.2f} {far:>10.2f} {far - local:>12.2f}")


if __name__ == "__main__":
    main()
