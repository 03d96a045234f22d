"""A user's CSV read into a :class:`~hub.plugins.TrainingTable`, with a report of every row
the hub left out or merged. Everything here runs before a job is queued (and again in the
job, on the stored file): a table the hub cannot train on is refused with a clear 422.

- The file: UTF-8 (a byte-order mark is ignored), comma-separated with a header row, at most
  ``max_bytes`` (413 ``payload_too_large`` above).
- Columns: the input column and the target must be in the header (422 ``missing_columns``
  naming the missing ones and the ones present).
- Rows are numbered as in a spreadsheet: the header is row 1, the first data row row 2. A row
  whose input the input type cannot read (``invalid_smiles``, ...) or whose target is not a
  finite number (regression) or a label (classification: 0/1, true/false, yes/no) is left out
  and reported with its number, input and error code.
- Duplicates (the same ``InputType.key``, for molecules the standardised canonical SMILES):
  regression averages their targets; classification takes the majority label, and drops a
  molecule whose labels tie. Each merge is reported with its rows and values.
- At least :data:`MIN_ROWS` usable rows, and a target that is not constant (classification:
  at least :data:`MIN_PER_CLASS` rows of each class), else 422 before any training.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hub.entities import OutputSpec
from hub.errors import HubError, InvalidRequest, PayloadTooLarge
from hub.plugins import InputType, TrainingTable
from hub.runtime.items import parse_item

MIN_ROWS = 50
MIN_PER_CLASS = 5
MAX_REPORTED = 200  # rows listed in a report's lists (all are counted)
TASKS = ("regression", "classification")
TRUE = frozenset({"1", "1.0", "true", "yes", "y", "t"})
FALSE = frozenset({"0", "0.0", "false", "no", "n", "f"})


@dataclass
class DataReport:
    """What the hub did with the file's rows: counts, and the rows left out or merged (the
    first :data:`MAX_REPORTED` of each list)."""

    rows: int = 0  # data rows in the file
    usable: int = 0  # distinct inputs trained on
    invalid: list[dict[str, Any]] = field(default_factory=list)
    invalid_count: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    duplicate_count: int = 0  # inputs that stood in more than one row
    dropped_conflicts: int = 0  # classification: inputs with tied labels, left out

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "usable": self.usable,
            "invalid_count": self.invalid_count,
            "invalid": self.invalid,
            "duplicate_count": self.duplicate_count,
            "duplicates": self.duplicates,
            "dropped_conflicts": self.dropped_conflicts,
        }

    def left_out(self, row: int, raw: str, code: str, message: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_REPORTED:
            self.invalid.append({"row": row, "input": raw[:200], "code": code, "message": message})


def check_task(task: str) -> str:
    if task not in TASKS:
        raise InvalidRequest(
            f"task must be one of {', '.join(TASKS)}, not {str(task)[:40]!r}", code="invalid_task"
        )
    return task


def read_rows(
    data: bytes, columns: Sequence[str], max_bytes: int
) -> tuple[list[tuple[int, list[str]]], int]:
    """The values of ``columns`` in each data row as (row number, values), and the count of
    data rows. 413 over ``max_bytes``; 422 for a file that is not UTF-8 CSV or lacks one of
    ``columns``."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"the training file is {len(data)} bytes, over the limit of {max_bytes} bytes",
            limit=max_bytes,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"the training file is not UTF-8 text (byte {exc.start})", code="invalid_csv"
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            shown = ", ".join(repr(h[:60]) for h in header[:50]) or "none"
            raise InvalidRequest(
                f"the training file has no column {', '.join(map(repr, missing))}; "
                f"its columns: {shown}",
                code="missing_columns",
                missing=missing,
                columns=header[:50],
            )
        where = [header.index(c) for c in columns]
        out, count = [], 0
        for record in reader:
            if not any(v.strip() for v in record):
                continue  # a blank line
            count += 1
            out.append((reader.line_num, [record[i] if i < len(record) else "" for i in where]))
    except csv.Error as exc:
        raise InvalidRequest(
            f"the training file is not valid CSV (line {reader.line_num}): {exc}",
            code="invalid_csv",
        ) from exc
    return out, count


def _target(raw: str, task: str) -> float:
    """The row's target as a float (0.0/1.0 for a label); ValueError when it is none."""
    text = raw.strip()
    if task == "classification":
        low = text.lower()
        if low in TRUE:
            return 1.0
        if low in FALSE:
            return 0.0
        raise ValueError(f"{text[:40]!r} is not a label (0/1, true/false, yes/no)")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]!r} is not a finite number")
    return value


