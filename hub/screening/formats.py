"""Screen input files: CSV (a named column), one-per-line text (``.smi``) and SD files, each
optionally gzipped; read as a stream, never whole.

:func:`check_head` refuses, from the first bytes alone, what cannot be a library: an empty
file (``empty_file``), a binary one (``binary_file``), a CSV without the column
(``no_input_column``). Anything past that is read row by row (:func:`iter_rows`); a row that
cannot be decoded or read becomes an input that fails on its own, with an error code in the
results, and never stops the screen.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from typing import IO

from hub.errors import InvalidRequest

FORMATS = ("csv", "smi", "sdf")
HEAD_BYTES = 64 * 1024
MAX_LINE = 1 << 20  # a longer line is cut there (its input then fails as too large)
_GZIP_MAGIC = b"\x1f\x8b"


def detect_format(name: str, fmt: str | None = None) -> str:
    """``csv``, ``smi`` or ``sdf`` (``+.gz`` when gzipped) from an explicit ``fmt`` or the file
    name's extension; anything unknown is read as one input per line."""
    gz = name.lower().endswith(".gz")
    stem = name.lower().removesuffix(".gz")
    if fmt:
        base = fmt.lower().removesuffix(".gz")
        if base not in FORMATS:
            raise InvalidRequest(
                f"unknown input format {fmt!r}; formats: {', '.join(FORMATS)}",
                code="unknown_format",
            )
        return base + (".gz" if gz or fmt.lower().endswith(".gz") else "")
    if stem.endswith(".csv"):
        base = "csv"
    elif stem.endswith((".sdf", ".sd", ".mol")):
        base = "sdf"
    else:
        base = "smi"
    return base + (".gz" if gz else "")


def _gunzip_head(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, HEAD_BYTES)
    except zlib.error as exc:
        raise InvalidRequest(f"the file is not valid gzip: {exc}", code="binary_file") from exc


def check_head(head: bytes, fmt: str, column: str) -> None:
    """Refuse an input from its first bytes (up to :data:`HEAD_BYTES`): empty, binary, or a
    CSV without ``column``. ``fmt`` as from :func:`detect_format`."""
    if fmt.endswith(".gz") != (head[:2] == _GZIP_MAGIC):
        raise InvalidRequest(
            "the file is gzipped but not named .gz (or named .gz but not gzipped): give it "
            "the right name or format (smi.gz, csv.gz, sdf.gz)",
            code="binary_file",
        )
    if fmt.endswith(".gz"):
        head = _gunzip_head(head)
    if not head.strip():
        raise InvalidRequest("the input file is empty: no molecules to screen", code="empty_file")
    text = head[:HEAD_BYTES]
    if b"\x00" in text:
        raise InvalidRequest(
            "the input file is binary (it contains NUL bytes), not a text library",
            code="binary_file",
        )
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text) - 4:  # not just a character cut by the end of the head
            raise InvalidRequest(
                f"the input file is not UTF-8 text (byte {exc.start} is invalid)",
                code="binary_file",
            ) from exc
        decoded = text[: exc.start].decode("utf-8")
    controls = sum(1 for ch in decoded if ord(ch) < 32 and ch not in "\t\r\n\f\v")
    if controls > max(8, len(decoded) // 100):
        raise InvalidRequest(
            "the input file looks binary (control characters), not a text library",
            code="binary_file",
        )
    if fmt.startswith("csv"):
        first = decoded.splitlines()[0] if decoded.splitlines() else ""
        fields = next(csv.reader([first]), [])
        if not any(f.strip().lower() == column.lower() for f in fields):
            shown = ", ".join(f[:40] for f in fields[:20]) or "none"
            raise InvalidRequest(
                f"the CSV has no {column!r} column (columns: {shown}); name the column "
                "holding the inputs",
                code="no_input_column",
                column=column,
            )


def _text(stream: IO[bytes], fmt: str) -> io.TextIOWrapper:
    raw: IO[bytes] = gzip.GzipFile(fileobj=stream) if fmt.endswith(".gz") else stream
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def _lines(fh: io.TextIOWrapper) -> Iterator[str]:
    """Lines of at most :data:`MAX_LINE` characters (the rest of a longer one is skipped)."""
    while True:
        line = fh.readline(MAX_LINE)
        if not line:
            return
        if len(line) >= MAX_LINE and not line.endswith("\n"):
            while True:  # drop the rest of an endless line
                more = fh.readline(MAX_LINE)
                if not more or more.endswith("\n"):
                    break
        yield line


def iter_rows(stream: IO[bytes], fmt: str, column: str = "smiles") -> Iterator[str]:
    """Each input of the file in order (one per row of the results): the ``column`` field of
    a CSV row, the first field of a non-empty, non-``#`` line, or an SD record's molfile."""
    fh = _text(stream, fmt)
    if fmt.startswith("csv"):
        csv.field_size_limit(MAX_LINE)
        reader = csv.reader(_lines(fh))
        header = next(reader, [])
        idx = next((i for i, f in enumerate(header) if f.strip().lower() == column.lower()), None)
        if idx is None:
            raise InvalidRequest(f"the CSV has no {column!r} column", code="no_input_column")
        try:
            for row in reader:
                if row:
                    yield row[idx] if idx < len(row) else ""
        except csv.Error as exc:
            raise InvalidRequest(
                f"the CSV cannot be read at line {reader.line_num}: {exc}", code="invalid_csv"
            ) from exc
        return
    if fmt.startswith("sdf"):
        block: list[str] = []
        for line in _lines(fh):
            if line.strip() == "$$$$":
                if any(x.strip() for x in block):
                    yield _molblock(block)
                block = []
            else:
                block.append(line.rstrip("\r\n"))
                if len(block) >= 100_000:  # not a molfile: one failing input, then go on
                    yield _molblock(block)
                    block = []
        if any(x.strip() for x in block):
            yield _molblock(block)
        return
    for line in _lines(fh):
        text = line.strip()
        if text and not text.startswith("#"):
            yield text.split()[0]


def _molblock(lines: list[str]) -> str:
    for k, line in enumerate(lines):
        if line.startswith("M  END"):
            return "\n".join(lines[: k + 1])
    return "\n".join(lines[:10_000])
