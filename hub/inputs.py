"""Reading batches of raw inputs from files (CSV with a named column, one-per-line text)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from hub.errors import InvalidRequest


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8")
    return open(path, encoding="utf-8", newline="")


def read_inputs(path: str | Path, *, column: str = "smiles") -> list[str]:
    """Inputs from a file, by its extension (optionally ``.gz``):

    - ``.csv``: the ``column`` column (matched without regard to case);
    - ``.sdf``/``.sd``/``.mol``: each record's text up to ``M  END`` (a molfile block, which the
      ``smiles`` input type also reads);
    - anything else (``.smi``, ``.txt``): the first whitespace-separated field of each
      non-empty line; ``#`` starts a comment.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"no such file: {path}")
    stem = path.name.removesuffix(".gz")
    with _open_text(path) as fh:
        if stem.endswith(".csv"):
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            match = next((f for f in fields if f.strip().lower() == column.lower()), None)
            if match is None:
                raise InvalidRequest(
                    f"{path.name} has no {column!r} column (columns: {', '.join(fields) or 'none'})"
                )
            return [row[match] or "" for row in reader]
        if stem.endswith((".sdf", ".sd", ".mol")):
            return split_sdf(fh.read())
        out = []
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line.split()[0])
        return out


def split_sdf(text: str) -> list[str]:
    """The molfile blocks of an SD file (records end with a ``$$$$`` line; data fields are
    dropped). The first three lines of a record are its header, kept even when blank."""
    blocks, lines = [], []
    for line in text.splitlines():
        if line.strip() == "$$$$":
            if any(x.strip() for x in lines):
                blocks.append(_molblock(lines))
            lines = []
        else:
            lines.append(line)
    if any(x.strip() for x in lines):
        blocks.append(_molblock(lines))
    return blocks


def _molblock(lines: list[str]) -> str:
    for k, line in enumerate(lines):
        if line.startswith("M  END"):
            return "\n".join(lines[: k + 1])
    return "\n".join(lines)