def build_table(
    data: bytes,
    input_type: InputType,
    *,
    smiles_column: str,
    target: str,
    unit: str,
    task: str,
    name: str,
    sha256: str,
    max_bytes: int,
    max_chars: int = 20_000,
) -> tuple[TrainingTable, DataReport]:
    """Read, check and deduplicate a training file (see the module docstring)."""
    check_task(task)
    rows, count = read_rows(data, [smiles_column, target], max_bytes)
    report = DataReport(rows=count)
    by_key: dict[str, dict[str, Any]] = {}
    for line, (raw, raw_y) in rows:
        try:
            obj = parse_item(input_type.parse, raw.strip(), max_chars)
        except HubError as exc:
            report.left_out(line, raw, exc.code, exc.message)
            continue
        except Exception as exc:  # noqa: BLE001 - a parser's own failure: this row only
            report.left_out(line, raw, "invalid_input", f"{type(exc).__name__}: {exc}"[:300])
            continue
        try:
            value = _target(raw_y, task)
        except ValueError as exc:
            code = "invalid_label" if task == "classification" else "invalid_target"
            report.left_out(line, raw, code, f"{target}: {exc}")
            continue
        key = input_type.key(obj) if input_type.key is not None else f"row {line}"
        entry = by_key.setdefault(key, {"obj": obj, "raw": raw, "rows": [], "values": []})
        entry["rows"].append(line)
        entry["values"].append(value)
    inputs, raws, ys = _merge(by_key, task, report)
    report.usable = len(ys)
    y = np.array(ys, np.float32)
    _check_usable(y, task, target, report)
    output = (
        OutputSpec(target, "probability", f"probability that {target} is 1 (true)")
        if task == "classification"
        else OutputSpec(target, unit, f"{target}, learned from {name}")
    )
    table = TrainingTable(
        inputs=inputs, raw=raws, y=y, task=task, output=output, name=name, sha256=sha256,
        rows=count,
    )  # fmt: skip
    return table, report


def _merge(
    by_key: dict[str, dict[str, Any]], task: str, report: DataReport
) -> tuple[list[Any], list[str], list[float]]:
    """One row per input: the mean target (regression) or the majority label (a tie is
    dropped); every merge reported."""
    inputs, raws, ys = [], [], []
    for key, entry in by_key.items():
        values = entry["values"]
        merged: float | None
        if len(values) == 1:
            merged = values[0]
        elif task == "classification":
            ones = sum(values)
            merged = None if 2 * ones == len(values) else float(2 * ones > len(values))
        else:
            merged = float(np.mean(values))
        if len(values) > 1:
            report.duplicate_count += 1
            report.dropped_conflicts += merged is None
            if len(report.duplicates) < MAX_REPORTED:
                report.duplicates.append(
                    {
                        "key": key[:200],
                        "rows": entry["rows"][:20],
                        "values": values[:20],
                        "merged": merged,
                        "action": _action(values, merged, task),
                    }
                )
        if merged is not None:
            inputs.append(entry["obj"])
            raws.append(entry["raw"])
            ys.append(merged)
    return inputs, raws, ys


def _action(values: list[float], merged: float | None, task: str) -> str:
    if len(set(values)) == 1:
        return "same value: kept once"
    if task == "regression":
        return "conflicting values: averaged"
    return "tied labels: dropped" if merged is None else "conflicting labels: majority kept"


def _check_usable(y: np.ndarray, task: str, target: str, report: DataReport) -> None:
    left = f"{report.invalid_count} invalid row(s) left out, {report.duplicate_count} merged"
    if len(y) < MIN_ROWS:
        raise InvalidRequest(
            f"only {len(y)} usable rows of {report.rows} ({left}); training needs at least "
            f"{MIN_ROWS}",
            code="too_few_rows",
            usable=len(y),
            minimum=MIN_ROWS,
            report=report.to_dict(),
        )
    if task == "classification":
        ones = int(y.sum())
        fewest = min(ones, len(y) - ones)
        if fewest < MIN_PER_CLASS:
            raise InvalidRequest(
                f"the target {target!r} has {ones} rows of class 1 and {len(y) - ones} of "
                f"class 0; a classifier needs at least {MIN_PER_CLASS} of each",
                code="constant_target",
            )
    elif float(y.max()) == float(y.min()):
        raise InvalidRequest(
            f"the target {target!r} is constant ({float(y[0]):g} in every usable row): "
            "nothing to learn",
            code="constant_target",
        )
