"""The ``.hubpack`` container: a zip in one canonical form, so that any changed byte shows.

A pack is a zip whose members are *stored* (not compressed), in a fixed order (``manifest.json``,
``manifest.sha256``, ``card.md``, then ``artifacts/<sha256>`` sorted), each with the same
fixed header fields (1980-01-01 00:00, mode 0644, no extra field, no comment, no data
descriptor, no zip64), the central directory right after the last member and no archive
comment. :func:`write_pack` writes exactly that (its own encoder, not :mod:`zipfile`'s, so the
bytes do not depend on the Python version) atomically: a temporary file beside the target,
renamed into place. Any zip tool lists and extracts it (``unzip -l``, ``unzip -p``).

:class:`PackReader` trusts nothing in the file. Before any member's content is read it checks:

- the pack's size, the number of members, each member's size and their total (413);
- every member name against the layout: a path outside the root, a directory, a duplicate or
  any other name is refused (422 ``unsafe_pack`` / ``unexpected_member``); so are encrypted,
  compressed (deflate: a zip bomb's tool) or non-regular (symlink) members;
- that every byte outside the members' contents is the canonical one (:func:`_layout`):
  headers, order, offsets, central directory, end record. Overlapping members, bytes hidden
  between members, before the first or after the end, a changed date or attribute: refused.

The contents are then checked by their CRC while read and by their sha256 against the
manifest (:mod:`hub.packs.importer`). Damage is :class:`PackCorrupt` (an
:class:`~hub.errors.IntegrityError`): not a zip, truncated, a CRC or a layout that differs.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from hub.errors import IntegrityError, InvalidRequest, PayloadTooLarge

MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
CARD = "card.md"
ARTIFACT_DIR = "artifacts/"
_FIRST = (MANIFEST, MANIFEST_DIGEST, CARD)
_MEMBER = re.compile(r"^(manifest\.json|manifest\.sha256|card\.md|artifacts/[0-9a-f]{64})$")
_CHUNK = 1 << 20
_ZIP32 = 0xFFFFFFFF  # sizes and offsets at or over this need zip64, which packs never use

# The canonical headers (APPNOTE 4.3.7, 4.3.12, 4.3.16): stored, 1980-01-01 00:00, unix 0644
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_VERSION = 20  # 2.0: stored files and folders
_MADE_BY = (3 << 8) | _VERSION  # unix
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_MODE = (stat.S_IFREG | 0o644) << 16


class PackCorrupt(IntegrityError):
    """The pack's bytes do not match what it says: a changed byte, a truncated file, a wrong
    sha256. A caller's file, so a 422 over HTTP (not a 500)."""

    code = "pack_corrupt"
    status = 422


@dataclass(frozen=True)
class PackLimits:
    """How big a pack may be (bytes): the file, one member, all members unpacked; how many
    artifacts; how big its manifest and card. Packs never need zip64: under 4 GiB."""

    max_pack_bytes: int = 2 * 1024**3
    max_member_bytes: int = 1024**3
    max_artifacts: int = 64
    max_manifest_bytes: int = 4 * 1024**2
    max_card_bytes: int = 4 * 1024**2

    def __post_init__(self) -> None:
        if self.max_pack_bytes >= _ZIP32:
            raise ValueError("a hubpack stays under 4 GiB (no zip64)")


def artifact_member(sha: str) -> str:
    return f"{ARTIFACT_DIR}{sha}"


def _order(name: str) -> tuple[int, str]:
    """The manifest first (a reader sees what the pack is at once), then its digest, the
    card, the artifacts by name."""
    return (_FIRST.index(name), "") if name in _FIRST else (len(_FIRST), name)


@dataclass(frozen=True)
class _Entry:
    name: str
    crc: int
    size: int


def _local_header(e: _Entry) -> bytes:
    name = e.name.encode("ascii")
    head = _LOCAL.pack(
        b"PK\x03\x04", _VERSION, 0, 0, 0, _DOS_DATE, e.crc, e.size, e.size, len(name), 0
    )
    return head + name


def _layout(entries: list[_Entry]) -> tuple[list[tuple[int, bytes]], int]:
    """Every byte of the canonical pack of ``entries`` (in canonical order) but the members'
    contents: (offset, bytes) pieces, and the pack's total size."""
    pieces: list[tuple[int, bytes]] = []
    central = b""
    at = 0
    for e in entries:
        header = _local_header(e)
        pieces.append((at, header))
        name = e.name.encode("ascii")
        central += _CENTRAL.pack(
            b"PK\x01\x02", _MADE_BY, _VERSION, 0, 0, 0, _DOS_DATE, e.crc, e.size, e.size,
            len(name), 0, 0, 0, 0, _MODE, at,
        ) + name  # fmt: skip
        at += len(header) + e.size
    end = _END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), at, 0)
    pieces.append((at, central + end))
    return pieces, at + len(central) + len(end)


def write_pack(path: Path, members: Iterable[tuple[str, bytes]]) -> tuple[str, int]:
    """Write ``members`` (name, bytes) as a canonical pack at ``path``, atomically; returns
    the pack's sha256 and size in bytes."""
    path = Path(path)
    items = sorted(members, key=lambda m: _order(m[0]))
    for name, _ in items:
        _check_name(name)
    entries = [_Entry(name, zlib.crc32(data), len(data)) for name, data in items]
    pieces, total = _layout(entries)
    if total >= _ZIP32:
        raise PayloadTooLarge("a hubpack stays under 4 GiB", limit="max_pack_bytes")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".hubpack-", dir=path.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as fh:
            for (_, header), (_, data) in zip(pieces, items, strict=False):
                for chunk in (header, data):
                    h.update(chunk)
                    fh.write(chunk)
            h.update(pieces[-1][1])
            fh.write(pieces[-1][1])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return h.hexdigest(), total


