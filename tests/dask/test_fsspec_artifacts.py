"""The artifact store behind an fsspec URL (HUB_ARTIFACTS_URL): same interface, every read
verified by sha256, streamed writes and reads, the sweeps."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hub.artifacts import ArtifactStore, sha256_bytes
from hub.errors import IntegrityError, NotFound


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "memory":
        return ArtifactStore(f"memory://hub-{uuid.uuid4().hex}")
    return ArtifactStore(f"file://{tmp_path / 'shared'}")


def test_put_read_verify_stream(store: ArtifactStore) -> None:
    sha = store.put_bytes(b"weights")
    assert sha == sha256_bytes(b"weights") and store.read(sha) == b"weights"
    assert store.put_bytes(b"weights") == sha and store.exists(sha)
    big = [bytes([i]) * 300_000 for i in range(7)]
    sha2, size = store.put_stream(iter(big))
    assert size == 2_100_000 and sha2 == sha256_bytes(b"".join(big))
    assert b"".join(store.iter_chunks(sha2)) == b"".join(big)
    with store.open_verified(sha2) as fh:
        assert fh.read(10) == bytes(10)
    with pytest.raises(NotFound):
        store.read("a" * 64)
    store.fs.pipe_file(store.path(sha), b"tampered")
    with pytest.raises(IntegrityError):
        store.read(sha)
    with pytest.raises(IntegrityError):
        list(store.iter_chunks(sha))


def test_limits_and_sweeps(store: ArtifactStore) -> None:
    with pytest.raises(ValueError, match="larger than"):
        store.put_stream(iter([b"x" * 100, b"y" * 100]), max_bytes=150)
    assert store.sweep() == 0  # the partial upload was removed
    keep = store.put_bytes(b"keep")
    drop = store.put_bytes(b"drop")
    assert store.sweep_orphans({keep}, older_than_s=0) == (1, 4)
    assert store.exists(keep) and not store.exists(drop)
