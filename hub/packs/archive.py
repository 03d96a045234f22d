"""The ``.hubpack`` container: a plain zip (stored, not compressed) with a fixed layout.

Writing (:func:`write_pack`) is deterministic for the same members (sorted names, fixed
timestamps and permissions, no compression, no comment) and atomic (a temporary file beside
the target, renamed into place: a failed export leaves no half pack).

Reading (:class:`PackReader`) trusts nothing in the file. Before any member is read it checks:

- the pack's size, the number of members, each member's size and their total (413);
- every member name against the layout (``manifest.json``, ``manifest.sha256``, ``card.md``,
  ``artifacts/<sha256>``): a path outside the root, a directory, a symlink, a duplicate or any
  other name is refused (422 ``unsafe_pack`` / ``unexpected_member``);
- no encryption, compression only by ``stored`` or ``deflated``, at most
  :data:`MAX_RATIO` uncompressed bytes per compressed byte (a zip bomb);
- that the members tile the file exactly: the first at offset 0, each local header followed
  by its data and then the next member, the central directory right after the last one and
  no archive comment. Overlapping members (the quines of zip bombs), bytes hidden between
  members, bytes before the first or after the end are all refused.

A file that is not a zip, is truncated, fails a member's CRC or does not tile is
:class:`PackCorrupt` (an :class:`~hub.errors.IntegrityError`).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from hub.errors import IntegrityError, InvalidRequest, PayloadTooLarge

MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
CARD = "card.md"
ARTIFACT_DIR = "artifacts/"
_MEMBER = re.compile(r"^(manifest\.json|manifest\.sha256|card\.md|artifacts/[0-9a-f]{64})$")
_DATE = (1980, 1, 1, 0, 0, 0)  # the zip epoch: the same bytes for the same members
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes before a member's name
_CHUNK = 1 << 20
MAX_RATIO = 100  # uncompressed bytes per compressed byte of a deflated member


class PackCorrupt(IntegrityError):
    """The pack's bytes do not match what it says: a changed byte, a truncated file, a wrong
    sha256. A caller's file, so a 422 over HTTP (not a 500)."""

    code = "pack_corrupt"
    status = 422


@dataclass(frozen=True)
class PackLimits:
    """How big a pack may be (bytes): the file, one member, all members unpacked; how many
    artifacts; how big its manifest and card."""

    max_pack_bytes: int = 2 * 1024**3
    max_member_bytes: int = 1024**3
    max_unpacked_bytes: int = 2 * 1024**3
    max_artifacts: int = 64
    max_manifest_bytes: int = 4 * 1024**2
    max_card_bytes: int = 4 * 1024**2


def artifact_member(sha: str) -> str:
    return f"{ARTIFACT_DIR}{sha}"


