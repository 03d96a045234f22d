"""What a screen runs on the Dask workers, phase by phase; each task is idempotent.

1. :func:`prepare` (one task): stream the input file from the artifact store and cut it into
   Parquet chunks of ``chunk_size`` rows (``row``, ``input``): phase ``in``.
2. :func:`keys` (one per input chunk): parse each input with its input type and take its key
   (the standardised SMILES for ``smiles``), or the error code of an input that cannot be
   read: phase ``keys``.
3. :func:`dedupe` (one task): the distinct keys, each with the first input that gave it, cut
   into chunks of ``chunk_size``: phase ``uniq``.
4. :func:`score` (one per distinct chunk): every model on the chunk, through the worker's warm
   predictor (each model loaded once per worker process), each input parsed once for all the
   models (:mod:`hub.screening.scoring`): phase ``scores``.
5. :func:`assemble` (one task): one row per input, in input order, written as one Parquet
   file: phase ``result``.

Every chunk's file is stored by content (sha256) and recorded once in ``screen_chunks``
(:meth:`~hub.catalog.screens.ScreenStore.chunk_done`, first writer wins); a task whose chunk is
already recorded returns at once. Tasks check for cancellation every :data:`BATCH` items.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from hub.catalog.screens import Screen, ScreenStore
from hub.config import Settings
from hub.screening.scoring import BATCH, score_models

RESERVED = ("row", "input", "error", "error_message")


class ScreenCancelled(Exception):
    """The screen was cancelled: the task stops."""


def _pa() -> tuple[Any, Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    return pa, pc, pq


def to_parquet(table: Any) -> bytes:
    pa, _, pq = _pa()
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def from_parquet(data: bytes) -> Any:
    pa, _, pq = _pa()
    return pq.read_table(pa.BufferReader(data))


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"pid-{os.getpid()}"


class _Ctx:
    """A task's view of its screen: the runtime of this worker, the store, the screen row."""

    def __init__(self, settings: Settings, screen_id: str) -> None:
        from hub.engine import worker_runtime

        self.runtime = worker_runtime(settings)
        self.store = ScreenStore(self.runtime.store)
        self.screen: Screen = self.store.get(screen_id)
        self.id = screen_id

    def check(self) -> None:
        if self.store.cancel_requested(self.id):
            raise ScreenCancelled(f"screen {self.id} was cancelled")

    def done(self, phase: str, k: int) -> tuple[str, int] | None:
        return self.store.chunk(self.id, phase, k)

    def record(self, phase: str, k: int, table_or_bytes: Any, rows: int) -> tuple[str, int]:
        data = table_or_bytes if isinstance(table_or_bytes, bytes) else to_parquet(table_or_bytes)
        sha = self.runtime.artifacts.put_bytes(data)
        self.store.chunk_done(self.id, phase, k, sha, rows, _worker_name())
        return self.store.chunk(self.id, phase, k) or (sha, rows)

    def table(self, phase: str, k: int) -> Any:
        hit = self.done(phase, k)
        if hit is None:
            raise RuntimeError(f"screen {self.id}: chunk {phase}/{k} is missing")
        return from_parquet(self.runtime.artifacts.read(hit[0]))


def key_column(screen: Screen) -> str:
    """The name of the results' key column: the input type's name (``smiles``)."""
    return screen.input_type if screen.input_type not in RESERVED else "key"


def model_columns(screen: Screen) -> list[tuple[dict[str, Any], str, list[str]]]:
    """(model entry, column prefix, value columns) per model: the prefix is the model's name
    (``name:version`` when one model appears twice); one value column ``<prefix>.value``, or
    one per output ``<prefix>.<output>`` for a model with several outputs."""
    names = [m["model"] for m in screen.models]
    out = []
    for m in screen.models:
        prefix = m["model"] if names.count(m["model"]) == 1 else f"{m['model']}:{m['version']}"
        outputs = m.get("outputs") or ["value"]
        values = [f"{prefix}.value"] if len(outputs) == 1 else [f"{prefix}.{o}" for o in outputs]
        out.append((m, prefix, values))
    return out


