"""Content-addressed artifact files: ``<dir>/<sha[:2]>/<sha>``.

Writes go to a temporary file in the same folder, are flushed to disk and then renamed into
place, so a file under its final name is always complete (a killed writer leaves at most a
``.tmp-*`` file, which :meth:`ArtifactStore.sweep` removes; files no version or job refers
to are removed by :meth:`ArtifactStore.sweep_orphans`). Reads verify the sha256 every time.
Paths are built only from validated hex digests, never from user input.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

from hub.errors import IntegrityError, InvalidRequest, NotFound

_SHA = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    """Immutable files named by their sha256."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        if not _SHA.match(sha or ""):
            raise InvalidRequest(f"not a sha256 digest: {str(sha)[:80]!r}")
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its sha256. Idempotent."""
        sha = sha256_bytes(data)
        if not self.exists(sha):
            self._write(sha, [data])
        return sha

    def put_file(self, src: str | Path) -> str:
        """Copy a file into the store; return its sha256. Idempotent."""
        sha = sha256_file(src)
        if not self.exists(sha):
            with open(src, "rb") as fh:
                self._write(sha, iter(lambda: fh.read(_CHUNK), b""))
        return sha

    def read(self, sha: str) -> bytes:
        """The file's bytes, after checking them against ``sha``."""
        path = self.path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(
                f"artifact {sha} is missing from {self.root}", code="artifact_missing"
            ) from exc
        if sha256_bytes(data) != sha:
            raise IntegrityError(f"artifact {sha} does not match its sha256: refusing to load it")
        return data

    def sweep(self, *, older_than_s: float = 0.0) -> int:
        """Remove temporary files left by killed writers, older than ``older_than_s`` seconds
        (give a grace period when other processes may be writing); return how many."""
        removed = 0
        cutoff = time.time() - older_than_s
        for tmp in self.root.glob("*/.tmp-*"):
            try:
                if older_than_s > 0 and tmp.stat().st_mtime >= cutoff:
                    continue
                tmp.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def sweep_orphans(
        self, referenced: set[str], *, older_than_s: float = 6 * 3600.0
    ) -> tuple[int, int]:
        """Remove stored files that no one refers to (``referenced``: every sha256 of every
        version and job result) and that are older than ``older_than_s`` seconds, so that a
        build or a job storing its files right now is never hit. Returns (files, bytes).

        Orphans come from builds killed between storing and registering, and from results
        of jobs another worker had taken over."""
        removed = size = 0
        cutoff = time.time() - older_than_s
        for path in self.root.glob("*/*"):
            name = path.name
            if not _SHA.match(name) or name[:2] != path.parent.name or name in referenced:
                continue
            try:
                st = path.stat()
                if st.st_mtime >= cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
            size += st.st_size
        return removed, size

    def _write(self, sha: str, chunks) -> None:  # noqa: ANN001 - an iterable of bytes
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    h.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if h.hexdigest() != sha:
                raise IntegrityError(f"artifact changed while being stored (expected {sha})")
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
