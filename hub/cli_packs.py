"""``hub export`` and ``hub import``: move one model version between hubs as a ``.hubpack``
file (:mod:`hub.packs`), on the local catalog of the current settings (``HUB_HOME``...).
Registered in :mod:`hub.cli` by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli_support import console, open_catalog


def export(
    ref: Annotated[str, typer.Argument(help="NAME, NAME:VERSION or NAME@ALIAS")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="the pack to write (default: NAME-VERSION.hubpack)"),
    ] = None,
    hub_url: Annotated[
        str | None, typer.Option(help="this hub's public URL, written into the pack")
    ] = None,
) -> None:
    """Write one version of a model (artifacts, manifest, card and every sha256) to a
    .hubpack file that `hub import` reads on another hub."""
    from hub.artifacts import ArtifactStore
    from hub.catalog.refs import parse_ref
    from hub.config import load_settings
    from hub.packs import export_model

    settings = load_settings()
    with open_catalog() as store:
        if output is None:
            version = store.resolve(parse_ref(ref))
            output = Path(f"{version.model}-{version.version}.hubpack")
        result = export_model(
            ref,
            output,
            store=store,
            artifacts=ArtifactStore(settings.artifacts_dir),
            hub_url=hub_url,
        )
    console.print(
        f"exported [bold]{result.model}:{result.version}[/bold] to {result.path} "
        f"({result.size:,} bytes, {result.artifacts} artifacts)"
    )
    console.print(f"sha256 {result.sha256}", soft_wrap=True)


def import_(
    pack: Annotated[
        Path, typer.Argument(help="a .hubpack file", exists=True, dir_okay=False, readable=True)
    ],
    name: Annotated[
        str | None, typer.Option(help="register under this name (default: the pack's)")
    ] = None,
    visibility: Annotated[
        str | None,
        typer.Option(help="public, private or group:NAME (a new model: private by default)"),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="the new model's owner, an existing user (default: hub)")
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="refuse the pack unless its sha256 is this one")
    ] = None,
) -> None:
    """Check a .hubpack (its structure, manifest, card and every artifact's sha256) and
    register it as a new version, keeping its metrics and provenance."""
    from hub.artifacts import ArtifactStore
    from hub.config import load_settings
    from hub.packs import import_model

    settings = load_settings()
    with open_catalog() as store:
        result = import_model(
            pack,
            name=name,
            owner=owner,
            visibility=visibility,
            sha256=sha256,
            store=store,
            artifacts=ArtifactStore(settings.artifacts_dir),
        )
        model = store.get_model(result.version.model)
    v, origin = result.version, result.imported_from
    if not result.created:
        console.print(f"already imported: this pack is [bold]{v.ref}[/bold]")
        return
    table = Table(show_header=False, box=None)
    table.add_row("registered", f"[bold green]{v.ref}[/bold green] (latest)")
    table.add_row("from", f"{origin.get('model')}:{origin.get('version')} of "
                  f"{origin.get('hub') or 'a hub without a public URL'}")  # fmt: skip
    table.add_row("exported", str(origin.get("exported_at", "")))
    table.add_row("recipe", v.recipe)
    table.add_row("artifacts", f"{len(set(v.artifacts.values()))} verified (sha256)")
    table.add_row("metrics", ", ".join(f"{m.name} {m.value:.4g}" for m in v.metrics[:4]) or "none")
    table.add_row("owner", f"{model.owner} ({model.visibility})")
    table.add_row("pack sha256", result.pack_sha256)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``hub`` command."""
    app.command("export")(export)
    app.command("import")(import_)
