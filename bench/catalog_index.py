"""How long the web catalog's index takes to render with 1,000 models in the catalog.

Registers 1,000 models (each with 1 to 3 versions, ten metrics per version, two tags) in a
temporary SQLite catalog through ``CatalogStore``, then requests ``GET /`` repeatedly through
Starlette's TestClient (in process: the figure is the server's work, not a network's) and
prints p50/p95 of the whole request, wall-clock and CPU time of this process (the machine may
be shared), for the full index, a text search and a filter; each "rendered" (the page cache
emptied first: the catalog read and the template run every time) and "cached" (a rendered
page reused while the catalog is unchanged: one stamp query). Target: under 200 ms.

    .venv/bin/python bench/catalog_index.py [--models 1000] [--repeat 50] [--home DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from hub.catalog import CatalogStore
from hub.config import Settings, sqlite_url
from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, VersionCreate
from hub.runtime import Runtime
from hub.service.app import create_app
from hub.service.web import index_cache

DOMAINS = ("chemistry", "physics", "materials", "biology")
TASKS = ("regression", "classification", "simulation", "generation")


def register(store: CatalogStore, n: int) -> None:
    for i in range(n):
        name = f"{DOMAINS[i % 4]}.model-{i:04d}"
        store.upsert_model(
            ModelInfo(
                name=name,
                domain=DOMAINS[i % 4],
                task=TASKS[(i // 4) % 4],
                title=f"Benchmark model {i}",
                description=f"Model {i} of the catalog benchmark: predicts property {i % 37}.",
                input_type="smiles" if i % 2 else "atoms",
                outputs=(OutputSpec("y", "kcal/mol", "a property"),),
                tags=(f"tag-{i % 25}", "bench"),
            )
        )
        for v in range(1 + i % 3):
            metrics = [Metric(k, 0.5 + 0.01 * v, "random", 0.05, 5) for k in ("rmse", "mae", "r2")]
            metrics += [Metric(k, 0.7, "random") for k in ("within_1sigma", "within_2sigma")]
            metrics += [
                Metric(k, 0.3, "random")
                for k in ("sigma_scale", "ad_threshold", "fraction_in_domain", "rmse_in_domain")
            ]
            metrics.append(Metric("rmse", 0.9, "scaffold", n=1))
            store.register_version(
                name,
                VersionCreate(
                    kind="keras",
                    spec={"input_type": "smiles", "evaluation": {"random": "5 random splits"}},
                    recipe="bench",
                    recipe_params={"epochs": 100 + v},
                    dataset=DatasetInfo("bench", "0" * 64, 1000),
                    software={"python": "3.11"},
                    metrics=tuple(metrics),
                ),
            )


def measure(client: TestClient, path: str, repeat: int, *, cold: bool) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) per request; ``cold`` empties the rendered-page cache first, so each
    request reads the catalog and renders the page."""
    client.get(path)  # warm the templates and the connection pool
    times = []
    for _ in range(repeat):
        if cold:
            index_cache.clear()
        w0, c0 = time.perf_counter(), time.process_time()
        r = client.get(path)
        times.append(((time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000))
        assert r.status_code == 200, r.text[:300]
    return times


def report(label: str, times: list[tuple[float, float]]) -> None:
    wall = [w for w, _ in times]
    cpu = [c for _, c in times]
    print(f"{label:<44} wall p50 {statistics.median(wall):6.1f} ms  "
          f"p95 {statistics.quantiles(wall, n=20)[18]:6.1f} ms   "
          f"CPU p50 {statistics.median(cpu):6.1f} ms  "
          f"p95 {statistics.quantiles(cpu, n=20)[18]:6.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--home", type=Path, help="keep the catalog here (reused when present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            database_url=sqlite_url(home / "registry.db"), artifacts_dir=home / "artifacts"
        )
        store = CatalogStore(settings.database_url)
        if store.list_models(limit=1)[1] == 0:
            t0 = time.perf_counter()
            register(store, args.models)
            print(f"registered {args.models} models in {time.perf_counter() - t0:.1f} s")
        app = create_app(Runtime(settings, store=store), warm=False)
        with TestClient(app) as client:
            html = client.get("/").text
            rows = html.count("<tr data-search=")
            print(f"index: {rows} rows, {len(html) / 1024:.0f} KiB of HTML")
            assert rows == store.list_models(limit=1)[1]
            for label, path in (
                ("GET / (every model)", "/"),
                ("GET /?q=property+7 (text search)", "/?q=property+7"),
                ("GET /?domain=physics&tag=bench", "/?domain=physics&tag=bench"),
            ):
                report(f"{label}, rendered", measure(client, path, args.repeat, cold=True))
                report(f"{label}, cached", measure(client, path, args.repeat, cold=False))
        store.close()


if __name__ == "__main__":
    main()
