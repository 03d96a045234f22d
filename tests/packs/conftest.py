"""A source hub with two quick-built models (physics.emt, chemistry.solubility) and their
packs, shared by the hubpack tests; a fresh target hub per test (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.artifacts import ArtifactStore
from hub.build import build_all
from hub.catalog import CatalogStore
from hub.config import Settings, sqlite_url
from hub.plugins import load_plugins
from tests.packs.packtools import Hub

MODELS = ("physics.emt", "chemistry.solubility")


def make_hub(home: Path, url: str | None = None) -> Hub:
    settings = Settings(
        database_url=url or sqlite_url(home / "registry.db"), artifacts_dir=home / "artifacts"
    )
    return Hub(
        home, settings, CatalogStore(settings.database_url), ArtifactStore(home / "artifacts")
    )


@pytest.fixture(scope="session")
def plugins():  # noqa: ANN201
    return load_plugins()


@pytest.fixture(scope="session")
def source_hub(tmp_path_factory: pytest.TempPathFactory, plugins) -> Iterator[Hub]:  # noqa: ANN001
    """Hub A: physics.emt and a 3-epoch chemistry.solubility (about 40 s)."""
    hub = make_hub(tmp_path_factory.mktemp("hub-a"))
    build_all(
        plugins.recipes(),
        hub.store,
        hub.artifacts,
        only=list(MODELS),
        quick=True,
        # the Keras family: these tests tamper with a Keras file (the built-in blend keeps its
        # Keras members beside LightGBM's JSON, which test_hubpack_lightgbm.py moves)
        overrides={"chemistry.solubility": {"epochs": 3, "family": "mlp"}},
    )
    yield hub
    hub.store.close()


@pytest.fixture(scope="session")
def source_runtime(source_hub: Hub, plugins):  # noqa: ANN001, ANN201
    from hub.runtime import Runtime

    return Runtime(source_hub.settings, store=source_hub.store, plugins=plugins)


@pytest.fixture(scope="session")
def packs(source_hub: Hub, plugins, tmp_path_factory) -> dict[str, Path]:  # noqa: ANN001
    """Each model of hub A exported once: name -> pack path."""
    from hub.packs import export_model

    folder = tmp_path_factory.mktemp("packs")
    return {
        name: export_model(
            name,
            folder / f"{name}.hubpack",
            store=source_hub.store,
            artifacts=source_hub.artifacts,
            plugins=plugins,
            hub_url="https://hub-a.example.org",
        ).path
        for name in MODELS
    }


@pytest.fixture
def target_hub(db_url: str, tmp_path: Path) -> Iterator[Hub]:
    """Hub B: an empty catalog (SQLite, and PostgreSQL when HUB_TEST_POSTGRES_URL is set)
    and an empty artifact store."""
    hub = make_hub(tmp_path / "hub-b", db_url)
    yield hub
    hub.store.close()


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[Hub]:
    """Hub B on SQLite only (tests of the pack itself, not of the catalog)."""
    hub = make_hub(tmp_path / "hub-c")
    yield hub
    hub.store.close()
