"""A flood of expensive inputs (B15, B16): 44 clients keep sending GFN2-xTB molecules and
many-atom EMT cells while another client's single-SMILES predictions and ``/health/live``
keep their latency. Before the fix, 40 such requests took every thread of AnyIO's pool and
``/health/live`` waited 27 s; now simulators run at most ``kind_threads`` at once, queue
without holding a thread, and stop at their deadline.

The bounds are generous for a shared 2-core machine (the simulators' own threads compete for
the GIL) but far below what a blocked thread pool gives (seconds, then timeouts). Both medians
are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import serve, settings_for
from tests.service.simpool_support import cu_cell

FLOOD_CLIENTS = 44  # more than AnyIO's 40 threads
SAMPLES = 15


@pytest.fixture(scope="module")
def home(request: pytest.FixtureRequest) -> Path:
    given = os.environ.get("HUB_TEST_BUILT_HOME")
    return Path(given) if given else request.getfixturevalue("built_home")


def _median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1e3


def _probe(c: httpx.Client, n: int) -> tuple[list[float], list[float]]:
    live: list[float] = []
    smiles: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert c.get("/health/live").status_code == 200
        live.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r = c.post("/v1/models/chemistry.solubility/predict", json={"inputs": ["CCO"]})
        assert r.status_code == 200 and "value" in r.json()["outputs"][0]
        smiles.append(time.perf_counter() - t0)
        time.sleep(0.1)
    return live, smiles


def test_flood_keeps_liveness_and_cheap_predictions(home: Path) -> None:
    from hub.runtime import Runtime
    from hub.service.app import create_app

    # a short simulator deadline, so that the flood's queue drains soon after it stops
    settings = settings_for(home).with_(
        deadline_s={"keras": 30.0, "simulator": 8.0, "*": 60.0},
        anonymous_rate_per_minute=0,  # every client here is 127.0.0.1: no rate limit
        anonymous_items_per_day=0,
    )
    runtime = Runtime(settings)
    expensive = [
        ("physics.gfn2-xtb", {"inputs": ["C" * 12] * 2}),
        ("physics.emt", {"inputs": [cu_cell(5)]}),  # 500 atoms
    ]
    for ref in ("chemistry.solubility", "physics.gfn2-xtb", "physics.emt"):
        runtime.predictor(runtime.resolve(ref))  # loaded before serving
    with serve(create_app(runtime, warm=False)) as url:
        with httpx.Client(base_url=url, timeout=60) as c:
            _probe(c, 2)  # warm the paths
            quiet_live, quiet_smiles = _probe(c, 5)
        stop = threading.Event()
        flooder = httpx.Client(
            base_url=url, timeout=120, limits=httpx.Limits(max_connections=FLOOD_CLIENTS + 4)
        )
        sent: list[int] = []

        def flood(k: int) -> None:
            model, body = expensive[k % len(expensive)]
            while not stop.is_set():
                r = flooder.post(f"/v1/models/{model}/predict", json=body)
                assert r.status_code == 200, r.text[:300]
                sent.append(k)

        with flooder, ThreadPoolExecutor(FLOOD_CLIENTS) as pool:
            floods = [pool.submit(flood, k) for k in range(FLOOD_CLIENTS)]
            time.sleep(2.0)  # every flooding request is in
            with httpx.Client(base_url=url, timeout=60) as c:
                live, smiles = _probe(c, SAMPLES)
            stop.set()
            for f in floods:
                f.result()
    print(
        f"\nidle: /health/live median {_median_ms(quiet_live):.1f} ms, single-SMILES predict "
        f"median {_median_ms(quiet_smiles):.1f} ms"
        f"\nunder {FLOOD_CLIENTS} clients of xTB and EMT: /health/live median "
        f"{_median_ms(live):.1f} ms (max {max(live) * 1e3:.1f}), single-SMILES predict median "
        f"{_median_ms(smiles):.1f} ms (max {max(smiles) * 1e3:.1f}); {len(sent)} expensive "
        "requests answered"
    )
    assert statistics.median(live) < 0.1
    assert statistics.median(smiles) < 1.0 and max(smiles) < 5.0
