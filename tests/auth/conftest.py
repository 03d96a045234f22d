"""Fixtures of tests/auth: the identity hub (SQLite and PostgreSQL), HUB_ANONYMOUS levels, and
a trap on the logs of the run (see tests/auth/support.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from hub.config import sqlite_url
from tests.auth.support import LOG_TRAP, VERBOSE_LOGGERS, Hub, LogTrap, make_hub, new_key  # noqa: F401
from tests.conftest import PG_URL, _reset_postgres


@pytest.fixture(scope="package", autouse=True)
def trap_logs() -> Iterator[LogTrap]:
    """Every record of the hub, uvicorn, httpx and alembic at DEBUG, kept for the key grep
    (tests/auth/test_auth_zlogs.py runs last), for this folder's tests only."""
    before = {name: logging.getLogger(name).level for name in VERBOSE_LOGGERS}
    for name in VERBOSE_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(LOG_TRAP)
    yield LOG_TRAP
    logging.getLogger().removeHandler(LOG_TRAP)
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    home = tmp_path_factory.mktemp("auth-home")
    if request.param == "sqlite":
        url = sqlite_url(home / "registry.db")
    else:
        if not PG_URL:
            pytest.skip("HUB_TEST_POSTGRES_URL not set")
        _reset_postgres(PG_URL)
        url = PG_URL
    h = make_hub(url, home)
    with h.client:
        yield h
    h.store.close()


@pytest.fixture
def anonymous_level(hub: Hub) -> Iterator:
    """Set HUB_ANONYMOUS for this test's app (restored after)."""
    from hub.auth.gate import Gate

    app = hub.client.app
    before = app.state.gate if hasattr(app.state, "gate") else None

    def set_level(level: str) -> None:
        app.state.gate = Gate(hub.store, anonymous=level)

    yield set_level
    if before is not None:
        app.state.gate = before
    else:
        app.state.gate = Gate(hub.store, anonymous=os.environ.get("HUB_ANONYMOUS", "predict"))
