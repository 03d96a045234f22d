"""Content-addressed artifact files: ``<root>/<sha[:2]>/<sha>``, in a local folder or behind
any fsspec URL.

``root`` is a local folder (the default, ``$HUB_HOME/artifacts``) or an fsspec URL
(``HUB_ARTIFACTS_URL``: ``file:///shared/artifacts``, ``s3://bucket/hub``, ``memory://x``...),
so that workers on other hosts can write results the API reads. The interface is the same:

- Writes go to a temporary file ``.tmp-*`` in the same folder and are then renamed into place
  (locally flushed to disk first), so a file under its final name is always complete (a killed
  writer leaves at most a ``.tmp-*`` file, which :meth:`ArtifactStore.sweep` removes; files no
  version, job or screen refers to are removed by :meth:`ArtifactStore.sweep_orphans`).
- Every read verifies the sha256 (:meth:`read`, and :meth:`open_verified` / :meth:`iter_chunks`
  for files too big for memory).
- Paths are built only from validated hex digests, never from user input.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

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


def is_url(root: str | Path) -> bool:
    """True for an fsspec URL (``scheme://...``), False for a local folder."""
    return isinstance(root, str) and "://" in root


class ArtifactStore:
    """Immutable files named by their sha256, in a local folder or at an fsspec URL."""

    def __init__(self, root: str | Path) -> None:
        self.url = str(root) if is_url(root) else None
        if self.url is not None:
            import fsspec

            self.fs, base = fsspec.core.url_to_fs(self.url)
            self._base = base.rstrip("/")
            self.root: Path | str = self.url
        else:
            self.fs = None
            self.root = Path(root)

    # -- names ----------------------------------------------------------------------------
    def path(self, sha: str) -> Any:
        """Where ``sha`` lives: a ``Path`` locally, an fsspec path string otherwise."""
        if not _SHA.match(sha or ""):
            raise InvalidRequest(f"not a sha256 digest: {str(sha)[:80]!r}")
        if self.fs is not None:
            return f"{self._base}/{sha[:2]}/{sha}"
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        path = self.path(sha)
        return bool(self.fs.exists(path)) if self.fs is not None else path.is_file()

    # -- writing --------------------------------------------------------------------------
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

    def put_stream(
        self, chunks: Iterable[bytes], *, max_bytes: int | None = None
    ) -> tuple[str, int]:
        """Store a stream of unknown digest (an upload) without holding it in memory; return
        (sha256, size in bytes). Over ``max_bytes`` the partial file is removed and
        ``ValueError`` raised."""
        tmp = self._tmp_name("incoming")
        h, size = hashlib.sha256(), 0
        try:
            with self._open_tmp(tmp) as fh:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise ValueError(f"the stream is larger than {max_bytes} bytes")
                    h.update(chunk)
                    fh.write(chunk)
                self._sync(fh)
            sha = h.hexdigest()
            final = self.path(sha)
            if self.exists(sha):
                self._remove(tmp)
            else:
                self._rename(tmp, final)
            return sha, size
        except BaseException:
            self._remove(tmp)
            raise

    def _write(self, sha: str, chunks: Iterable[bytes]) -> None:
        final = self.path(sha)
        tmp = self._tmp_name(sha[:2])
        try:
            h = hashlib.sha256()
            with self._open_tmp(tmp) as fh:
                for chunk in chunks:
                    h.update(chunk)
                    fh.write(chunk)
                self._sync(fh)
            if h.hexdigest() != sha:
                raise IntegrityError(f"artifact changed while being stored (expected {sha})")
            self._rename(tmp, final)
        except BaseException:
            self._remove(tmp)
            raise

    def _tmp_name(self, folder: str) -> Any:
        if self.fs is not None:
            self.fs.makedirs(f"{self._base}/{folder}", exist_ok=True)
            return f"{self._base}/{folder}/.tmp-{uuid.uuid4().hex}"
        d = self.root / folder
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
        os.close(fd)
        return Path(tmp)

    def _open_tmp(self, tmp: Any) -> IO[bytes]:
        return self.fs.open(tmp, "wb") if self.fs is not None else open(tmp, "wb")

    def _sync(self, fh: IO[bytes]) -> None:
        if self.fs is None:
            fh.flush()
            os.fsync(fh.fileno())

    def _rename(self, tmp: Any, final: Any) -> None:
        if self.fs is not None:
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(tmp, final)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def _remove(self, path: Any) -> None:
        try:
            if self.fs is not None:
                if self.fs.exists(path):
                    self.fs.rm(path)
            else:
                Path(path).unlink(missing_ok=True)
        except (FileNotFoundError, OSError):
            pass

    # -- reading --------------------------------------------------------------------------
    def read(self, sha: str) -> bytes:
        """The file's bytes, after checking them against ``sha``."""
        path = self.path(sha)
        try:
            data = self.fs.cat_file(path) if self.fs is not None else path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(
                f"artifact {sha} is missing from {self.root}", code="artifact_missing"
            ) from exc
        if sha256_bytes(data) != sha:
            raise IntegrityError(f"artifact {sha} does not match its sha256: refusing to load it")
        return data

    def _open(self, sha: str) -> IO[bytes]:
        path = self.path(sha)
        try:
            return self.fs.open(path, "rb") if self.fs is not None else open(path, "rb")
        except FileNotFoundError as exc:
            raise NotFound(
                f"artifact {sha} is missing from {self.root}", code="artifact_missing"
            ) from exc

    def iter_chunks(self, sha: str, size: int = _CHUNK) -> Iterator[bytes]:
        """The file in chunks of ``size`` bytes, hashed on the way: ``IntegrityError`` after
        the last chunk if it does not match ``sha`` (a reader must then drop what it made)."""
        h = hashlib.sha256()
        with self._open(sha) as fh:
            for chunk in iter(lambda: fh.read(size), b""):
                h.update(chunk)
                yield chunk
        if h.hexdigest() != sha:
            raise IntegrityError(f"artifact {sha} does not match its sha256: refusing to load it")

    def open_verified(self, sha: str) -> IO[bytes]:
        """A binary file object of the artifact, opened after its sha256 was checked (two
        reads, constant memory: for files too big for :meth:`read`)."""
        for _ in self.iter_chunks(sha):
            pass
        return self._open(sha)

    def size(self, sha: str) -> int:
        path = self.path(sha)
        try:
            return int(self.fs.size(path)) if self.fs is not None else path.stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {sha} is missing", code="artifact_missing") from exc

    # -- sweeping -------------------------------------------------------------------------
    def _listing(self, pattern: str) -> Iterator[tuple[Any, str, str, float]]:
        """(path, name, parent folder name, mtime as a Unix time) of files matching
        ``pattern`` (``*/.tmp-*`` or ``*/*``)."""
        if self.fs is None:
            for path in self.root.glob(pattern):
                try:
                    mtime = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                yield path, path.name, path.parent.name, mtime
            return
        for path in self.fs.glob(f"{self._base}/{pattern}"):
            try:
                mtime = _fs_mtime(self.fs.info(path))
            except FileNotFoundError:
                continue
            parts = path.rstrip("/").split("/")
            yield path, parts[-1], parts[-2], mtime

    def sweep(self, *, older_than_s: float = 0.0) -> int:
        """Remove temporary files left by killed writers, older than ``older_than_s`` seconds
        (give a grace period when other processes may be writing); return how many."""
        removed = 0
        cutoff = time.time() - older_than_s
        for path, _name, _parent, mtime in list(self._listing("*/.tmp-*")):
            if older_than_s > 0 and mtime >= cutoff:
                continue
            self._remove(path)
            removed += 1
        return removed

    def sweep_orphans(
        self, referenced: set[str], *, older_than_s: float = 6 * 3600.0
    ) -> tuple[int, int]:
        """Remove stored files that no one refers to (``referenced``: every sha256 of every
        version, job result and screen file) and that are older than ``older_than_s``
        seconds, so that a build or a job storing its files right now is never hit. Returns
        (files, bytes).

        Orphans come from builds killed between storing and registering, and from results
        of jobs another worker had taken over."""
        removed = size = 0
        cutoff = time.time() - older_than_s
        for path, name, parent, mtime in list(self._listing("*/*")):
            if not _SHA.match(name) or name[:2] != parent or name in referenced:
                continue
            if mtime >= cutoff:
                continue
            try:
                nbytes = self.size(name)
            except NotFound:
                continue
            self._remove(path)
            removed += 1
            size += nbytes
        return removed, size


def _fs_mtime(info: dict[str, Any]) -> float:
    """A file's modification time from an fsspec ``info`` (keys differ between backends)."""
    for key in ("mtime", "LastModified", "last_modified", "created", "updated"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return time.time()  # unknown: treat as new (never swept by age)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
