"""``hub screen``: bulk scoring of a library on Dask (issue 16); registered in :mod:`hub.cli`
by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli_support import console, err, fail
from hub.errors import HubError


def screen(
    library: Annotated[Path, typer.Argument(help="a .smi, .csv or .sdf file (optionally .gz)")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="a model to score with")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="where to write the results (.parquet or .csv)")
    ] = Path("scores.parquet"),
    column: Annotated[str, typer.Option(help="the CSV column holding the inputs")] = "smiles",
    fmt: Annotated[str | None, typer.Option("--format", help="csv, smi or sdf")] = None,
    chunk: Annotated[int | None, typer.Option(help="inputs per chunk (default 5000)")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="a Dask scheduler (tcp://host:8786); default: HUB_DASK_SCHEDULER, "
            "else an embedded cluster"
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="embedded cluster's workers (0: cores)")] = 0,
    fresh: Annotated[bool, typer.Option(help="start over instead of resuming")] = False,
) -> None:
    """Score every input of LIBRARY with each --model: one row per input (the input, its
    standardised key, each model's value, uncertainty, in_domain and error code).

    Resumable: run the same command again after an interruption and it carries on where it
    stopped (a finished screen is reused)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.config import load_settings
    from hub.screening import screen as run_screen

    settings = load_settings()
    changes: dict = {}
    if scheduler:
        changes["dask_scheduler"] = scheduler
    if workers:
        changes["dask_workers"] = workers
    settings = settings.with_(**changes) if changes else settings
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=not err.is_terminal) as bar:
        task = bar.add_task("screen", total=1.0, msg="starting the cluster")

        def progress(s, fraction: float) -> None:  # noqa: ANN001 - a Screen
            msg = f"{s.phase} {s.step}/{s.total}"
            if s.rows:
                msg += f" · {s.rows:,} inputs"
            if s.unique:
                msg += f" · {s.unique:,} distinct"
            bar.update(task, completed=fraction, msg=msg)

        try:
            result = run_screen(
                library,
                model,
                output=output,
                column=column,
                fmt=fmt,
                chunk_size=chunk,
                settings=settings,
                on_progress=progress,
                resume=not fresh,
            )
        except HubError as exc:
            fail(exc)
        except KeyboardInterrupt:
            err.print("interrupted: run the same command again to resume")
            raise typer.Exit(130) from None
        finally:
            from hub.engine import shutdown

            shutdown()
        bar.update(task, completed=1.0, msg="done")
    console.print(
        f"screen {result.id}: {result.rows:,} inputs ({result.unique:,} distinct) -> {output}"
    )


def register(app: typer.Typer) -> None:
    """Add ``hub screen`` to the ``hub`` command."""
    app.command("screen")(screen)