# -- 1. prepare -------------------------------------------------------------------------------
def prepare(settings: Settings, screen_id: str) -> tuple[int, int]:
    """Cut the input file into chunks; returns (rows, chunks)."""
    from hub.screening.formats import iter_rows

    pa, _, _ = _pa()
    ctx = _Ctx(settings, screen_id)
    hit = ctx.done("plan", 0)
    if hit is not None:
        return hit[1], -(-hit[1] // ctx.screen.chunk_size)
    size = ctx.screen.chunk_size
    rows, k, batch = 0, 0, []

    def flush() -> None:
        nonlocal k, batch
        if ctx.done("in", k) is None:
            start = rows - len(batch)
            table = pa.table(
                {"row": pa.array(range(start, rows), pa.int64()), "input": pa.array(batch)}
            )
            ctx.record("in", k, table, len(batch))
        k, batch = k + 1, []
        ctx.check()

    with _stream(ctx.runtime.artifacts, ctx.screen.input_sha256) as stream:
        for raw in iter_rows(stream, ctx.screen.input_format, ctx.screen.input_column):
            batch.append(raw)
            rows += 1
            if len(batch) >= size:
                flush()
    if batch:
        flush()
    if rows == 0:
        from hub.errors import InvalidRequest

        raise InvalidRequest("the input file holds no inputs", code="empty_file")
    ctx.record("plan", 0, f"rows={rows}".encode(), rows)
    return rows, k


class _Verified(io.RawIOBase):
    """A verified stream of an artifact: the sha256 is checked as the bytes go by (the last
    read raises ``IntegrityError`` if the file does not match)."""

    def __init__(self, artifacts: Any, sha: str) -> None:
        super().__init__()
        self.chunks = artifacts.iter_chunks(sha)
        self.buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.buf:
            nxt = next(self.chunks, None)
            if nxt is None:
                return 0
            self.buf = nxt
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n

    def close(self) -> None:
        self.chunks.close()
        super().close()


def _stream(artifacts: Any, sha: str) -> io.BufferedReader:
    return io.BufferedReader(_Verified(artifacts, sha), buffer_size=1 << 20)


# -- 2. keys ----------------------------------------------------------------------------------
KEY_CACHE = 200_000  # inputs whose key a worker remembers (a library repeats strings)
_key_caches: dict[tuple[str, int], dict[str, tuple[str | None, str | None, str | None]]] = {}


def _key_cache(input_type: str, max_chars: int) -> dict:
    """This worker's cache of raw input -> (key, error code, message): an input string seen
    before (in any chunk, any screen) is not parsed again. Emptied when full."""
    cache = _key_caches.setdefault((input_type, max_chars), {})
    if len(cache) > KEY_CACHE:
        cache.clear()
    return cache


def _key_of(itype: Any, raw: str, max_chars: int) -> tuple[str | None, str | None, str | None]:
    from hub.runtime.items import error_item, parse_item

    try:
        return str(itype.key(parse_item(itype.parse, raw, max_chars))), None, None
    except Exception as exc:  # noqa: BLE001 - each input reports its own failure
        err = error_item(exc)["error"]
        return None, str(err.get("code", "invalid_input")), str(err.get("message", ""))[:300]


def keys(settings: Settings, screen_id: str, k: int) -> int:
    """Parse input chunk ``k``: its key per row, or the input's error; returns rows."""
    pa, _, _ = _pa()
    ctx = _Ctx(settings, screen_id)
    hit = ctx.done("keys", k)
    if hit is not None:
        return hit[1]
    table = ctx.table("in", k)
    itype = ctx.runtime.plugins.input_type(ctx.screen.input_type)
    max_chars = ctx.runtime.settings.max_input_chars
    out_key: list[str | None] = []
    codes: list[str | None] = []
    messages: list[str | None] = []
    seen = _key_cache(itype.name, max_chars)
    for i, raw in enumerate(table.column("input").to_pylist()):
        if i % BATCH == 0:
            ctx.check()
        text = raw or ""
        hit = seen.get(text)
        if hit is None:
            hit = seen[text] = _key_of(itype, text, max_chars)
        out_key.append(hit[0])
        codes.append(hit[1])
        messages.append(hit[2])
    result = pa.table(
        {
            "row": table.column("row"),
            "input": table.column("input"),
            "key": pa.array(out_key, pa.string()),
            "error": pa.array(codes, pa.string()),
            "error_message": pa.array(messages, pa.string()),
        }
    )
    return ctx.record("keys", k, result, len(out_key))[1]


# -- 3. dedupe --------------------------------------------------------------------------------
def dedupe(settings: Settings, screen_id: str, n_in: int) -> tuple[int, int]:
    """The distinct keys of the whole screen, cut into chunks; returns (distinct, chunks)."""
    pa, pc, _ = _pa()
    ctx = _Ctx(settings, screen_id)
    hit = ctx.done("dedupe", 0)
    if hit is not None:
        return hit[1], -(-hit[1] // ctx.screen.chunk_size)
    parts = []
    for k in range(n_in):
        t = ctx.table("keys", k).select(["row", "key", "input"])
        parts.append(t.filter(pc.is_valid(t.column("key"))))
    table = pa.concat_tables(parts) if parts else pa.table({"row": [], "key": [], "input": []})
    first = table.group_by("key", use_threads=False).aggregate([("row", "min")])
    firsts = pc.is_in(table.column("row"), value_set=first.column("row_min"))
    uniq = table.filter(firsts).sort_by("row").select(["key", "input"])
    size = ctx.screen.chunk_size
    n = uniq.num_rows
    for j in range(-(-n // size)):
        if ctx.done("uniq", j) is None:
            part = uniq.slice(j * size, size)
            ctx.record("uniq", j, part, part.num_rows)
    ctx.record("dedupe", 0, f"unique={n}".encode(), n)
    return n, -(-n // size)


# -- 4. score ---------------------------------------------------------------------------------
def _value_cells(out: dict[str, Any], values: list[str]) -> list[float | None]:
    v = out.get("value")
    if isinstance(v, dict):
        return [_num(v.get(c.rsplit(".", 1)[1])) for c in values]
    return [_num(v)] + [None] * (len(values) - 1)


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def score(settings: Settings, screen_id: str, j: int) -> int:
    """Every model of the screen on distinct chunk ``j`` (each input parsed once for all the
    models that take parsed inputs: :mod:`hub.screening.scoring`); returns rows."""
    pa, _, _ = _pa()
    ctx = _Ctx(settings, screen_id)
    hit = ctx.done("scores", j)
    if hit is not None:
        return hit[1]
    table = ctx.table("uniq", j)
    inputs = table.column("input").to_pylist()
    columns: dict[str, Any] = {"key": table.column("key")}
    entries = model_columns(ctx.screen)
    outputs = score_models(
        ctx.runtime, [m for m, _, _ in entries], ctx.screen.input_type, inputs, ctx.check
    )
    for (_, prefix, values), outs in zip(entries, outputs, strict=True):
        cells: list[list[float | None]] = [[] for _ in values]
        unc: list[float | None] = []
        dom: list[bool | None] = []
        codes: list[str | None] = []
        for out in outs:
            for c, x in zip(cells, _value_cells(out, values), strict=True):
                c.append(x)
            unc.append(_num(out.get("uncertainty")))
            d = out.get("in_domain")
            dom.append(bool(d) if isinstance(d, bool) else None)
            e = out.get("error")
            codes.append(str(e.get("code", "error")) if isinstance(e, dict) else None)
        for name, c in zip(values, cells, strict=True):
            columns[name] = pa.array(c, pa.float64())
        columns[f"{prefix}.uncertainty"] = pa.array(unc, pa.float64())
        columns[f"{prefix}.in_domain"] = pa.array(dom, pa.bool_())
        columns[f"{prefix}.error"] = pa.array(codes, pa.string())
    return ctx.record("scores", j, pa.table(columns), table.num_rows)[1]


# -- 5. assemble ------------------------------------------------------------------------------
def result_schema(screen: Screen) -> list[str]:
    """The columns of a screen's results, in order."""
    cols = ["row", "input", key_column(screen), "error", "error_message"]
    for _, prefix, values in model_columns(screen):
        cols += [*values, f"{prefix}.uncertainty", f"{prefix}.in_domain", f"{prefix}.error"]
    return cols


def _joined(ctx: _Ctx, scores: Any, n_in: int) -> Iterator[Any]:
    _, pc, _ = _pa()
    error_cols = [f"{p}.error" for _, p, _ in model_columns(ctx.screen)]
    for k in range(n_in):
        ctx.check()
        part = ctx.table("keys", k)
        joined = part.join(scores, keys="key", join_type="left outer", use_threads=False)
        joined = joined.sort_by("row")
        for name in error_cols:  # an input that could not be read fails for every model
            i = joined.schema.get_field_index(name)
            filled = pc.coalesce(joined.column(name), joined.column("error"))
            joined = joined.set_column(i, name, filled)
        yield joined.rename_columns(
            [key_column(ctx.screen) if c == "key" else c for c in joined.column_names]
        )


def assemble(settings: Settings, screen_id: str, n_in: int, n_uniq: int) -> str:
    """One row per input, in input order, as one Parquet file; returns its sha256."""
    pa, _, pq = _pa()
    ctx = _Ctx(settings, screen_id)
    hit = ctx.done("result", 0)
    if hit is not None:
        return hit[0]
    parts = [ctx.table("scores", j) for j in range(n_uniq)]
    scores = pa.concat_tables(parts) if parts else None
    columns = result_schema(ctx.screen)
    fd, tmp = tempfile.mkstemp(prefix="hub-screen-", suffix=".parquet")
    os.close(fd)
    rows = 0
    try:
        writer = None
        for joined in _joined(ctx, scores if scores is not None else _empty(ctx), n_in):
            table = joined.select(columns)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
            rows += table.num_rows
        if writer is not None:
            writer.close()
        sha = ctx.runtime.artifacts.put_file(tmp)
    finally:
        os.unlink(tmp)
    ctx.store.chunk_done(screen_id, "result", 0, sha, rows, _worker_name())
    return (ctx.done("result", 0) or (sha, rows))[0]


def _empty(ctx: _Ctx) -> Any:
    """A scores table with no rows (no input could be read)."""
    pa, _, _ = _pa()
    cols: dict[str, Any] = {"key": pa.array([], pa.string())}
    for _, prefix, values in model_columns(ctx.screen):
        for v in values:
            cols[v] = pa.array([], pa.float64())
        cols[f"{prefix}.uncertainty"] = pa.array([], pa.float64())
        cols[f"{prefix}.in_domain"] = pa.array([], pa.bool_())
        cols[f"{prefix}.error"] = pa.array([], pa.string())
    return pa.table(cols)
