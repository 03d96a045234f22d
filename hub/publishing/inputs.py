"""Inputs a publisher sends beside the model, turned into domain objects and features through
the plugin registry only (the hub knows no domain): the evaluation set's inputs and the
training inputs that set the applicability domain. A bad input is skipped and reported with
its row and code, never a failure of the whole upload; too few usable ones are a 422."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hub.errors import HubError, InvalidRequest
from hub.plugins import InputType
from hub.runtime.items import parse_item

MAX_TRAINING_INPUTS = 200_000
MAX_REPORTED = 50  # bad rows listed in a report (all are counted)


@dataclass
class Parsed:
    """Inputs that parsed (and featurized, when asked), with the rows left out."""

    objs: list[Any] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # 1-based row of each kept input
    x: np.ndarray | None = None  # float32 (n, width), when featurized
    skipped: list[dict[str, Any]] = field(default_factory=list)
    skipped_count: int = 0

    def report(self) -> dict[str, Any]:
        return {"usable": len(self.objs), "skipped": self.skipped_count, "rows": self.skipped}


def parse_inputs(
    raws: Sequence[Any],
    rows: Sequence[int],
    input_type: InputType,
    *,
    max_chars: int,
    featurize: Callable[[Any], np.ndarray] | None = None,
    width: int | None = None,
) -> Parsed:
    """Parse each raw input (and featurize it, expecting ``width`` features); skip the bad."""
    out = Parsed()
    vectors = []
    for raw, row in zip(raws, rows, strict=True):
        try:
            obj = parse_item(input_type.parse, raw, max_chars)
            if featurize is not None:
                vec = np.asarray(featurize(obj), dtype=np.float32).reshape(-1)
                if width is not None and vec.shape[0] != width:
                    raise InvalidRequest(
                        f"the featurizer gave {vec.shape[0]} features for row {row}, "
                        f"{width} for the input type's example",
                        code="invalid_featurizer",
                    )
                vectors.append(vec)
        except InvalidRequest:
            raise
        except HubError as exc:  # ItemError and kin: this input only
            out.skipped_count += 1
            if len(out.skipped) < MAX_REPORTED:
                out.skipped.append(
                    {"row": row, "input": str(raw)[:80], "code": exc.code, "message": exc.message}
                )
            continue
        out.objs.append(obj)
        out.rows.append(row)
    if featurize is not None:
        out.x = (
            np.stack(vectors).astype(np.float32, copy=False)
            if vectors
            else np.zeros((0, width or 0), np.float32)
        )
    return out


def read_lines(data: bytes, *, what: str = "training_inputs") -> tuple[list[str], list[int]]:
    """One input a line (a ``.smi`` file: text after the first space or tab is a name and
    is ignored; blank lines and lines starting with ``#`` are skipped)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{what}: not UTF-8 text ({exc})", code=f"invalid_{what}") from exc
    raws, rows = [], []
    for i, line in enumerate(text.splitlines(), start=1):
        token = line.strip().split(maxsplit=1)
        if not token or token[0].startswith("#"):
            continue
        if len(raws) >= MAX_TRAINING_INPUTS:
            raise InvalidRequest(
                f"{what}: over {MAX_TRAINING_INPUTS} inputs",
                code=f"invalid_{what}",
                limit=MAX_TRAINING_INPUTS,
            )
        raws.append(token[0])
        rows.append(i)
    return raws, rows
