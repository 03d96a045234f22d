"""Reading a screen's results without holding them in memory: the Parquet file as stored, the
same as CSV (row group by row group), a preview, and the partial results of a running screen
(the distinct inputs scored so far)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from hub.catalog.screens import Screen, ScreenStore
from hub.errors import Conflict
from hub.screening.tasks import from_parquet, key_column

CSV_BATCH = 20_000


def _csv_bytes(table: Any, *, header: bool) -> bytes:
    import pyarrow.csv as pacsv

    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header))
    return sink.getvalue()


def parquet_chunks(artifacts: Any, screen: Screen) -> Iterator[bytes]:
    """The result file's bytes, verified (sha256) before the first byte goes out."""
    if screen.result_sha256 is None:
        raise Conflict(
            f"screen {screen.id} is {screen.state}: its results are not ready",
            code="screen_not_finished",
        )
    with artifacts.open_verified(screen.result_sha256) as fh:
        yield from iter(lambda: fh.read(1 << 20), b"")


def csv_chunks(artifacts: Any, screen: Screen) -> Iterator[bytes]:
    """The results as CSV, one Parquet batch at a time."""
    import pyarrow.parquet as pq

    if screen.result_sha256 is None:
        raise Conflict(
            f"screen {screen.id} is {screen.state}: its results are not ready",
            code="screen_not_finished",
        )
    with artifacts.open_verified(screen.result_sha256) as fh:
        first = True
        for batch in pq.ParquetFile(fh).iter_batches(batch_size=CSV_BATCH):
            import pyarrow as pa

            yield _csv_bytes(pa.Table.from_batches([batch]), header=first)
            first = False


def partial_tables(artifacts: Any, store: ScreenStore, screen: Screen) -> Iterator[Any]:
    """The distinct inputs scored so far, chunk by chunk (key column named as in the
    results)."""
    done = store.chunks(screen.id, "scores")
    for j in sorted(done):
        table = from_parquet(artifacts.read(done[j][0]))
        yield table.rename_columns(
            [key_column(screen) if c == "key" else c for c in table.column_names]
        )


def partial_csv(artifacts: Any, store: ScreenStore, screen: Screen) -> Iterator[bytes]:
    first = True
    for table in partial_tables(artifacts, store, screen):
        yield _csv_bytes(table, header=first)
        first = False


def preview(artifacts: Any, store: ScreenStore, screen: Screen, n: int = 10) -> list[dict]:
    """Up to ``n`` scored rows: of the results when finished, else of the partial results."""
    import pyarrow.parquet as pq

    if screen.result_sha256 is not None:
        with artifacts.open_verified(screen.result_sha256) as fh:
            for batch in pq.ParquetFile(fh).iter_batches(batch_size=n):
                return batch.to_pylist()[:n]
        return []
    for table in partial_tables(artifacts, store, screen):
        return table.slice(0, n).to_pylist()
    return []


def scored(store: ScreenStore, screen: Screen) -> int:
    """How many distinct inputs have been scored so far."""
    return sum(rows for _, rows in store.chunks(screen.id, "scores").values())