class PackReader:
    """A pack opened for reading, its structure checked (see the module docstring). Use as a
    context manager."""

    def __init__(self, path: Path, limits: PackLimits) -> None:
        self.path = Path(path)
        self.limits = limits
        if not self.path.is_file():
            raise InvalidRequest(f"{self.path} is not a readable file", code="invalid_pack")
        size = self.path.stat().st_size
        if size > limits.max_pack_bytes:
            raise PayloadTooLarge(
                f"the pack is {size} bytes, over the limit of {limits.max_pack_bytes}",
                limit="max_pack_bytes",
                maximum=limits.max_pack_bytes,
            )
        self.size = size
        self._fh: BinaryIO = open(self.path, "rb")
        self._zip: zipfile.ZipFile | None = None
        try:
            self._check_end()
            self._zip = zipfile.ZipFile(self._fh)
            self.members = self._check()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, struct.error,
                EOFError, ValueError, UnicodeError) as exc:  # fmt: skip
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
        if self._zip is not None:
            self._zip.close()
        self._fh.close()

    def _check_end(self) -> None:
        """The end record is the file's last 22 bytes (no comment, no zip64) and counts few
        enough members: checked before :mod:`zipfile` reads the central directory, so that
        millions of tiny entries never become millions of objects in memory."""
        if self.size < _END.size:
            raise PackCorrupt("not a hubpack: too short to be a zip")
        self._fh.seek(self.size - _END.size)
        sig, disk, cd_disk, n_disk, n_total, _, _, comment = _END.unpack(self._fh.read(_END.size))
        if sig != b"PK\x05\x06" or comment or disk or cd_disk or n_disk != n_total:
            raise PackCorrupt("not a hubpack: no zip end record at the end of the file")
        most = self.limits.max_artifacts + len(_FIRST)
        if n_total > most:
            raise PayloadTooLarge(
                f"the pack has {n_total} members, over the limit of {most}",
                limit="max_artifacts",
                maximum=self.limits.max_artifacts,
            )

    def names(self) -> set[str]:
        return set(self.members)

    def _check(self) -> dict[str, zipfile.ZipInfo]:
        assert self._zip is not None
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_artifacts + len(_FIRST):
            raise PayloadTooLarge(
                f"the pack has {len(infos)} members, over the limit of "
                f"{self.limits.max_artifacts + len(_FIRST)}",
                limit="max_artifacts",
                maximum=self.limits.max_artifacts,
            )
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            _check_name(name)
            if name in members:
                raise InvalidRequest(f"member {name!r} appears twice", code="unsafe_pack")
            kind = stat.S_IFMT(info.external_attr >> 16)
            if info.create_system == 3 and kind and kind != stat.S_IFREG:
                raise InvalidRequest(
                    f"member {name!r} is not a regular file (a link or a device)",
                    code="unsafe_pack",
                )
            if info.flag_bits & 0x1:
                raise InvalidRequest(f"member {name!r} is encrypted", code="unsafe_pack")
            if info.compress_type != zipfile.ZIP_STORED:
                raise InvalidRequest(
                    f"member {name!r} is compressed (method {info.compress_type}); a hubpack "
                    "stores its members as they are",
                    code="unsafe_pack",
                )
            if info.file_size > self.limits.max_member_bytes:
                raise PayloadTooLarge(
                    f"member {name!r} is {info.file_size} bytes, over the limit of "
                    f"{self.limits.max_member_bytes}",
                    limit="max_member_bytes",
                    maximum=self.limits.max_member_bytes,
                )
            members[name] = info
        self._check_layout(members)
        return members

    def _check_layout(self, members: dict[str, zipfile.ZipInfo]) -> None:
        """Every byte but the contents is the canonical one (see :func:`_layout`)."""
        entries = [
            _Entry(n, members[n].CRC, members[n].file_size) for n in sorted(members, key=_order)
        ]
        pieces, total = _layout(entries)
        if total != self.size:
            raise PackCorrupt(
                f"the pack is {self.size} bytes where its members make {total}: bytes were "
                "added, removed or hidden"
            )
        for offset, expected in pieces:
            self._fh.seek(offset)
            if self._fh.read(len(expected)) != expected:
                raise PackCorrupt(
                    f"the pack's zip structure differs from a hubpack's at byte {offset} "
                    "(a changed header, order or offset)"
                )

    def read(self, name: str, max_bytes: int) -> bytes:
        """A member's bytes (at most ``max_bytes``: more is a 413), its CRC checked."""
        info = self._info(name)
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
        h = hashlib.sha256()
        size = 0

        def write(chunk: bytes) -> None:
            nonlocal size
            h.update(chunk)
            size += len(chunk)
            dst.write(chunk)

        self._copy(self._info(name), write)
        return h.hexdigest(), size

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self.members.get(name)
        if info is None:
            raise PackCorrupt(f"the pack has no {name}")
        return info

    def _copy(self, info: zipfile.ZipInfo, write: Callable[[bytes], object]) -> None:
        """Stream a member's bytes to ``write``, never more than its declared size; a CRC
        failure or a short member is :class:`PackCorrupt`."""
        assert self._zip is not None
        left = info.file_size
        try:
            with self._zip.open(info) as src:
                while chunk := src.read(min(_CHUNK, left + 1)):
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