def write_pack(path: Path, members: Iterable[tuple[str, bytes]]) -> tuple[str, int]:
    """Write ``members`` (name, bytes) as a pack at ``path``, atomically; returns the pack's
    sha256 and size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".hubpack-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
                for name, data in sorted(members, key=lambda m: _order(m[0])):
                    info = zipfile.ZipInfo(name, date_time=_DATE)
                    info.create_system = 3  # unix: the mode below is read as such
                    info.external_attr = (stat.S_IFREG | 0o644) << 16
                    info.compress_type = zipfile.ZIP_STORED
                    zf.writestr(info, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest(), path.stat().st_size


def _order(name: str) -> tuple[int, str]:
    """The manifest first (a reader sees what the pack is at once), then its digest, the
    card, the artifacts."""
    first = (MANIFEST, MANIFEST_DIGEST, CARD)
    return (first.index(name), "") if name in first else (len(first), name)


class PackReader:
    """A pack opened for reading, its structure checked (see the module docstring). Use as a
    context manager."""

    def __init__(self, path: Path, limits: PackLimits) -> None:
        self.path = Path(path)
        self.limits = limits
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise InvalidRequest(f"cannot read the pack {self.path}: {exc.strerror}") from exc
        if not self.path.is_file():
            raise InvalidRequest(f"{self.path} is not a file", code="invalid_pack")
        if size > limits.max_pack_bytes:
            raise PayloadTooLarge(
                f"the pack is {size} bytes, over the limit of {limits.max_pack_bytes}",
                limit="max_pack_bytes",
                maximum=limits.max_pack_bytes,
            )
        self.size = size
        self._fh: BinaryIO = open(self.path, "rb")
        try:
            self._zip = zipfile.ZipFile(self._fh)
            self.members = self._check()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, struct.error,
                EOFError, ValueError, UnicodeDecodeError) as exc:  # fmt: skip
            self.close()
            raise PackCorrupt(f"not a readable hubpack (truncated or damaged): {exc}") from exc
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> PackReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        zf = getattr(self, "_zip", None)
        if zf is not None:
            zf.close()
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()

    def _check(self) -> dict[str, zipfile.ZipInfo]:
        zf, limits = self._zip, self.limits
        if zf.comment:
            raise PackCorrupt("the pack has an archive comment (a hubpack never has one)")
        infos = zf.infolist()
        if len(infos) > limits.max_artifacts + 3:
            raise PayloadTooLarge(
                f"the pack has {len(infos)} members, over the limit of {limits.max_artifacts + 3}",
                limit="max_artifacts",
                maximum=limits.max_artifacts,
            )
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            _check_name(name)
            if name in members:
                raise InvalidRequest(f"member {name!r} appears twice", code="unsafe_pack")
            mode = info.external_attr >> 16
            if info.create_system == 3 and mode and not stat.S_ISREG(mode):
                raise InvalidRequest(
                    f"member {name!r} is not a regular file (a link or a device)",
                    code="unsafe_pack",
                )
            if info.flag_bits & 0x1:
                raise InvalidRequest(f"member {name!r} is encrypted", code="unsafe_pack")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise InvalidRequest(
                    f"member {name!r} uses compression method {info.compress_type} "
                    "(a hubpack uses stored or deflated)",
                    code="unsafe_pack",
                )
            if info.file_size > limits.max_member_bytes:
                raise PayloadTooLarge(
                    f"member {name!r} unpacks to {info.file_size} bytes, over the limit of "
                    f"{limits.max_member_bytes}",
                    limit="max_member_bytes",
                    maximum=limits.max_member_bytes,
                )
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise PackCorrupt(f"member {name!r}: stored sizes disagree")
            if info.file_size > max(info.compress_size, 1024) * MAX_RATIO:
                raise InvalidRequest(
                    f"member {name!r} unpacks {info.file_size} bytes from "
                    f"{info.compress_size} (over {MAX_RATIO}:1): refused as a zip bomb",
                    code="unsafe_pack",
                )
            total += info.file_size
            members[name] = info
        if total > limits.max_unpacked_bytes:
            raise PayloadTooLarge(
                f"the pack unpacks to {total} bytes, over the limit of {limits.max_unpacked_bytes}",
                limit="max_unpacked_bytes",
                maximum=limits.max_unpacked_bytes,
            )
        self._check_tiling(infos)
        return members

    def _check_tiling(self, infos: list[zipfile.ZipInfo]) -> None:
        """The members follow each other from offset 0 to the central directory, with no gap
        and no overlap, and the local headers agree with the central directory."""
        at = 0
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset != at:
                raise PackCorrupt(
                    f"member {info.filename!r} starts at byte {info.header_offset}, expected "
                    f"{at} (overlapping members or hidden bytes)"
                )
            if info.flag_bits & 0x8:
                raise PackCorrupt(f"member {info.filename!r} has a data descriptor")
            self._fh.seek(at)
            raw = self._fh.read(_LOCAL_HEADER.size)
            if len(raw) != _LOCAL_HEADER.size:
                raise PackCorrupt("the pack is truncated (a local header is cut)")
            sig, _, _, method, _, _, _, _, _, n_name, n_extra = _LOCAL_HEADER.unpack(raw)
            if sig != b"PK\x03\x04" or method != info.compress_type:
                raise PackCorrupt(f"the local header of {info.filename!r} is damaged")
            if self._fh.read(n_name) != info.orig_filename.encode("utf-8"):
                raise PackCorrupt(f"the local header of {info.filename!r} names another file")
            at += _LOCAL_HEADER.size + n_name + n_extra + info.compress_size
        start_dir = getattr(self._zip, "start_dir", at)
        if start_dir != at:
            raise PackCorrupt(
                f"{start_dir - at} bytes between the last member and the central directory"
            )

    def names(self) -> set[str]:
        return set(self.members)

    def read(self, name: str, max_bytes: int) -> bytes:
        """A member's bytes (at most ``max_bytes``: more is a 413), its CRC checked."""
        info = self.members.get(name)
        if info is None:
            raise PackCorrupt(f"the pack has no {name}")
        if info.file_size > max_bytes:
            raise PayloadTooLarge(
                f"{name} is {info.file_size} bytes, over the limit of {max_bytes}",
                limit=name,
                maximum=max_bytes,
            )
        out = bytearray()
        self._copy(info, out.extend)
        return bytes(out)

    def extract(self, name: str, dst: IO[bytes]) -> tuple[str, int]:
        """Copy a member into ``dst``; returns the sha256 and size of what was copied."""
        info = self.members.get(name)
        if info is None:
            raise PackCorrupt(f"the pack has no {name}")
        h = hashlib.sha256()
        size = 0

        def write(chunk: bytes) -> None:
            nonlocal size
            h.update(chunk)
            size += len(chunk)
            dst.write(chunk)

        self._copy(info, write)
        return h.hexdigest(), size

    def _copy(self, info: zipfile.ZipInfo, write) -> None:  # noqa: ANN001 - bytes -> None
        """Stream a member's bytes to ``write``, never more than its declared size; a CRC
        failure or a short member is :class:`PackCorrupt`."""
        left = info.file_size
        try:
            with self._zip.open(info) as src:
                while True:
                    chunk = src.read(min(_CHUNK, left + 1))
                    if not chunk:
                        break
                    if len(chunk) > left:
                        raise PackCorrupt(f"{info.filename} is longer than it says")
                    left -= len(chunk)
                    write(chunk)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError, struct.error) as exc:
            raise PackCorrupt(f"{info.filename} is damaged: {exc}") from exc
        if left:
            raise PackCorrupt(f"{info.filename} is shorter than it says")


def _check_name(name: str) -> None:
    if _MEMBER.match(name):
        return
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
        raise InvalidRequest(
            f"member {name[:200]!r} points outside the pack's root", code="unsafe_pack"
        )
    if name.endswith("/"):
        raise InvalidRequest(
            f"member {name[:200]!r} is a directory (a hubpack has none)", code="unexpected_member"
        )
    raise InvalidRequest(
        f"unexpected member {name[:200]!r}: a hubpack holds manifest.json, manifest.sha256, "
        "card.md and artifacts/<sha256> only",
        code="unexpected_member",
    )
