"""``hub export`` and ``hub import`` between two local hub homes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.catalog import CatalogStore
from hub.cli import app
from hub.config import sqlite_url
from tests.packs.packtools import Hub, flip, member_span

ENV = ("HUB_DATABASE_URL", "HUB_ARTIFACTS_DIR", "HUB_ARTIFACTS_URL", "HUB_PUBLIC_URL")


@pytest.fixture
def hub_cli(monkeypatch):  # noqa: ANN001, ANN201
    """``hub_cli(home, *args)``: the command run on hub home ``home``; the result."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(home: Path, *args: str):  # noqa: ANN202
        monkeypatch.setenv("HUB_HOME", str(home))
        return runner.invoke(app, list(args))

    return run


def test_export_then_import(hub_cli, source_hub: Hub, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    target = tmp_path / "hub-b"
    pack = tmp_path / "solubility.hubpack"
    out = hub_cli(source_hub.home, "export", "chemistry.solubility:1", "-o", str(pack))
    assert out.exit_code == 0, out.output
    assert "exported chemistry.solubility:1" in out.output and "sha256" in out.output
    sha = out.output.split("sha256")[-1].split()[0]

    monkeypatch.chdir(tmp_path)  # without -o: NAME-VERSION.hubpack here
    out = hub_cli(source_hub.home, "export", "physics.emt")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "physics.emt-1.hubpack").is_file()

    out = hub_cli(target, "import", str(pack), "--visibility", "public", "--sha256", sha)
    assert out.exit_code == 0, out.output
    assert "chemistry.solubility:1" in out.output and "imported:chemistry.solubility" in out.output
    assert "hub (public)" in out.output
    again = hub_cli(target, "import", str(pack))
    assert again.exit_code == 0 and "already imported" in again.output

    store = CatalogStore(sqlite_url(target / "registry.db"))
    try:
        assert store.get_model("chemistry.solubility").visibility == "public"
        assert store.resolve("chemistry.solubility").recipe.startswith("imported:")
    finally:
        store.close()

    start, end = member_span(pack.read_bytes(), "card.md")
    bad = flip(pack, (start + end) // 2, tmp_path / "bad.hubpack")
    failures = {
        "pack_corrupt": ["import", str(bad), "--name", "chemistry.other"],
        "invalid_name": ["import", str(pack), "--name", "Not A Name"],
        "model_not_found": ["export", "chemistry.nothing", "-o", str(tmp_path / "x.hubpack")],
    }
    for code, args in failures.items():
        home = source_hub.home if args[0] == "export" else target
        out = hub_cli(home, *args)
        assert out.exit_code == 1 and code in out.output, out.output
    assert hub_cli(target, "import", str(tmp_path / "missing.hubpack")).exit_code == 2
    assert hub_cli(target, "import", str(pack), "--sha256", "0" * 64).exit_code == 1
    store = CatalogStore(sqlite_url(target / "registry.db"))
    try:
        assert [m.name for m in store.list_models(include_private=True)[0]] == [
            "chemistry.solubility"
        ]
    finally:
        store.close()
