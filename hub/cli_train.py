"""``hub train``: a model from a CSV of SMILES and values, into the local catalog (run here,
as a job, with a progress bar) or on a running hub (``--url``, with ``--api-key``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli_support import console, err, fail
from hub.errors import HubError


def _list_params(value: bool) -> None:
    """``--list-params``: print each trainer's parameters (type, default, range, meaning)."""
    if not value:
        return
    from hub.cli_cards import trainer_tables

    for table in trainer_tables():
        console.print(table)
    raise typer.Exit()


def train(
    name: Annotated[str, typer.Argument(help="the model to train (created if new): team.slug")],
    file: Annotated[Path, typer.Argument(help="the table: CSV with a header row")],
    target: Annotated[str, typer.Option(help="the column of the values (or 0/1 labels)")],
    smiles_column: Annotated[str, typer.Option(help="the column of the SMILES")] = "smiles",
    unit: Annotated[str, typer.Option(help="the target's unit, e.g. 'log10(mol/L)'")] = "",
    task: Annotated[str, typer.Option(help="regression or classification")] = "regression",
    visibility: Annotated[
        str | None, typer.Option(help="public, private or group:<name> (new: private)")
    ] = None,
    params: Annotated[
        str,
        typer.Option(
            help='trainer parameters, JSON: \'{"members": 3, "epochs": 50}\' '
            "(all of them, with types and ranges: --list-params)"
        ),
    ] = "{}",
    title: Annotated[str, typer.Option(help="the model card's title")] = "",
    url: Annotated[str | None, typer.Option(help="a running hub; default: local")] = None,
    list_params: Annotated[
        bool,
        typer.Option(
            "--list-params",
            callback=_list_params,
            is_eager=True,
            help="print the trainers' parameters (type, default, range, meaning) and exit",
        ),
    ] = False,
) -> None:
    """Train model NAME from FILE with the hub's standard property pipeline (seeded random
    and scaffold splits, an ensemble with calibrated uncertainty, an applicability domain);
    prints the data report and the registered version's metrics."""
    try:
        extra = json.loads(params)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--params is not JSON: {exc}") from exc
    fields: dict[str, Any] = dict(
        target=target, smiles_column=smiles_column, unit=unit, task=task,
        visibility=visibility, params=extra, title=title,
    )  # fmt: skip
    try:
        if url:
            from hub.client import HubClient

            with HubClient(url) as client:
                result = client.train(name, file, **fields).wait(progress=console.is_terminal)
        else:
            result = _train_here(name, file, fields)
    except HubError as exc:
        fail(exc)
    _print(result)


def _train_here(name: str, file: Path, fields: dict[str, Any]) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import hub

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[msg]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"training {name}", total=1.0, msg="checking the table")

        def progress(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, msg=message[:60])

        return hub.train(name, file, progress=progress, **fields)


def _print(result: dict[str, Any]) -> None:
    data = result["data"]
    console.print(
        f"[green]registered[/green] {result['ref']}: {data['usable']} inputs of {data['rows']} "
        f"rows ({data['invalid_count']} invalid left out, {data['duplicate_count']} merged)"
    )
    for row in data["invalid"][:20]:
        err.print(f"  row {row['row']}: {row['input'][:40]!r} {row['code']}")
    for m in result["metrics"]:
        spread = f" ± {m['std']:.3g}" if m.get("std") is not None else ""
        console.print(f"  {m['name']:<24} {m['split']:<10} {m['value']:.4g}{spread}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``hub`` command."""
    app.command("train")(train)
