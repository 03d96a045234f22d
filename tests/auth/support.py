"""Shared pieces of tests/auth (a module, not the conftest, so that tests and fixtures share
one CREATED_KEYS and LOG_TRAP): a small hub with identities, three EMT models of one owner
(public, group, private), four users with keys (the owner, another user, a group member, an
admin), served in process.

Every key a test creates is recorded in ``CREATED_KEYS``: a test greps the run's logs for them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from hub.auth import keys, users
from hub.catalog import CatalogStore
from hub.config import Settings

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
VERBOSE_LOGGERS = ("hub", "uvicorn", "uvicorn.access", "httpx", "fastapi", "starlette", "alembic")


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
