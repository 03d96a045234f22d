"""The model card lives outside the HTTP layer (hub.cards): ``hub models show`` prints it
without importing hub.service or FastAPI, and the HTTP layer re-exports the same objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = """
import json, sys
from typer.testing import CliRunner
from hub.catalog import CatalogStore
from hub.cli import app
from hub.config import load_settings
from hub.entities import ModelInfo, OutputSpec

info = ModelInfo(name="toy.card", title="Toy", description="a toy", domain="toy", task="regression",
                 input_type="smiles", outputs=(OutputSpec("y", "1"),))
CatalogStore(load_settings().database_url).upsert_model(info)
runner = CliRunner()
shown = runner.invoke(app, ["models", "show", "toy.card"])
missing = runner.invoke(app, ["models", "show", "toy.absent"])
loaded = sorted({m.split(".")[0] + "." + m.split(".")[1] for m in sys.modules
                 if m.startswith("hub.") and m.count(".") >= 1} | {m for m in sys.modules
                 if m == "fastapi"})
print(json.dumps({"shown": shown.exit_code, "card": json.JSONDecoder().raw_decode(shown.output)[0],
                  "missing": missing.exit_code, "loaded": loaded}))
"""


def test_models_show_prints_the_card_without_the_http_layer(tmp_path: Path) -> None:
    env = {**os.environ, "HUB_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["shown"] == 0 and got["card"]["name"] == "toy.card"
    assert got["card"]["versions"] == [] and got["card"]["outputs"][0]["unit"] == "1"
    assert got["missing"] != 0
    assert "hub.cards" in got["loaded"]
    assert "hub.service" not in got["loaded"] and "fastapi" not in got["loaded"]


def test_the_http_layer_re_exports_the_same_card() -> None:
    from hub.cards import card, params, schemas
    from hub.service import card_params as service_params
    from hub.service import cards as service_cards
    from hub.service import schemas as service_schemas

    assert service_cards.model_card is card.model_card
    assert service_schemas.ModelCard is schemas.ModelCard
    assert service_params.prediction_parameters is params.prediction_parameters


def test_models_show_with_url_prints_the_served_card(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from hub.catalog import CatalogStore
    from hub.cli import app
    from hub.entities import ModelInfo, OutputSpec
    from hub.runtime import Runtime
    from hub.service.app import create_app
    from tests.conftest import serve, settings_for

    settings = settings_for(tmp_path)
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    CatalogStore(settings.database_url).upsert_model(
        ModelInfo(
            name="toy.remote",
            domain="toy",
            task="regression",
            title="Toy",
            description="served",
            input_type="smiles",
            outputs=(OutputSpec("y", "1"),),
        )
    )
    runner = CliRunner()
    local = runner.invoke(app, ["models", "show", "toy.remote"])
    with serve(create_app(Runtime(settings), warm=False)) as url:
        remote = runner.invoke(app, ["models", "show", "toy.remote", "--url", url])
        missing = runner.invoke(app, ["models", "show", "toy.absent", "--url", url])
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    decode = json.JSONDecoder().raw_decode
    here, there = decode(local.output)[0], decode(remote.output)[0]
    assert there["usage"]["curl"].startswith(f"curl -s -X POST {url}/v1/models/toy.remote")
    assert {**here, "usage": None} == {**there, "usage": None}  # the same card
    assert missing.exit_code != 0
