"""Screening throughput on Dask: molecules per second through ``chemistry.solubility`` with 1
and 2 worker processes (the scaling efficiency), and the API process's peak RSS during a
large screen.

- **Library**: distinct drug-like molecules: every SMILES of the bundled data sets
  (Lipophilicity's ChEMBL compounds, ESOL, FreeSolv), each also with a small chain or group
  on its first atom (``C``, ``CC``, ``OC``, ``FC``, ...), so that ``--n`` (100,000) inputs are
  distinct and deduplication does not make them cheap. A variant RDKit cannot read stays in:
  it costs a parse and gets its error code, as in a real library.
- **Scaling**: ``hub.screen`` on an embedded LocalCluster of 1, then 2, worker processes
  (started and warmed before the clock starts: the cluster and the model load are not
  counted), molecules/s = inputs / wall time of the screen, efficiency = rate(2) / (2 *
  rate(1)); the target is at least 0.9 (2 workers at least 1.8 times 1). The workers' CPU
  time per molecule is printed too: unlike the wall time, it does not depend on what else the
  machine runs (a shared machine makes the rates and the efficiency noisy).
- **API memory**: ``hub serve`` in a subprocess (on its own embedded cluster), a library of
  ``--rss-n`` inputs (1,000,000; ESOL repeated, so it finishes) uploaded to
  ``POST /v1/screens`` and polled to its end; the serving process's resident memory (its own,
  not its workers') is sampled every 0.2 s: idle before the upload, peak during it.

The model is ``chemistry.solubility`` of ``--home`` (default ``$HUB_HOME``) when it is built
there, else a quick build into a temporary folder (a few minutes). ``--model`` (repeated)
screens with other models of the home (two models: each molecule is parsed once for both,
:mod:`hub.screening.scoring`); ``--workers 1`` runs one cluster size only. The load average
(1 minute) is printed before and after each run: on a shared machine it says how far the
rates are from an idle machine's.

    .venv/bin/python bench/screen_scaling.py [--n 100000] [--rss-n 1000000] [--home DIR]
        [--model chemistry.solubility ...] [--workers 1,2] [--skip-rss]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "domains" / "chemistry" / "data"
MODEL = "chemistry.solubility"
SETS = (
    ("Lipophilicity.csv.gz", "smiles"),
    ("ESOL.csv.gz", "smiles"),
    ("FreeSolv.csv.gz", "smiles"),
)
PREFIXES = ("", "C", "CC", "CCC", "OC", "NC", "FC", "ClC", "CCCC", "OCC", "NCC", "CO", "CN")
PREFIXES += ("C(C)", "C(F)(F)", "COC", "CSC", "C#CC", "C=CC", "OCCC", "N(C)C", "CC(C)C")


def base_smiles() -> list[str]:
    out: list[str] = []
    for name, column in SETS:
        with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            col = next(c for c in reader.fieldnames or [] if c.lower() == column)
            out += [r[col] for r in reader if r[col]]
    return list(dict.fromkeys(out))


def library(n: int) -> list[str]:
    """``n`` distinct SMILES strings (see the module docstring)."""
    base = base_smiles()
    out = []
    for prefix in PREFIXES:
        for smi in base:
            out.append(prefix + smi)
            if len(out) == n:
                return out
    raise SystemExit(f"at most {len(out)} distinct inputs; ask for fewer")


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as text."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def ensure_home(home: Path | None, models: list[str]) -> Path:
    from hub.catalog import CatalogStore
    from tests.conftest import settings_for

    if home is not None:
        store = CatalogStore(settings_for(home).database_url)
        try:
            for model in models:
                store.resolve(model)
            return home
        except Exception:  # noqa: BLE001 - not built there: build one below
            pass
        finally:
            store.close()
    if models != [MODEL]:
        raise SystemExit(f"--home must hold built {models}: only {MODEL} is built here")
    from tests.screening.screen_support import build_template

    base = Path(tempfile.mkdtemp(prefix="hub-bench-screen-"))
    print(f"building a quick {MODEL} in {base} ...", flush=True)
    return build_template(base)


def scaling(home: Path, lib: Path, n: int, workers: int, chunk: int, models: list[str]) -> float:
    """Molecules/s of one screen of ``lib`` by ``models`` on an embedded cluster of
    ``workers``."""
    import hub
    from hub import engine
    from hub.catalog import CatalogStore
    from hub.screening.driver import stop_supervisors
    from tests.conftest import settings_for

    settings = settings_for(home, dask_workers=workers, screen_chunk=chunk)
    warm = lib.with_name(f"warm-{workers}.smi")
    warm.write_text("CCO\nc1ccccc1O\n")
    hub.screen(warm, models, settings=settings, resume=False)  # cluster up, models loaded
    client = engine.client(settings)
    cpu0 = sum(client.run(time.process_time).values())
    before = load()
    seen: dict[str, float] = {}  # phase -> when the driver first reported it

    def phases(screen: Any, _fraction: float) -> None:
        seen.setdefault(screen.phase, time.perf_counter())

    t0 = time.perf_counter()
    s = hub.screen(lib, models, settings=settings, resume=False, on_progress=phases)
    wall = time.perf_counter() - t0
    marks = [("upload", t0), *sorted(seen.items(), key=lambda kv: kv[1]), ("end", t0 + wall)]
    spans = ", ".join(f"{a} {t1 - t:.1f} s" for (a, t), (_, t1) in itertools.pairwise(marks))
    cpu = sum(client.run(time.process_time).values()) - cpu0
    assert s.state == "succeeded" and s.rows == n, s
    print(f"{workers} worker(s): phases (as the driver reported them): {spans}")
    print(
        f"{workers} worker(s): workers' CPU {cpu:.1f} s = {cpu / n * 1000:.2f} ms per "
        f"molecule (wall-clock rate on an idle machine: about {workers * n / cpu:,.0f}/s)"
    )
    stop_supervisors()
    engine.shutdown()
    CatalogStore(settings.database_url).close()
    rate = n / wall
    print(
        f"{workers} worker(s): {n:,} molecules ({s.unique:,} distinct) in {wall:.1f} s "
        f"= {rate:,.0f} molecules/s (load average {before} before, {load()} after)",
        flush=True,
    )
    return rate


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def api_rss(home: Path, n: int, workers: int, chunk: int) -> tuple[float, float, float]:
    """(idle MB, peak MB, seconds) of ``hub serve`` during a screen of ``n`` inputs."""
    import httpx

    from hub.auth import keys, users
    from hub.catalog import CatalogStore
    from tests.conftest import _free_port, settings_for
    from tests.screening.screen_support import write_library

    store = CatalogStore(settings_for(home).database_url)
    users.ensure_user(store, "bench")
    key = keys.create_key(store, "bench", "read,predict,jobs")[1]
    store.close()
    lib = Path(tempfile.mkdtemp(prefix="hub-bench-rss-")) / "rss-library.smi"
    write_library(lib, n)
    port = _free_port()
    env = dict(os.environ, HUB_HOME=str(home), HUB_DASK_WORKERS=str(workers),
               HUB_SCREEN_CHUNK=str(chunk), PYTHONPATH=str(ROOT))  # fmt: skip
    proc = subprocess.Popen(
        # one HTTP worker: the measured process is the one that takes the upload and drives
        # the screen (with more, it would be uvicorn's supervisor, which holds neither)
        [sys.executable, "-m", "hub", "serve", "--port", str(port), "--workers", "1",
         "--job-workers", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=600) as c:
            for _ in range(600):
                try:
                    if c.get("/health/live").status_code < 500:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            time.sleep(5)
            idle = rss_kib(proc.pid)
            peak, t0 = idle, time.perf_counter()
            import threading

            done = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss_kib(proc.pid))
                    time.sleep(0.2)

            threading.Thread(target=sample, daemon=True).start()
            with open(lib, "rb") as fh:
                r = c.post("/v1/screens", data={"model": [MODEL]}, files={"file": (lib.name, fh)})
            r.raise_for_status()
            sid = r.json()["id"]
            while (s := c.get(f"/v1/screens/{sid}").json())["state"] not in (
                "succeeded", "failed", "cancelled"
            ):  # fmt: skip
                time.sleep(1)
            done.set()
            assert s["state"] == "succeeded", s
            return idle / 1024, peak / 1024, time.perf_counter() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(lib.parent, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="distinct molecules to screen")
    ap.add_argument("--rss-n", type=int, default=1_000_000, help="inputs of the RSS screen")
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--home", type=Path, default=os.environ.get("HUB_HOME"))
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--model", action="append", help=f"a model to screen with ({MODEL})")
    ap.add_argument(
        "--workers",
        default="1,2",
        help="cluster sizes to run, comma-separated ('' for none: the RSS run only)",
    )
    args = ap.parse_args()
    models = args.model or [MODEL]
    home = ensure_home(Path(args.home) if args.home else None, models)
    work = Path(tempfile.mkdtemp(prefix="hub-bench-lib-"))
    lib = work / "library.smi"
    lib.write_text("\n".join(library(args.n)) + "\n")
    print(f"cores: {os.cpu_count()}, load average: {load()}; models: {models}", flush=True)
    rates = {w: scaling(home, lib, args.n, w, args.chunk, models)
             for w in map(int, filter(None, args.workers.split(",")))}  # fmt: skip
    if 1 in rates and 2 in rates:
        r1, r2 = rates[1], rates[2]
        print(f"scaling: 2 workers = {r2 / r1:.2f} x 1 worker (efficiency {r2 / (2 * r1):.0%}; "
              "target >= 1.8 x)", flush=True)  # fmt: skip
    if not args.skip_rss:
        idle, peak, secs = api_rss(home, args.rss_n, 2, args.chunk)
        print(
            f"API process during a {args.rss_n:,}-input screen ({secs:.0f} s): idle "
            f"{idle:.0f} MB, peak {peak:.0f} MB (+{peak - idle:.0f} MB; target < +500 MB)"
        )
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
