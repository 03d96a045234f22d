"""ORM rows of the audit trail and of per-user quotas (tables made by migration 0004).

``audit_log`` is append-only: rows are numbered without gaps (``id`` 1, 2, 3...) and each
carries the sha256 of the previous row (``prev_sha256``) and its own (``sha256``, over every
field and ``prev_sha256``); ``audit_head`` holds the last id and hash, so that deleting the
newest rows is seen too (:mod:`hub.auth.audit`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.catalog.rows import Base

# an integer primary key that SQLite still treats as its rowid
AUDIT_ID = BigInteger().with_variant(Integer, "sqlite")
GENESIS_SHA256 = "0" * 64


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(AUDIT_ID, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str | None] = mapped_column(String(100), index=True)  # "user" is reserved
    key_id: Mapped[str | None] = mapped_column(String(32))  # the key's public prefix only
    action: Mapped[str] = mapped_column(String(100), index=True)
    model: Mapped[str | None] = mapped_column(String(200), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(200))  # alias, job id, key id...
    n_inputs: Mapped[int] = mapped_column(Integer)
    inputs_sha256: Mapped[str | None] = mapped_column(String(64))
    cost: Mapped[int] = mapped_column(BigInteger)  # quota units charged (hub.auth.quotas)
    status: Mapped[int] = mapped_column(Integer)  # HTTP status of the answer
    error: Mapped[str | None] = mapped_column(String(100))  # error code when status >= 400
    duration_us: Mapped[int] = mapped_column(BigInteger)  # microseconds, request to response
    address: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(100))
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """One row (``id`` 1): the newest audit row's id and sha256, moved in the same transaction."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(AUDIT_ID)
    last_sha256: Mapped[str] = mapped_column(String(64))


class UserQuotaRow(Base):
    """Per-user overrides of the default limits (None: the default; 0: unlimited)."""

    __tablename__ = "user_quotas"

    user: Mapped[str] = mapped_column(String(100), primary_key=True)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    items_per_day: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
