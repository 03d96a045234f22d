"""Artifacts are content-addressed, verified on load, and never half-registered."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hub.artifacts import ArtifactStore, sha256_bytes
from hub.catalog import CatalogStore
from hub.errors import IntegrityError, InvalidRequest, NotFound


def test_put_read_verify(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    sha = store.put_bytes(b"weights")
    assert sha == sha256_bytes(b"weights") and store.read(sha) == b"weights"
    assert store.put_bytes(b"weights") == sha  # idempotent
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 3_000_000)
    assert store.read(store.put_file(src)) == src.read_bytes()


def test_corruption_and_missing_are_errors(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    sha = store.put_bytes(b"weights")
    store.path(sha).write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="does not match"):
        store.read(sha)
    with pytest.raises(NotFound):
        store.read("a" * 64)
    for bad in ("../../etc/passwd", "A" * 64, "abc"):
        with pytest.raises(InvalidRequest):
            store.path(bad)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from hub.artifacts import ArtifactStore
    from hub.catalog import CatalogStore
    from hub.entities import ModelInfo, OutputSpec, VersionCreate
    db, root, where = sys.argv[1:4]
    store = CatalogStore(db)
    store.upsert_model(ModelInfo(name="chemistry.k", domain="chemistry", task="t", title="t",
                                 description="", input_type="smiles",
                                 outputs=(OutputSpec("y", "u"),)))
    die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    if where == "rename":        # killed after writing the temporary file, before the rename
        os.replace = die
    arts = ArtifactStore(root)
    sha = arts.put_bytes(os.urandom(5_000_000))
    if where == "commit":        # killed after the artifact, before the row is committed
        import sqlalchemy.orm
        sqlalchemy.orm.Session.commit = die
    store.register_version("chemistry.k", VersionCreate(kind="keras", spec={},
                                                        artifacts={"model": sha}))
""")


@pytest.mark.parametrize("where", ["rename", "commit"])
def test_killed_registration_leaves_no_dangling_version(tmp_path: Path, where: str) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    root = tmp_path / "artifacts"
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, db, str(root), where],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    store = CatalogStore(db)
    arts = ArtifactStore(root)
    assert store.list_versions("chemistry.k") == []  # nothing half-registered
    finals = [p for p in root.glob("*/*") if not p.name.startswith(".tmp-")]
    for path in finals:  # whatever reached its final name is complete
        assert arts.read(path.name)
    assert (where == "rename") == (not finals)
    arts.sweep()
    assert not list(root.glob("*/.tmp-*"))
    for v in store.all_versions():
        for sha in v.artifacts.values():
            arts.read(sha)
