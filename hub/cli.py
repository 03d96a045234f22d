"""The ``hub`` command: serve, build, models, predict, plugins."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import (
    cli_admin,
    cli_audit,
    cli_cards,
    cli_packs,
    cli_publish,
    cli_screen,
    cli_serve,
    cli_train,
)
from hub.cli_serve import _c_signal_handler, _cores  # noqa: F401 - public here
from hub.cli_support import console, err, fail
from hub.config import load_settings
from hub.errors import HubError
from hub.lifeline import die_with_parent

app = typer.Typer(
    help="A model hub for chemistry and physics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Browse the catalog.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.callback()(cli_admin.global_options)  # hub --api-key / HUB_API_KEY
app.add_typer(cli_admin.keys_app, name="keys")
app.add_typer(cli_admin.users_app, name="users")
app.add_typer(cli_admin.groups_app, name="groups")
app.add_typer(cli_audit.audit_app, name="audit")
app.add_typer(cli_audit.quotas_app, name="quotas")
models_app.command("visibility")(cli_admin.model_visibility)
cli_cards.register(models_app)  # hub models show, hub models params
cli_publish.register(app)  # hub publish
cli_train.register(app)  # hub train
cli_packs.register(app)  # hub export, hub import
cli_screen.register(app)  # hub screen
cli_serve.register(app)  # hub serve, hub worker


def _runtime():  # noqa: ANN202 - imported lazily: TensorFlow is slow to import
    from hub.runtime import Runtime

    return Runtime(load_settings())


_stopping: list[int] = []  # the signal that asked a build to stop, once one has


def _interrupt(signum: int, frame: object) -> None:
    _stopping.append(signum)
    raise KeyboardInterrupt


def _parse_sets(sets: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        model, dot, param = key.rpartition(".")
        if not sep or not dot:
            raise typer.BadParameter(f"--set {item!r}: expected MODEL.PARAM=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(model, {})[param] = value
    return out


@app.command()
def build(
    only: Annotated[list[str] | None, typer.Argument(help="models to build")] = None,
    quick: Annotated[bool, typer.Option(help="small training sizes (tests, CI)")] = False,
    force: Annotated[bool, typer.Option(help="rebuild even if up to date")] = False,
    lines: Annotated[bool, typer.Option(help="a line per step, not live bars")] = False,
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a recipe parameter: MODEL.PARAM=VALUE"),
    ] = None,
) -> None:
    """Train and register the built-in models; skip those already built from the same recipe,
    parameters and data."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.plugins import load_plugins

    settings = load_settings()
    store = CatalogStore(settings.database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    artifacts.sweep(older_than_s=3600)  # a job worker may be writing a result right now
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops a build as cleanly as Ctrl-C
    if parent_pid is not None:
        die_with_parent(parent_pid, check_s=2.0, grace_s=None)  # it unwinds on SIGTERM
    columns = (
        TextColumn("{task.description:<36}"),
        BarColumn(),
        TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(),
    )
    # A terminal gets live bars; a log (CI, `make serve > log`) gets one line per step.
    live = console.is_terminal and not lines
    with Progress(*columns, console=console, transient=False, disable=not live) as bar:
        tasks: dict[str, Any] = {}
        said: dict[str, str] = {}

        def progress(name: str, fraction: float, message: str) -> None:
            if not live:
                if said.get(name) != message:
                    said[name] = message
                    stamp = time.strftime("%H:%M:%S")
                    console.print(f"{stamp} {name:<36} {fraction:>4.0%}  {message}", soft_wrap=True)
                return
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=1.0, msg="")
            bar.update(tasks[name], completed=fraction, msg=message[:60])

        try:
            outcomes = build_all(
                load_plugins().recipes(),
                store,
                artifacts,
                only=only or (),
                quick=quick,
                force=force,
                overrides=_parse_sets(set_ or []),
                progress=progress,
                cache_dir=settings.cache_dir,
            )
        except HubError as exc:
            fail(exc)
        except (KeyboardInterrupt, SystemError) as exc:
            # Interrupted inside TensorFlow's C code, the KeyboardInterrupt can come out as a
            # SystemError; only after a stop signal is that an interruption.
            if isinstance(exc, SystemError) and not _stopping:
                raise
            err.print("build interrupted: models registered so far are kept; `hub build` goes on")
            raise typer.Exit(130) from None
    for o in outcomes:
        state = "[green]built[/green]" if o.built else "up to date"
        console.print(f"{o.version.ref:<40} {state}")


@models_app.command("list")
def models_list(
    domain: str | None = None, task: str | None = None, tag: str | None = None, q: str | None = None
) -> None:
    """List the models in the catalog."""
    from hub.catalog import CatalogStore

    store = CatalogStore(load_settings().database_url)
    models, _ = store.list_models(domain=domain, task=task, tag=tag, q=q, limit=1000)
    table = Table("name", "task", "input", "outputs", "title")
    for m in models:
        table.add_row(
            m.name,
            m.task,
            m.input_type,
            ", ".join(f"{o.name} [{o.unit}]" for o in m.outputs),
            m.title,
        )
    console.print(table)


@models_app.command("alias")
def models_alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION."""
    from hub.catalog import CatalogStore

    try:
        a = CatalogStore(load_settings().database_url).set_alias(name, alias, version)
    except HubError as exc:
        fail(exc)
    console.print(f"{a.model}@{a.alias} -> {a.version}")


def _maybe_json(text: str) -> Any:
    """A JSON object or list given on the command line (an atoms object, say), else the text;
    a SMILES such as ``[Na+].[Cl-]`` is not valid JSON and stays a string."""
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


@app.command()
def predict(
    ref: str,
    inputs: Annotated[list[str] | None, typer.Argument()] = None,
    file: Annotated[Path | None, typer.Option(help="a .csv or .smi file")] = None,
    column: str = "smiles",
    url: Annotated[str | None, typer.Option(help="a running hub; default: local")] = None,
    params: Annotated[
        str,
        typer.Option(help="JSON object of the model's parameters (list: hub models params REF)"),
    ] = "{}",
) -> None:
    """Predict INPUT... (or the inputs of --file) with model REF; prints JSON lines. An input
    that is a JSON object or list (an atoms object) is sent as JSON."""
    from hub.inputs import read_inputs

    try:
        batch: list[Any] = [_maybe_json(i) for i in inputs or []]
        if file is not None:
            batch += read_inputs(file, column=column)
        if not batch:
            raise typer.BadParameter("give inputs or --file")
        extra = json.loads(params)
        if url:
            from hub.client import HubClient

            with HubClient(url) as client:
                result = client.predict(ref, batch, params=extra)
            model, version, outputs = result.model, result.version, result.outputs
        else:
            result = _runtime().predict(ref, batch, extra)
            model, version, outputs = result.model, result.version, result.outputs
    except HubError as exc:
        fail(exc)
    for raw, out in zip(batch, outputs, strict=True):
        print(json.dumps({"model": model, "version": version, "input": raw, **out}))


@app.command()
def plugins() -> None:
    """List the installed domain plugins."""
    from hub.plugins import load_plugins

    console.print_json(json.dumps(load_plugins().describe()))


if __name__ == "__main__":
    app()
