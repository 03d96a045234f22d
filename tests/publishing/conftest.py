"""Fixtures of tests/publishing: the tiny ESOL model (trained once per session), its broken
variants, and a hub with identities (tests/auth/support.py's users, groups and keys) on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import sqlite_url
from tests.auth.support import Hub, make_hub
from tests.conftest import PG_URL, _reset_postgres
from tests.publishing.publish_support import Trained, bad_models, train_tiny


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return train_tiny(tmp_path_factory.mktemp("esol-model"))


@pytest.fixture(scope="session")
def bad(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return bad_models(trained, tmp_path_factory.mktemp("bad-models"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pub_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    """alice (user), bob (other), carol (member of chem-team), dave (admin), with keys."""
    home: Path = tmp_path_factory.mktemp("publish-home")
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
