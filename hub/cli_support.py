"""What the `hub` command's modules share: the consoles, the typed-error exit, and the
catalog of the current settings opened for one command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from hub.errors import HubError

if TYPE_CHECKING:
    from hub.catalog import CatalogStore

console = Console()
err = Console(stderr=True)


def fail(exc: HubError) -> NoReturn:
    """End the command with the error's code and message (exit status 1)."""
    err.print(f"[red]error[/red] ({exc.code}): {exc.message}")
    raise typer.Exit(1)


def open_store() -> CatalogStore:
    """The catalog of the current settings (imported lazily: the CLI starts fast)."""
    from hub.catalog import CatalogStore
    from hub.config import load_settings

    return CatalogStore(load_settings().database_url)


@contextmanager
def open_catalog() -> Iterator[CatalogStore]:
    """:func:`open_store`, closed afterwards; a :class:`HubError` inside ends the command
    through :func:`fail`."""
    store = open_store()
    try:
        yield store
    except HubError as exc:
        fail(exc)
    finally:
        store.close()
