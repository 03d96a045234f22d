"""``hub publish`` commands (issue 15); registered in :mod:`hub.cli` by :func:`register`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``hub`` command."""
