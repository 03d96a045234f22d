"""Fixtures of the screening tests: a copy of the quick-built home per test, an app over it
whose screens run on the embedded LocalCluster (two worker processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.screening.screen_support import build_template, copy_home


@pytest.fixture(scope="session")
def screen_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.getbasetemp())


@pytest.fixture
def screen_home(screen_template: Path, tmp_path: Path) -> Path:
    return copy_home(screen_template, tmp_path / "home")


@pytest.fixture(scope="module")
def embedded_engine(dask_engine: None) -> Iterator[None]:
    """The session's embedded LocalCluster (tests/conftest.py); the module's screen
    supervisors are stopped after it."""
    yield
    from hub.screening.driver import stop_supervisors

    stop_supervisors()


@pytest.fixture
def screen_api(screen_home: Path, embedded_engine: None):  # noqa: ANN201
    """(TestClient, headers with a key of user ``chemist``, runtime) over ``screen_home``."""
    from fastapi.testclient import TestClient

    from hub.auth import keys, users
    from hub.runtime import Runtime
    from hub.service.app import create_app

    runtime = Runtime(settings_for(screen_home, dask_workers=2, screen_chunk=200))
    users.ensure_user(runtime.store, "chemist")
    key = keys.create_key(runtime.store, "chemist", "read,predict,jobs")[1]
    with TestClient(create_app(runtime)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, runtime
