"""Per-call overhead of the remote ASE calculator against the same engine run locally.

For fcc Cu cells of 8, 64 and 512 atoms (rattled, so each call computes anew), times
``get_forces()`` with ``HubClient(url).calculator("physics.emt")`` over one persistent HTTP
connection and with the engine the hub reports (ASE's EMT, or asap3's) in this process; the
difference is the hub's overhead per call (HTTP, JSON, validation). Local and remote calls
alternate, so that both see the same load; the wall-clock overhead is the median of the
paired differences. On a shared machine wall time moves with the neighbours' work, so the
CPU overhead is printed too: this process's CPU time and the hub's (the server process and its
descendants, e.g. the simulator worker processes, read from /proc) per remote call, less the
local engine's CPU time per call. The first call waits for the hub's worker processes to load
(up to ``--warm-timeout`` seconds: minutes on a loaded machine). The hub is started with
no anonymous rate limit (the calls come from one address, faster than its 300 a minute).

    .venv/bin/python bench/calculator_overhead.py [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_latency import hub_process

from hub.client import HubClient


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds (Linux /proc) of process ``pid`` and of its live
    descendants (the hub's worker processes run the engine outside the server process)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, todo = {pid}, [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                todo.append(child)
    total = 0
    for p in tree:
        try:
            fields = _stat(p)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def paired(atoms, local, remote, calls: int, server_pid: int) -> dict[str, float]:
    """Local and remote ``get_forces()`` alternately on the same rattled positions: the
    medians (ms), the median paired difference (ms), and the CPU overhead (ms per call)."""
    a, b = atoms.copy(), atoms.copy()
    a.calc, b.calc = local, remote
    rng = np.random.default_rng(0)
    base = atoms.positions.copy()
    t_local, t_remote, diff = [], [], []
    cpu_local = cpu_remote = 0.0
    server0 = cpu_s(server_pid)
    for _ in range(calls):
        pos = base + rng.normal(0, 0.02, base.shape)
        a.positions = pos
        b.positions = pos
        c0, t0 = time.thread_time(), time.perf_counter()
        a.get_forces()
        c1, t1 = time.thread_time(), time.perf_counter()
        b.get_forces()
        c2, t2 = time.thread_time(), time.perf_counter()
        t_local.append((t1 - t0) * 1000)
        t_remote.append((t2 - t1) * 1000)
        diff.append(t_remote[-1] - t_local[-1])
        cpu_local += c1 - c0
        cpu_remote += c2 - c1
    server = cpu_s(server_pid) - server0
    return {
        "local_ms": statistics.median(t_local),
        "remote_ms": statistics.median(t_remote),
        "overhead_ms": statistics.median(diff),
        "cpu_overhead_ms": (cpu_remote + server - cpu_local) / calls * 1000,
    }


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
    ap.add_argument("--warm-timeout", type=float, default=600.0, help="seconds (first call)")
    args = ap.parse_args()
    # thousands of calls a minute from one address: no anonymous rate limit on this hub (the
    # limiter still runs; its cost is in bench/auth_overhead.py)
    os.environ.setdefault("HUB_ANONYMOUS_RATE_PER_MINUTE", "0")
    os.environ.setdefault("HUB_ANONYMOUS_ITEMS_PER_DAY", "0")
    with hub_process() as (url, proc), HubClient(url, timeout_s=args.warm_timeout) as client:
        remote = client.calculator("physics.emt")
        cu = bulk("Cu", "fcc", a=3.6, cubic=True)
        per_call_ms(cu, remote, 20)  # warm the connection, the worker processes and the model
        print(f"engine on the hub: {remote.engine}; median of {args.calls} calls")
        head = ("atoms", "local ms", "remote ms", "overhead ms", "CPU overhead ms")
        print("{:>6} {:>10} {:>10} {:>12} {:>16}".format(*head))
        for reps in ((1, 1, 2), (2, 2, 4), (4, 4, 8)):
            atoms = cu * reps
            r = paired(atoms, local_engine(remote.engine), remote, args.calls, proc.pid)
            print(
                f"{len(atoms):>6} {r['local_ms']:>10.2f} {r['remote_ms']:>10.2f} "
                f"{r['overhead_ms']:>12.2f} {r['cpu_overhead_ms']:>16.2f}"
            )


if __name__ == "__main__":
    main()
