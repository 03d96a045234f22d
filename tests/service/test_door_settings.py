"""HUB_WARM and XDG_CACHE_HOME are read once, into Settings (issue 14): the app warms from
``Settings.warm``, and a build hands ``Settings.cache_dir`` to each recipe's ``RecipeContext``."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.config import cache_home, load_settings
from hub.runtime import Runtime
from hub.sdk import RecipeContext
from hub.service.app import create_app
from tests.conftest import settings_for


def test_hub_warm_env_sets_the_settings_field(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("HUB_WARM", raising=False)
    assert load_settings(tmp_path).warm is True
    monkeypatch.setenv("HUB_WARM", "0")
    assert load_settings(tmp_path).warm is False
    monkeypatch.setenv("HUB_WARM", "1")
    assert load_settings(tmp_path).warm is True


def test_app_warms_only_when_the_settings_say_so(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    calls: list[bool] = []
    monkeypatch.setattr(Runtime, "warm", lambda self: calls.append(self.settings.warm) or [])
    monkeypatch.setenv("HUB_WARM", "1")  # the environment no longer decides for given settings
    for warm in (False, True):
        with TestClient(create_app(Runtime(settings_for(tmp_path, warm=warm)))):
            pass
    assert calls == [True]
    with TestClient(create_app(Runtime(settings_for(tmp_path, warm=False)), warm=True)):
        pass  # the explicit argument still wins
    assert calls == [True, False]


@pytest.mark.parametrize("xdg", [None, "custom"])
def test_recipes_get_the_xdg_cache_folder(tmp_path: Path, monkeypatch, xdg: str | None) -> None:  # noqa: ANN001
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        expected = Path.home() / ".cache" / "model-hub"
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / xdg))
        expected = tmp_path / xdg / "model-hub"
    assert cache_home() == expected
    ctx = RecipeContext({}, lambda obj: "", lambda f, m: None, tmp_path)
    assert ctx.cache_dir == expected
    assert RecipeContext({}, str, print, tmp_path, cache_dir=tmp_path).cache_dir == tmp_path


def test_builds_hand_recipes_the_settings_cache_dir(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """``Settings.cache_dir`` (read from XDG_CACHE_HOME once) is the folder ``build_all``
    gives each recipe's context, whatever the environment says by then."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.sdk import ModelInfo, OutputSpec, Recipe, RecipeResult

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = load_settings(tmp_path)
    assert settings.cache_dir == tmp_path / "xdg" / "model-hub"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "changed later"))
    seen: list[Path] = []

    def train(ctx: RecipeContext) -> RecipeResult:
        seen.append(ctx.cache_dir)
        return RecipeResult(kind="simulator", spec={"simulator": "physics.emt"})

    info = ModelInfo(
        name="door.cache", domain="physics", task="simulation", title="t", description="d",
        input_type="atoms", outputs=(OutputSpec("energy", "eV"),),
    )  # fmt: skip
    store = CatalogStore(settings.database_url)
    try:
        build_all(
            [Recipe(info, train)],
            store,
            ArtifactStore(settings.artifacts_dir),
            cache_dir=settings.cache_dir,
        )
    finally:
        store.close()
    assert seen == [tmp_path / "xdg" / "model-hub"]
