"""Fixtures of the Dask tests: a real cluster of processes on loopback (``dask scheduler`` and
two ``dask worker``), or the embedded LocalCluster, behind one ``backend`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.conftest import emt_home, emt_template  # noqa: F401 - fixtures used here
from tests.screening.screen_support import LoopbackCluster, build_template, copy_home


@pytest.fixture(scope="session")
def screen_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.getbasetemp())


@pytest.fixture
def screen_home(screen_template: Path, tmp_path: Path) -> Path:
    return copy_home(screen_template, tmp_path / "home")


@pytest.fixture(scope="session")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    cluster = LoopbackCluster(2, log_dir=tmp_path_factory.mktemp("dask-logs"))
    try:
        cluster.wait_workers(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def embedded(dask_engine: None) -> Iterator[None]:
    """The session's embedded LocalCluster (tests/conftest.py); the module's screen
    supervisors are stopped after it."""
    yield
    from hub.screening.driver import stop_supervisors

    stop_supervisors()
