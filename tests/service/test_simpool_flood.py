"""Issue 13's flood test with simulators in worker processes (hub.runtime.procpool): several
clients keep sending GFN2-xTB molecules and 500-atom EMT cells while another client's
single-SMILES predictions and ``GET /health/live`` are timed. The engines run in the pool's
children, so the API process's GIL, event loop and thread pool stay free; both medians are
printed (``pytest -s``; ``bench/simpool_flood.py`` compares with the engines in threads).

The bounds are generous for a shared 2-core machine (the children take both cores)."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from tests.conftest import serve, settings_for
from tests.service.simpool_support import flood

CLIENTS = 44  # more than AnyIO's 40 threads
SAMPLES = 15


@pytest.fixture(scope="module")
def home(request: pytest.FixtureRequest) -> Path:
    given = os.environ.get("HUB_TEST_BUILT_HOME")
    return Path(given) if given else request.getfixturevalue("built_home")


def test_liveness_and_single_smiles_under_a_flood_of_simulations(home: Path) -> None:
    from hub.runtime import Runtime
    from hub.service.app import create_app

    settings = settings_for(home).with_(
        deadline_s={"keras": 30.0, "simulator": 8.0, "*": 60.0},
        kind_processes={"simulator": 2, "*": 0},
        anonymous_rate_per_minute=0,  # every client here is 127.0.0.1: no rate limit
        anonymous_items_per_day=0,
    )
    runtime = Runtime(settings)
    runtime.warm()  # the keras model here, the simulators in the pool's children
    pool = runtime.pool("simulator")
    assert pool.wait_ready(300)  # the children loaded the engines before the flood
    with serve(create_app(runtime, warm=False)) as url:
        out = flood(url, CLIENTS, SAMPLES)
    live, smiles = out["live"], out["smiles"]
    print(
        f"\nsimulators in {pool.n} worker processes, {CLIENTS} clients of xTB and EMT: "
        f"/health/live median {statistics.median(live) * 1e3:.1f} ms (max "
        f"{max(live) * 1e3:.1f}), single-SMILES predict median "
        f"{statistics.median(smiles) * 1e3:.1f} ms (max {max(smiles) * 1e3:.1f}); idle: "
        f"{statistics.median(out['idle'][0]) * 1e3:.1f} and "
        f"{statistics.median(out['idle'][1]) * 1e3:.1f} ms; {out['answered']} expensive "
        "requests answered"
    )
    assert out["answered"] > 0
    assert statistics.median(live) < 0.1 and max(live) < 1.0
    assert statistics.median(smiles) < 0.5 and max(smiles) < 3.0
