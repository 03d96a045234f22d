"""A LightGBM model (the built-in solubility blend: trees on a ridge, JSON, beside Keras
members) moves between hubs like a Keras one: the same predictions bit for bit, its kind and
artifacts kept; its JSON model damaged is refused as unloadable, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.errors import InvalidRequest
from hub.packs import export_model, import_model
from hub.runtime import Runtime
from tests.packs.conftest import make_hub
from tests.packs.packtools import INPUTS, predictions_json, repack, unpack

NAME = "chemistry.solubility"


@pytest.fixture(scope="module")
def blend_pack(tmp_path_factory: pytest.TempPathFactory, plugins):  # noqa: ANN001, ANN201
    """A quick build of the recipe as shipped (family blend, tree_init ridge) and its pack."""
    from hub.build import build_all

    hub = make_hub(tmp_path_factory.mktemp("hub-lgbm"))
    build_all(plugins.recipes(), hub.store, hub.artifacts, only=[NAME], quick=True,
              overrides={NAME: {"epochs": 3}})  # fmt: skip
    path = export_model(
        NAME,
        tmp_path_factory.mktemp("pack-lgbm") / "blend.hubpack",
        store=hub.store,
        artifacts=hub.artifacts,
        plugins=plugins,
    ).path
    yield hub, path
    hub.store.close()


def test_blend_pack_round_trip_bit_for_bit(blend_pack, tmp_path: Path, plugins) -> None:  # noqa: ANN001
    source, path = blend_pack
    assert source.store.resolve(NAME).kind == "lightgbm"
    target = make_hub(tmp_path / "b")
    done = import_model(path, store=target.store, artifacts=target.artifacts, plugins=plugins)
    assert done.created and done.version.kind == "lightgbm"
    assert done.version.artifacts == source.store.resolve(NAME).artifacts
    before = Runtime(source.settings, store=source.store, plugins=plugins)
    after = Runtime(target.settings, store=target.store, plugins=plugins)
    inputs = INPUTS[NAME]
    assert predictions_json(after, NAME, inputs) == predictions_json(before, NAME, inputs)
    target.store.close()


def test_a_damaged_tree_model_is_refused(blend_pack, tmp_path: Path, plugins) -> None:  # noqa: ANN001
    _, path = blend_pack
    manifest = json.loads(unpack(path)["manifest.json"])
    member = f"artifacts/{manifest['artifacts']['model']['sha256']}"

    def change(manifest: dict, members: dict) -> None:
        members[member] = b'{"not": "a LightGBM ensemble"}'

    bad = repack(path, tmp_path / "bad.hubpack", change)
    target = make_hub(tmp_path / "c")
    with pytest.raises(InvalidRequest) as exc:
        import_model(bad, store=target.store, artifacts=target.artifacts, plugins=plugins)
    assert exc.value.code == "unloadable_model", exc.value.message
    assert target.store.list_models()[0] == []
    target.store.close()
