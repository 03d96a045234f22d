"""The catalog's screen tables: ``screens`` (one row per screen) and ``screen_chunks`` (one
row per finished chunk), and :class:`Screen`, a screen as the catalog has it.

The verbs over them are :class:`hub.catalog.screens.ScreenStore`'s (lifecycle and lease) and
:class:`hub.catalog.screen_chunks.ScreenChunks`' (chunk bookkeeping).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.catalog.rows import Base, TrackedWork, as_utc, utcnow
from hub.entities import FINAL_STATES


class ScreenRow(TrackedWork, Base):
    __tablename__ = "screens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    # [{"ref": "chemistry.solubility", "model": "chemistry.solubility", "version": 1}, ...]
    models: Mapped[list] = mapped_column(JSON)
    input_sha256: Mapped[str] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(String(200), default="")
    input_format: Mapped[str] = mapped_column(String(10))
    input_column: Mapped[str] = mapped_column(String(100), default="smiles")
    input_type: Mapped[str] = mapped_column(String(100))
    chunk_size: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)  # inputs (rows of the result)
    unique: Mapped[int] = mapped_column(Integer, default=0)  # distinct keys scored
    phase: Mapped[str] = mapped_column(String(20), default="")
    driver: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ScreenChunkRow(Base):
    __tablename__ = "screen_chunks"

    screen_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phase: Mapped[str] = mapped_column(String(20), primary_key=True)
    k: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Screen:
    """A screen as the catalog has it (see :class:`ScreenRow` for the fields)."""

    id: str
    owner: str | None
    state: str
    models: list[dict[str, Any]]
    input_sha256: str
    input_name: str
    input_format: str
    input_column: str
    input_type: str
    chunk_size: int
    rows: int
    unique: int
    phase: str
    step: int
    total: int
    message: str
    error: dict[str, Any] | None
    result_sha256: str | None
    driver: str | None
    cancel_requested: bool
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("created_at", "started_at", "finished_at", "updated_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        return out


def screen_entity(row: ScreenRow) -> Screen:
    """The :class:`Screen` of a row (call it inside the row's session)."""
    return Screen(
        id=row.id,
        owner=row.owner,
        state=row.state,
        models=list(row.models or []),
        input_sha256=row.input_sha256,
        input_name=row.input_name,
        input_format=row.input_format,
        input_column=row.input_column,
        input_type=row.input_type,
        chunk_size=row.chunk_size,
        rows=row.rows,
        unique=row.unique,
        phase=row.phase,
        step=row.step,
        total=row.total,
        message=row.message,
        error=row.error,
        result_sha256=row.result_sha256,
        driver=row.driver,
        cancel_requested=row.cancel_requested,
        created_at=as_utc(row.created_at),
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        updated_at=as_utc(row.updated_at),
    )
