"""``hub build``: idempotent; a change of parameters makes a new version and moves latest."""

from __future__ import annotations

from pathlib import Path

from hub.artifacts import ArtifactStore
from hub.build import build_all, fingerprint
from hub.catalog import CatalogStore
from hub.config import sqlite_url
from hub.plugins import load_plugins


def test_build_twice_then_change_params(tmp_path: Path) -> None:
    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    arts = ArtifactStore(tmp_path / "artifacts")
    recipes = load_plugins().recipes()
    first = build_all(
        recipes,
        store,
        arts,
        only=["chemistry.solubility", "physics.emt"],
        quick=True,
        overrides={"chemistry.solubility": {"epochs": 3}},
    )
    assert [o.built for o in first] == [True, True]
    assert [o.name for o in first] == ["physics.emt", "chemistry.solubility"]  # quickest first
    again = build_all(
        recipes,
        store,
        arts,
        only=["chemistry.solubility", "physics.emt"],
        quick=True,
        overrides={"chemistry.solubility": {"epochs": 3}},
    )
    assert [o.built for o in again] == [False, False]
    assert [v.version for v in store.list_versions("chemistry.solubility")] == [1]
    changed = build_all(
        recipes,
        store,
        arts,
        only=["chemistry.solubility"],
        quick=True,
        overrides={"chemistry.solubility": {"epochs": 4}},
    )
    assert changed[0].built and changed[0].version.version == 2
    assert store.resolve("chemistry.solubility").version == 2
    assert store.get_version("chemistry.solubility", 2).recipe_params["epochs"] == 4
    v = store.resolve("chemistry.solubility")
    assert {m.name for m in v.metrics} >= {"rmse", "mae", "r2"}
    assert v.dataset.size == 1128 and v.software["keras"]


def test_fingerprint_follows_params_and_data() -> None:
    recipe = next(r for r in load_plugins().recipes() if r.name == "chemistry.solubility")
    assert fingerprint(recipe, {"a": 1}) == fingerprint(recipe, {"a": 1})
    assert fingerprint(recipe, {"a": 1}) != fingerprint(recipe, {"a": 2})


def test_every_builtin_recipe_says_how_long_it_takes() -> None:
    """``minutes`` orders ``hub build`` (and so what ``hub serve --build`` offers first)."""
    minutes = {r.name: r.minutes for r in load_plugins().recipes()}
    assert all(m > 0 for m in minutes.values())
    first = sorted(minutes, key=minutes.get)[:3]  # simulators: registered in seconds
    assert set(first) == {"physics.emt", "physics.lennard-jones", "physics.gfn2-xtb"}
    assert minutes["chemistry.yield-buchwald-hartwig"] > minutes["chemistry.solubility"]
