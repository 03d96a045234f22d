"""``python -m hub``: the ``hub`` command (used by ``hub serve --build`` for its build process)."""

from hub.cli import app

app(prog_name="hub")
