"""A hub made by hand for the process-pool tests (issue 13): EMT and GFN2-xTB models from the
physics domain, and a test domain whose simulator sleeps the seconds it is given, kills its
own process for a negative number (an engine that aborts), or allocates that many bytes for
a number of at least :data:`ALLOCATE` (an engine that runs out of memory). Worker processes
find the same plugins through ``tests.service.simpool_support:plugins``."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.catalog import CatalogStore
from hub.config import Settings, sqlite_url
from hub.entities import ModelInfo, OutputSpec, VersionCreate
from hub.errors import ItemError
from hub.plugins import Domain, InputType, PluginRegistry, Simulator, load_plugins
from hub.runtime import Runtime

PLUGINS_REF = "tests.service.simpool_support:plugins"


def _seconds(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ItemError("give a number of seconds", code="invalid_input")
    return float(raw)


ALLOCATE = 1e6  # from this many "seconds" on, the simulator allocates that many bytes instead


def _cost(raw: Any) -> float:
    if not isinstance(raw, int | float) or raw >= ALLOCATE:
        return 1.0
    return abs(float(raw))


def _build_sleep(**_: Any) -> Any:
    def compute(seconds: float) -> dict[str, Any]:
        if seconds < 0:
            os.kill(os.getpid(), signal.SIGKILL)  # as an engine that aborts its process
        if seconds >= ALLOCATE:
            block = bytearray(int(seconds))  # as an engine that needs that much memory
            return {"energy": float(len(block)), "pid": os.getpid()}
        time.sleep(seconds)
        return {"energy": seconds, "pid": os.getpid()}

    return compute


SP_DOMAIN = Domain(
    name="sp",
    description="test domain: a simulator that sleeps, or dies",
    input_types=(
        InputType(
            name="sp.seconds",
            description="seconds to sleep",
            parse=_seconds,
            example=0.01,
            cost=_cost,
        ),
    ),
    simulators=(
        Simulator(
            name="sp.sleep",
            input_type="sp.seconds",
            description="sleeps",
            implemented_properties=("energy",),
            units={"energy": "s"},
            build=_build_sleep,
        ),
    ),
)


def plugins() -> PluginRegistry:
    """The installed plugins and the test domain."""
    return PluginRegistry([*load_plugins().domains.values(), SP_DOMAIN])


def _register(store: CatalogStore, name: str, domain: str, input_type: str, spec: dict) -> None:
    store.upsert_model(
        ModelInfo(
            name=name,
            domain=domain,
            task="simulation",
            title=f"Title of {name}",
            description="a test model",
            input_type=input_type,
            outputs=(OutputSpec("energy", "eV"),),
        )
    )
    store.register_version(name, VersionCreate(kind="simulator", spec=spec, recipe="sp.hand"))


@dataclass
class Home:
    store: CatalogStore
    settings: Settings


def make_home(home: Path, **changes: Any) -> Home:
    """A catalog with ``sp.emt``, ``sp.xtb`` and ``sp.sleep``; settings for it."""
    url = sqlite_url(home / "registry.db")
    store = CatalogStore(url)
    _register(store, "sp.emt", "physics", "atoms", {"simulator": "physics.emt", "params": {}})
    _register(store, "sp.xtb", "physics", "molecule3d", {"simulator": "physics.gfn2-xtb"})
    _register(store, "sp.sleep", "sp", "sp.seconds", {"simulator": "sp.sleep"})
    settings = Settings(database_url=url, artifacts_dir=home / "artifacts").with_(
        deadline_s={"simulator": 60.0, "*": 60.0},
        max_batch_cost={"simulator": 1e5, "*": 1e6},
        kind_processes={"simulator": 2, "*": 0},
        anonymous_rate_per_minute=0,
        anonymous_items_per_day=0,
        **changes,
    )
    return Home(store, settings)


def runtime(h: Home, *, pooled: bool = True, **changes: Any) -> Runtime:
    """A runtime on ``h``: its simulators in worker processes, or (``pooled`` false) in its
    own threads."""
    settings = h.settings.with_(**changes)
    if not pooled:
        settings = settings.with_(kind_processes={"*": 0})
    return Runtime(settings, store=h.store, plugins=plugins(), plugins_ref=PLUGINS_REF)


# -- a flood of expensive inputs against cheap requests (B16), shared with the bench -------
def cu_cell(repeat: int) -> dict:
    """A Cu fcc supercell of ``4 * repeat**3`` atoms."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((repeat, repeat, repeat))
    return {
        "numbers": atoms.numbers.tolist(),
        "positions": atoms.positions.round(6).tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": True,
    }


EXPENSIVE = [
    ("physics.gfn2-xtb", {"inputs": ["C" * 12] * 2}),  # about 1 s of GFN2-xTB each
    ("physics.emt", {"inputs": [cu_cell(5)]}),  # 500 atoms
]


def flood(url: str, clients: int, samples: int, pause_s: float = 0.1) -> dict[str, Any]:
    """``clients`` threads keep sending :data:`EXPENSIVE` requests to ``url`` while one more
    client times ``samples`` rounds of ``GET /health/live`` and a single-SMILES prediction of
    ``chemistry.solubility``; returns the latencies (s) and the expensive requests answered."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    def probe(c: httpx.Client, n: int) -> tuple[list[float], list[float]]:
        live, smiles = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            assert c.get("/health/live").status_code == 200
            live.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            r = c.post("/v1/models/chemistry.solubility/predict", json={"inputs": ["CCO"]})
            assert r.status_code == 200 and "value" in r.json()["outputs"][0], r.text
            smiles.append(time.perf_counter() - t0)
            time.sleep(pause_s)
        return live, smiles

    stop = threading.Event()
    answered: list[int] = []
    limits = httpx.Limits(max_connections=clients + 4)
    with httpx.Client(base_url=url, timeout=120, limits=limits) as flooder:

        def send(k: int) -> None:
            model, body = EXPENSIVE[k % len(EXPENSIVE)]
            while not stop.is_set():
                r = flooder.post(f"/v1/models/{model}/predict", json=body)
                assert r.status_code == 200, r.text[:300]
                answered.append(k)

        with httpx.Client(base_url=url, timeout=60) as c:
            probe(c, 2)  # the paths warm
            idle = probe(c, 5)
            with ThreadPoolExecutor(clients) as pool:
                floods = [pool.submit(send, k) for k in range(clients)]
                time.sleep(2.0)  # every flooding request is in
                try:
                    live, smiles = probe(c, samples)
                finally:
                    stop.set()
                for f in floods:
                    f.result()
    return {"idle": idle, "live": live, "smiles": smiles, "answered": len(answered)}
