"""A screen's chunk bookkeeping: one ``screen_chunks`` row per finished chunk.

Chunks are idempotent: each finished chunk is one row keyed by (screen, phase, k) with the
sha256 of its result file in the artifact store; the first writer wins
(:meth:`ScreenChunks.chunk_done`), so a chunk re-run after a crash finds its row and is not
computed or written again.
"""

from __future__ import annotations

from sqlalchemy import select

from hub.catalog.screen_rows import ScreenChunkRow, ScreenRow
from hub.catalog.store import CatalogStore
from hub.errors import AlreadyExists


class ScreenChunks:
    """The chunk verbs of :class:`hub.catalog.screens.ScreenStore` (over ``catalog``)."""

    catalog: CatalogStore

    def chunk_done(
        self, screen_id: str, phase: str, k: int, sha256: str, rows: int, worker: str = ""
    ) -> bool:
        """Record chunk ``k`` of ``phase`` as done (``rows``: its rows; ``worker``: who wrote
        it); False when it already was (the first result stays: a chunk is written once)."""
        try:
            with self.catalog.session() as s:
                s.add(
                    ScreenChunkRow(
                        screen_id=screen_id,
                        phase=phase,
                        k=int(k),
                        sha256=sha256,
                        rows=int(rows),
                        worker=worker[:200],
                    )
                )
            return True
        except AlreadyExists:
            return False

    def chunk(self, screen_id: str, phase: str, k: int) -> tuple[str, int] | None:
        """(sha256, rows) of a finished chunk, else None."""
        with self.catalog.session() as s:
            row = s.get(ScreenChunkRow, (screen_id, phase, int(k)))
            return (row.sha256, row.rows) if row is not None else None

    def chunks(self, screen_id: str, phase: str) -> dict[int, tuple[str, int]]:
        """Every finished chunk of ``phase``: k -> (sha256, rows)."""
        with self.catalog.session() as s:
            rows = s.execute(
                select(ScreenChunkRow.k, ScreenChunkRow.sha256, ScreenChunkRow.rows).where(
                    ScreenChunkRow.screen_id == screen_id, ScreenChunkRow.phase == phase
                )
            ).all()
        return {k: (sha, n) for k, sha, n in rows}

    def shas(self) -> set[str]:
        """Every sha256 screens refer to (inputs, chunks, results): kept by the sweep."""
        with self.catalog.session() as s:
            out = set(s.scalars(select(ScreenChunkRow.sha256)).all())
            for a, b in s.execute(select(ScreenRow.input_sha256, ScreenRow.result_sha256)).all():
                out |= {x for x in (a, b) if x}
        return out
