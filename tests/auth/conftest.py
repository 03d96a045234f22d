"""A small hub with identities: three EMT models of one owner (public, group, private), four
users with keys (the owner, another user, a group member, an admin), served in process.

Every key a test creates is recorded in ``CREATED_KEYS``: a test greps the run's logs for them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.auth import keys, users
from hub.catalog import CatalogStore
from hub.config import Settings, sqlite_url
from tests.conftest import PG_URL, _reset_postgres

CREATED_KEYS: list[str] = []
SCOPES = "read,predict,jobs,publish"
MODELS = {"public": "auth.public", "group": "auth.group", "private": "auth.private"}
VISIBILITY = {"public": "public", "group": "group:chem-team", "private": "private"}
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
CU2 = {"symbols": ["Cu", "Cu"], "positions": [[0, 0, 0], [0, 0, 2.5]]}


class LogTrap(logging.Handler):
    """Every log record of the test run, formatted with its arguments."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot format is still text
            self.lines.append(str(record.msg))


LOG_TRAP = LogTrap()
logging.getLogger().addHandler(LOG_TRAP)


def new_key(store: CatalogStore, user: str, scopes: str = SCOPES) -> str:
    _, token = keys.create_key(store, user, scopes)
    CREATED_KEYS.append(token)
    return token


@dataclass
class Hub:
    """The hub of a test module: its store, app client and each caller's key."""

    store: CatalogStore
    client: TestClient
    keys: dict[str, str]  # caller -> token ("anonymous" has none)
    home: Path

    def headers(self, who: str) -> dict[str, str]:
        token = self.keys.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}


def register_models(store: CatalogStore, home: Path) -> None:
    from hub.artifacts import ArtifactStore
    from hub.entities import Metric, ModelInfo, OutputSpec, VersionCreate

    sha = ArtifactStore(home / "artifacts").put_bytes(SVG)
    for kind, name in MODELS.items():
        store.upsert_model(
            ModelInfo(
                name=name,
                domain="authdomain" + kind,  # a facet only this model has
                task="simulation",
                title=f"Title of {name}",
                description=f"secret description {kind}",
                input_type="atoms",
                outputs=(OutputSpec("energy", "eV"),),
                tags=(f"tag-{kind}", "shared"),
                owner="alice",
                visibility=VISIBILITY[kind],
            )
        )
        store.register_version(
            name,
            VersionCreate(
                kind="simulator",
                spec={"simulator": "physics.emt", "params": {"engine": "ase"}},
                artifacts={"plot_check": sha},
                recipe="auth.hand-made",
                metrics=(Metric("rmse", 0.5, "random"),),
            ),
        )


def make_hub(url: str, home: Path) -> Hub:
    from hub.runtime import Runtime
    from hub.service.app import create_app

    store = CatalogStore(url)
    for name in ("alice", "bob", "carol", "dave"):
        users.create_user(store, name)
    users.create_group(store, "chem-team")
    users.add_member(store, "chem-team", "carol")
    register_models(store, home)
    tokens = {
        "user": new_key(store, "alice"),
        "other": new_key(store, "bob"),
        "member": new_key(store, "carol"),
        "admin": new_key(store, "dave", "admin"),
    }
    settings = Settings(database_url=url, artifacts_dir=home / "artifacts")
    runtime = Runtime(settings, store=store)
    client = TestClient(create_app(runtime, warm=False), raise_server_exceptions=False)
    return Hub(store, client, tokens, home)


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
