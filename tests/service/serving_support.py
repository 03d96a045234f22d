"""Shared pieces of the serving tests (prediction cache, micro-batching, OIP v2): a hub home
with a quick ``chemistry.solubility`` and a private copy of it owned by ``alice``, and users
with keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub.artifacts import ArtifactStore
from hub.auth import keys, users
from hub.build import build_all
from hub.catalog import CatalogStore
from hub.config import Settings, sqlite_url
from hub.entities import ModelInfo, VersionCreate
from hub.plugins import load_plugins

PUBLIC = "chemistry.solubility"
PRIVATE = "acme.private-solubility"
SMILES = ["CCO", "c1ccccc1O", "not-a-smiles", "CCO", "CC(=O)Oc1ccccc1C(=O)O", "", "OCC"]


@dataclass
class ServingHome:
    home: Path
    url: str
    keys: dict[str, str]  # user -> token

    def settings(self, **changes: object) -> Settings:
        s = Settings(database_url=self.url, artifacts_dir=self.home / "artifacts")
        return s.with_(**changes) if changes else s

    def headers(self, who: str) -> dict[str, str]:
        token = self.keys.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}


_BUILT: dict[Path, ServingHome] = {}


def shared_home(factory: object) -> ServingHome:
    """:func:`make_home` once per test run (the serving test modules share it; each makes its
    own runtimes and apps over it)."""
    base = factory.getbasetemp()  # type: ignore[attr-defined]
    if base not in _BUILT:
        _BUILT[base] = make_home(factory.mktemp("serving-home"))  # type: ignore[attr-defined]
    return _BUILT[base]


def make_home(home: Path, url: str | None = None) -> ServingHome:
    """A quick-built solubility model, a private copy of its version owned by alice, and keys
    of alice (owner) and bob (another user)."""
    url = url or sqlite_url(home / "registry.db")
    store = CatalogStore(url)
    artifacts = ArtifactStore(home / "artifacts")
    build_all(load_plugins().recipes(), store, artifacts, only=[PUBLIC], quick=True)
    public = store.get_model(PUBLIC)
    version = store.resolve(PUBLIC)
    for name in ("alice", "bob"):
        users.create_user(store, name)
    store.upsert_model(
        ModelInfo(
            name=PRIVATE,
            domain=public.domain,
            task=public.task,
            title="A private copy",
            description="the same weights, private to alice",
            input_type=public.input_type,
            outputs=public.outputs,
            tags=(),
            owner="alice",
            visibility="private",
        )
    )
    store.register_version(
        PRIVATE,
        VersionCreate(
            kind=version.kind,
            spec=version.spec,
            artifacts=version.artifacts,
            recipe="tests.copy",
        ),
    )
    tokens = {u: keys.create_key(store, u, "read,predict")[1] for u in ("alice", "bob")}
    store.close()
    return ServingHome(home, url, tokens)
