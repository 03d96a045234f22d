"""A screen's scoring phase with two models: each molecule parsed once for both models
(:mod:`hub.screening.scoring`) against once per model (each model's ``predict`` on the raw
SMILES, as the phase did before).

In one process marked daemonic, as a Dask worker is (the chemistry featurizer then runs in
process, not on its pool), on ``--n`` distinct drug-like SMILES (``bench/screen_scaling.py``'s
library), in chunks of ``--chunk`` as the screen's ``uniq`` chunks; the models are the quick
or full builds of ``--home``. Prints the parse alone (ms of CPU per molecule), and per way
the CPU ms per molecule (independent of the machine's other load, mostly) and molecules/s of
wall time, best of ``--repeat``.

    .venv/bin/python bench/screen_parse_once.py --home DIR [--n 2000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
MODELS = ("chemistry.solubility", "chemistry.lipophilicity")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a hub home with both models built")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    multiprocessing.current_process().daemon = True  # as a Dask nanny's worker

    from screen_scaling import library

    from hub.runtime import Runtime
    from hub.screening.scoring import outputs_of_raw, parse_chunk, score_models
    from tests.conftest import settings_for

    rt = Runtime(settings_for(args.home))
    entries = []
    for ref in MODELS:
        v = rt.store.resolve(ref)
        entries.append({"model": v.model, "version": v.version})
    lib = library(args.n + 50)
    warm, lib = lib[:50], lib[50:]
    score_models(rt, entries, "smiles", warm, lambda: None)
    chunks = [lib[i : i + args.chunk] for i in range(0, len(lib), args.chunk)]
    itype = rt.plugins.input_type("smiles")

    def once_per_model() -> None:
        for m in entries:
            predictor = rt.predictor(rt.store.get_version(m["model"], m["version"]))
            for c in chunks:
                outputs_of_raw(predictor, c, {}, lambda: None)

    def once() -> None:
        for c in chunks:
            score_models(rt, entries, "smiles", c, lambda: None)

    def parse_only() -> None:
        for c in chunks:
            parse_chunk(itype, c, rt.settings.max_input_chars, lambda: None)

    def best(fn: Callable[[], None]) -> tuple[float, float]:
        runs = []
        for _ in range(args.repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            runs.append((time.process_time() - c0, time.perf_counter() - t0))
        return min(r[0] for r in runs), min(r[1] for r in runs)

    n = len(lib)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}; {n:,} molecules")
    cpu, _ = best(parse_only)
    print(f"parse (read, check, standardise): {cpu / n * 1e3:.2f} ms CPU per molecule")
    rates = {}
    for name, fn in (("parsed once per model (before)", once_per_model),
                     ("parsed once for both models", once)):  # fmt: skip
        cpu, wall = best(fn)
        rates[name] = n / wall
        print(f"{name}: {cpu / n * 1e3:.2f} ms CPU per molecule, {n / wall:,.0f} molecules/s")
    a, b = rates.values()
    print(f"speed-up of the scoring phase: {b / a:.2f} x; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
