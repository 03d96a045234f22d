"""Liveness and single-SMILES latency while clients flood the hub with simulations, with the
simulators in worker processes (``HUB_KIND_PROCESSES``, the default) and, for comparison, in
the API process's threads (``kind_processes`` 0).

``--clients`` threads keep sending GFN2-xTB molecules (12 carbons, 2 a request) and 500-atom
EMT cells; one more client times ``GET /health/live`` and a one-SMILES prediction of
``chemistry.solubility``, ``--samples`` times each. The server is uvicorn in this process, on
a quick-built hub (solubility, EMT, xTB; built into a temporary folder unless ``--home``).

    .venv/bin/python bench/simpool_flood.py [--clients 8] [--samples 30] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def quick_home(folder: Path) -> Path:
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.plugins import load_plugins
    from tests.conftest import settings_for

    s = settings_for(folder)
    store = CatalogStore(s.database_url)
    only = ["chemistry.solubility", "physics.emt", "physics.gfn2-xtb"]
    build_all(
        load_plugins().recipes(), store, ArtifactStore(s.artifacts_dir), only=only, quick=True
    )
    store.close()
    return folder


def run(home: Path, processes: int, clients: int, samples: int) -> dict:
    from hub.runtime import Runtime
    from hub.runtime.procpool import close_pools
    from hub.service.app import create_app
    from tests.conftest import serve, settings_for
    from tests.service.simpool_support import flood

    settings = settings_for(home).with_(
        deadline_s={"keras": 30.0, "simulator": 8.0, "*": 60.0},
        kind_processes={"simulator": processes, "*": 0},
        anonymous_rate_per_minute=0,
        anonymous_items_per_day=0,
    )
    runtime = Runtime(settings)
    runtime.warm()
    pool = runtime.pool("simulator")
    if pool is not None:  # its children started and loaded the engines
        pool.wait_ready(300)
    with serve(create_app(runtime, warm=False)) as url:
        out = flood(url, clients, samples)
    close_pools()
    runtime.store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--home", type=Path, help="a built hub home (default: quick-build one)")
    args = ap.parse_args()
    home = args.home or quick_home(Path(tempfile.mkdtemp(prefix="simpool-bench-")))
    cores = os.cpu_count() or 1
    print(f"{args.clients} flooding clients, {args.samples} samples, {cores} cores")
    for label, n in ((f"worker processes ({cores})", cores), ("API threads", 0)):
        out = run(home, n, args.clients, args.samples)
        ms = {k: [x * 1e3 for x in out[k]] for k in ("live", "smiles")}
        print(
            f"simulators in {label}: /health/live median {statistics.median(ms['live']):.1f} "
            f"ms (max {max(ms['live']):.0f}), single-SMILES median "
            f"{statistics.median(ms['smiles']):.1f} ms (max {max(ms['smiles']):.0f}); "
            f"{out['answered']} expensive requests answered; idle medians "
            f"{statistics.median(out['idle'][0]) * 1e3:.1f} / "
            f"{statistics.median(out['idle'][1]) * 1e3:.1f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
