"""Export on hub A, import on hub B (SQLite and PostgreSQL): the same predictions bit for bit,
the metrics and provenance kept, and where the model came from said."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from hub.auth import users
from hub.auth.identity import Caller
from hub.errors import AlreadyExists, Forbidden, InvalidRequest, NotFound
from hub.packs import export_model, import_model
from hub.runtime import Runtime
from tests.packs.conftest import make_hub
from tests.packs.packtools import INPUTS, Hub, predictions_json


def _inputs(name: str, plugins) -> list:  # noqa: ANN001
    if name in INPUTS:
        return INPUTS[name]
    example = plugins.input_type("atoms").example
    return [example, {"symbols": ["Cu"], "positions": [[0, 0, 0]]}, {"bad": 1}]


@pytest.mark.parametrize("name", ["chemistry.solubility", "physics.emt"])
def test_export_import_same_predictions_bit_for_bit(
    name: str,
    source_hub: Hub,
    source_runtime,
    packs,
    target_hub: Hub,
    plugins,  # noqa: ANN001
) -> None:
    result = import_model(
        packs[name], store=target_hub.store, artifacts=target_hub.artifacts, plugins=plugins
    )
    assert result.created and result.version.ref == f"{name}:1"
    target = Runtime(target_hub.settings, store=target_hub.store, plugins=plugins)
    inputs = _inputs(name, plugins)
    assert predictions_json(target, name, inputs) == predictions_json(source_runtime, name, inputs)
    assert any("error" in o for o in target.predict(name, inputs).outputs)  # the bad input

    src = source_hub.store.resolve(name)
    got = target_hub.store.resolve(name)
    assert got.metrics == src.metrics and got.dataset == src.dataset
    assert got.software == src.software and got.recipe_params == src.recipe_params
    assert got.artifacts == src.artifacts and got.kind == src.kind
    assert got.recipe == f"imported:{src.recipe}"
    assert got.fingerprint != src.fingerprint  # a later `hub build` never takes it for its own
    origin = got.spec["imported_from"]
    assert origin["hub"] == "https://hub-a.example.org"
    assert (origin["model"], origin["version"], origin["fingerprint"]) == (
        name,
        src.version,
        src.fingerprint,
    )
    assert origin["pack_sha256"] == result.pack_sha256
    # the same JSON, keys in the same order (a simulator echoes its parameters)
    spec = {k: v for k, v in got.spec.items() if k != "imported_from"}
    assert json.dumps(spec) == json.dumps(src.spec)
    assert json.dumps(got.recipe_params) == json.dumps(src.recipe_params)
    assert "Imported from https://hub-a.example.org" in got.description
    model = target_hub.store.get_model(name)
    assert (model.owner, model.visibility) == ("hub", "private")
    assert model.title == source_hub.store.get_model(name).title
    assert model.outputs == source_hub.store.get_model(name).outputs


def test_moved_twice_keeps_the_first_hub(
    source_runtime,
    packs,
    target_hub: Hub,
    tmp_path: Path,
    plugins,  # noqa: ANN001
) -> None:
    """A -> B -> C: C's version says it came from B, and B's record of A is kept."""
    name = "chemistry.solubility"
    import_model(
        packs[name], store=target_hub.store, artifacts=target_hub.artifacts, plugins=plugins
    )
    again = export_model(
        name,
        tmp_path / "b.hubpack",
        store=target_hub.store,
        artifacts=target_hub.artifacts,
        plugins=plugins,
        hub_url="https://hub-b.example.org",
    )
    hub_c = make_hub(tmp_path / "hub-c")
    try:
        moved = import_model(
            again.path,
            name="chemistry.solubility-copy",
            store=hub_c.store,
            artifacts=hub_c.artifacts,
            plugins=plugins,
        )
        origin = moved.version.spec["imported_from"]
        assert origin["hub"] == "https://hub-b.example.org"
        assert origin["previous"]["hub"] == "https://hub-a.example.org"
        assert moved.version.recipe.count("imported:") == 1
        runtime_c = Runtime(hub_c.settings, store=hub_c.store, plugins=plugins)
        inputs = INPUTS[name]
        assert predictions_json(runtime_c, "chemistry.solubility-copy", inputs) == (
            predictions_json(source_runtime, name, inputs)
        )
    finally:
        hub_c.store.close()


def test_pack_layout_and_card(packs, source_hub: Hub) -> None:  # noqa: ANN001
    """The documented layout: the manifest first, its digest, the card, the artifacts."""
    with zipfile.ZipFile(packs["chemistry.solubility"]) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        card = zf.read("card.md").decode()
        digest = zf.read("manifest.sha256").decode()
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    version = source_hub.store.resolve("chemistry.solubility")
    assert names[:3] == ["manifest.json", "manifest.sha256", "card.md"]
    assert sorted(names[3:]) == names[3:]
    assert {n.removeprefix("artifacts/") for n in names[3:]} == set(version.artifacts.values())
    assert digest.endswith("  manifest.json\n")
    assert manifest["format"] == "hubpack" and manifest["format_version"] == 1
    assert manifest["version"]["kind"] == version.kind and manifest["version"]["metrics"]
    assert manifest["model"]["name"] == "chemistry.solubility"
    assert {r: e["sha256"] for r, e in manifest["artifacts"].items()} == version.artifacts
    assert manifest["source"]["hub"] == "https://hub-a.example.org"
    assert card.startswith("# Aqueous solubility")
    assert "### Version 1" in card and "rmse" in card
    assert "https://hub-a.example.org/v1/models/chemistry.solubility/predict" in card


def test_reimport_rename_owner_and_conflicts(packs, target_hub: Hub, plugins) -> None:  # noqa: ANN001
    store, arts = target_hub.store, target_hub.artifacts
    kw = {"store": store, "artifacts": arts, "plugins": plugins}
    first = import_model(packs["physics.emt"], **kw)
    again = import_model(packs["physics.emt"], **kw)
    assert not again.created and again.version.ref == first.version.ref
    assert len(store.list_versions("physics.emt")) == 1

    users.ensure_user(store, "alice")
    users.ensure_user(store, "bob")
    alice = Caller("alice", None, frozenset({"read", "publish"}))
    mine = import_model(packs["physics.emt"], name="physics.emt-alice", caller=alice, **kw)
    model = store.get_model("physics.emt-alice")
    assert (model.owner, model.visibility, mine.version.version) == ("alice", "private", 1)
    # another user's model cannot take her import; nor can she give a model to someone else
    bob = Caller("bob", None, frozenset({"read", "publish"}))
    with pytest.raises(AlreadyExists):
        import_model(packs["physics.emt"], name="physics.emt-alice", caller=bob, **kw)
    with pytest.raises(Forbidden):
        import_model(packs["physics.emt"], name="physics.x", caller=bob, owner="alice", **kw)
    # a pack of another input type and outputs does not become a version of her model
    with pytest.raises(InvalidRequest) as exc:
        import_model(packs["chemistry.solubility"], name="physics.emt-alice", caller=alice, **kw)
    assert exc.value.code == "incompatible_model"
    # an unknown group or owner: nothing registered
    with pytest.raises(NotFound):
        import_model(packs["physics.emt"], name="physics.y", visibility="group:nobody", **kw)
    with pytest.raises(NotFound):
        import_model(packs["physics.emt"], name="physics.z", owner="carol", **kw)
    names = {m.name for m in store.list_models(include_private=True)[0]}
    assert names == {"physics.emt", "physics.emt-alice"}
    public = import_model(packs["physics.emt"], name="physics.emt-pub", visibility="public", **kw)
    assert store.get_model(public.version.model).visibility == "public"


def test_export_respects_visibility(source_hub: Hub, tmp_path: Path, plugins) -> None:  # noqa: ANN001
    """With a caller, a model they may not see is not found, and no pack is written."""
    outsider = Caller("mallory", None, frozenset({"read"}))
    source_hub.store.set_visibility("physics.emt", "private")
    try:
        with pytest.raises(NotFound):
            export_model(
                "physics.emt",
                tmp_path / "x.hubpack",
                store=source_hub.store,
                artifacts=source_hub.artifacts,
                caller=outsider,
                plugins=plugins,
            )
    finally:
        source_hub.store.set_visibility("physics.emt", "public")
    assert not (tmp_path / "x.hubpack").exists() and not list(tmp_path.iterdir())
