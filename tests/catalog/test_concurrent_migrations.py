"""Several processes opening one new catalog at once (``hub serve --build``, uvicorn workers,
job workers): one creates the schema, the others wait and find it current."""

from __future__ import annotations

import multiprocessing as mp

from hub.catalog import CatalogStore
from hub.catalog.migrate import current_revision, head_revision


def _open(url: str, barrier: mp.Barrier, errors: mp.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    try:
        CatalogStore(url).close()
    except Exception as exc:  # reported to the test, which names it
        errors.put(f"{type(exc).__name__}: {exc}"[:300])


def test_processes_opening_a_new_catalog_at_once(db_url: str) -> None:
    ctx = mp.get_context("spawn")  # a fresh interpreter each, as separate commands would be
    n = 4
    barrier, errors = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(db_url, barrier, errors)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [] and all(p.exitcode == 0 for p in procs)
    store = CatalogStore(db_url, migrate=False)
    try:
        assert current_revision(store.engine) == head_revision(store.engine)
    finally:
        store.close()
