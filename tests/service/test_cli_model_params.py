"""``hub models params NAME``: the declared parameters of a model's predictions and jobs as
tables, from the local catalog and from a running hub (the same card)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.catalog import CatalogStore
from hub.cli import app
from hub.entities import ModelInfo, OutputSpec, VersionCreate
from tests.conftest import settings_for


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalog with GFN2-xTB (prediction parameters charge and uhf; structure jobs) and EMT
    (no prediction parameters)."""
    store = CatalogStore(settings_for(tmp_path).database_url)
    for name, engine, input_type in (
        ("cli.xtb", "physics.gfn2-xtb", "molecule3d"),
        ("cli.emt", "physics.emt", "atoms"),
    ):
        store.upsert_model(
            ModelInfo(
                name=name,
                domain="physics",
                task="simulation",
                title=name,
                description="an engine",
                input_type=input_type,
                outputs=(OutputSpec("energy", "eV"),),
            )
        )
        store.register_version(
            name, VersionCreate(kind="simulator", spec={"simulator": engine}, recipe="cli.hand")
        )
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")  # one table row per parameter
    return tmp_path


def test_params_lists_prediction_and_job_parameters(home: Path) -> None:
    out = CliRunner().invoke(app, ["models", "params", "cli.xtb"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "cli.xtb: prediction parameters" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 4}
    assert {"charge", "uhf", "fmax", "steps"} <= set(rows)
    assert "integer" in rows["uhf"]
    assert "job relax" in text and "job md" in text


def test_params_of_a_model_without_any_and_of_an_unknown_one(home: Path) -> None:
    emt = CliRunner().invoke(app, ["models", "params", "cli.emt"])
    assert emt.exit_code == 0 and "a prediction takes no parameters" in emt.output
    missing = CliRunner().invoke(app, ["models", "params", "cli.absent"])
    assert missing.exit_code == 1 and "model_not_found" in missing.output


def test_predict_help_points_to_the_parameters() -> None:
    out = CliRunner().invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert "hub models params REF" in out.output


def test_train_lists_the_trainers_parameters() -> None:
    """``hub train --list-params`` prints each trainer's declared parameters and exits, without
    the arguments a training needs."""
    result = CliRunner().invoke(app, ["train", "--list-params"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "trainer chemistry.property" in result.output
    for name, bounds in (("members", "[2, 32]"), ("n_splits", "[1, 20]")):
        line = next(row for row in result.output.splitlines() if f" {name} " in row)
        assert bounds in line, line
    assert "mlp | trees | blend" in result.output
