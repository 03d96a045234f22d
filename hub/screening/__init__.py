"""Bulk screening: score a library of molecules (or any inputs with a key) with one or more
models on Dask, one row per input in a Parquet file.

``hub.screen("library.smi", ["chemistry.solubility"], output="scores.parquet")`` in Python,
``hub screen library.smi --model chemistry.solubility -o scores.parquet`` on the command line,
``POST /v1/screens`` over HTTP. See docs/dask.md; the phases are in :mod:`hub.screening.tasks`,
the driver in :mod:`hub.screening.driver`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.catalog.screens import Screen

__all__ = ["Screen", "screen"]


def screen(
    path: str | Path,
    models: list[str] | str,
    *,
    output: str | Path | None = None,
    column: str = "smiles",
    fmt: str | None = None,
    chunk_size: int | None = None,
    settings: Any = None,
    on_progress: Callable[[Screen, float], None] | None = None,
    resume: bool = True,
) -> Screen:
    """Screen the inputs of the file at ``path`` (CSV with ``column``, ``.smi``, ``.sdf``,
    optionally gzipped) with ``models`` on the hub's Dask cluster (``HUB_DASK_SCHEDULER``, or
    an embedded one); returns the finished screen, whose ``result_sha256`` is the Parquet file
    in the artifact store, also copied to ``output`` when given (``.csv``: as CSV).

    With ``resume`` (the default), a screen of the same file, models and parameters started
    before and not finished carries on where it stopped, and one already finished is reused.
    Ctrl-C leaves the screen to be resumed."""
    from hub.artifacts import ArtifactStore
    from hub.catalog import CatalogStore
    from hub.config import load_settings
    from hub.errors import InvalidRequest, RunError
    from hub.jobs.runner import JobLimits
    from hub.plugins import load_plugins
    from hub.screening.driver import ScreenDriver
    from hub.screening.submit import create_screen

    settings = settings or load_settings()
    src = Path(path)
    if not src.is_file():
        raise InvalidRequest(f"no such file: {src}")
    refs = [models] if isinstance(models, str) else list(models)
    store = CatalogStore(settings.database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    try:

        def chunks() -> Any:
            with open(src, "rb") as fh:
                yield from iter(lambda: fh.read(1 << 20), b"")

        s = create_screen(
            settings,
            store,
            artifacts,
            load_plugins(),
            models=refs,
            chunks=chunks(),
            name=src.name,
            fmt=fmt,
            column=column,
            chunk_size=chunk_size,
            reuse=resume,
        )
        if not s.finished:
            lease_s = JobLimits.from_env().lease_s
            driver = ScreenDriver(settings, s.id, lease_s=lease_s, on_progress=on_progress)
            deadline_s = lease_s + 5  # a previous driver's lease may still run
            while True:
                s = driver.run()
                if s.finished or deadline_s <= 0:
                    break
                import time

                time.sleep(1)
                deadline_s -= 1
        if s.state != "succeeded":
            if s.finished:
                raise RunError(
                    f"screen {s.id} {s.state}: {s.message}",
                    code=(s.error or {}).get("code", "screen_" + s.state),
                )
            raise RunError(f"screen {s.id} is driven by {s.driver}", code="screen_busy")
        if output is not None:
            write_output(artifacts, s, output)
        return s
    finally:
        store.close()


def write_output(artifacts: Any, s: Screen, output: str | Path) -> None:
    """Copy the results of finished screen ``s`` to ``output`` (``.csv``: converted)."""
    from hub.screening.results import csv_chunks, parquet_chunks

    out = Path(output)
    tmp = out.with_name(f".{out.name}.part")
    make = csv_chunks if out.suffix.lower() == ".csv" else parquet_chunks
    with open(tmp, "wb") as fh:
        for chunk in make(artifacts, s):
            fh.write(chunk)
    shutil.move(tmp, out)
