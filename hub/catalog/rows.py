"""ORM rows of the catalog (SQLAlchemy 2). Rows never leave a session: ``to_entity()`` first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hub.entities import Alias, DatasetInfo, Job, Metric, ModelInfo, OutputSpec, Version


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(ts: datetime | None) -> datetime | None:
    """SQLite drops the time zone: every timestamp stored is UTC, so say so on the way out."""
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


class Base(DeclarativeBase):
    pass


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    domain: Mapped[str] = mapped_column(String(100), index=True)
    task: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    input_type: Mapped[str] = mapped_column(String(100))
    outputs: Mapped[list] = mapped_column(JSON, default=list)
    owner: Mapped[str] = mapped_column(String(200), default="hub")
    # "public", "group:<name>" or "private" (see hub.auth.policy)
    visibility: Mapped[str] = mapped_column(String(20), default="public", index=True)
    default_alias: Mapped[str] = mapped_column(String(100), default="latest")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tags: Mapped[list[TagRow]] = relationship(
        back_populates="model", cascade="all, delete-orphan", lazy="selectin"
    )

    def to_entity(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            domain=self.domain,
            task=self.task,
            title=self.title,
            description=self.description,
            input_type=self.input_type,
            outputs=tuple(OutputSpec(**o) for o in self.outputs or ()),
            tags=tuple(sorted(t.tag for t in self.tags)),
            owner=self.owner,
            visibility=self.visibility,
            default_alias=self.default_alias,
            created_at=as_utc(self.created_at),
            updated_at=as_utc(self.updated_at),
        )


class TagRow(Base):
    __tablename__ = "model_tags"
    __table_args__ = (UniqueConstraint("model_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(100), index=True)
    model: Mapped[ModelRow] = relationship(back_populates="tags")


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(100))
    spec: Mapped[dict] = mapped_column(JSON, default=dict)
    artifacts: Mapped[dict] = mapped_column(JSON, default=dict)
    recipe: Mapped[str] = mapped_column(String(200), default="")
    recipe_params: Mapped[dict] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64), default="", index=True)
    dataset: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    software: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="ready")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    model: Mapped[ModelRow] = relationship()
    metrics: Mapped[list[MetricRow]] = relationship(
        back_populates="version",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="MetricRow.id",
    )

    def to_entity(self) -> Version:
        return Version(
            model=self.model.name,
            version=self.version,
            kind=self.kind,
            spec=dict(self.spec),
            artifacts=dict(self.artifacts or {}),
            recipe=self.recipe,
            recipe_params=dict(self.recipe_params or {}),
            fingerprint=self.fingerprint,
            dataset=DatasetInfo(**self.dataset) if self.dataset else None,
            software=dict(self.software or {}),
            metrics=tuple(m.to_entity() for m in self.metrics),
            status=self.status,
            created_at=as_utc(self.created_at),
            description=self.description,
        )


class MetricRow(Base):
    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    split: Mapped[str] = mapped_column(String(100), default="test")
    value: Mapped[float] = mapped_column(Float)
    std: Mapped[float | None] = mapped_column(Float, nullable=True)
    n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "hub" (measured by the hub) or "publisher" (declared by the publisher); see Metric
    source: Mapped[str] = mapped_column(String(20), default="hub", server_default="hub")
    n_samples: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[VersionRow] = relationship(back_populates="metrics")

    def to_entity(self) -> Metric:
        return Metric(
            name=self.name,
            value=self.value,
            split=self.split,
            std=self.std,
            n=self.n,
            source=self.source or "hub",
            n_samples=self.n_samples,
        )


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    model: Mapped[ModelRow] = relationship()
    version: Mapped[VersionRow] = relationship()

    def to_entity(self) -> Alias:
        return Alias(model=self.model.name, alias=self.alias, version=self.version.version)


class TrackedWork:
    """The columns of long work run under a lease (jobs, screens): progress, outcome, the
    cancel request and the four timestamps. Mixed into a row class; the holder's column
    (``worker``, ``driver``) is the row's own."""

    step: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    result_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRow(TrackedWork, Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    input: Mapped[Any] = mapped_column(JSON)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # the submitter's user name (None: anonymous, or a job from before identities existed)
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)

    def to_entity(self) -> Job:
        return Job(
            id=self.id,
            model=self.model,
            version=self.version,
            task=self.task,
            state=self.state,
            params=dict(self.params or {}),
            step=self.step,
            total=self.total,
            message=self.message,
            error=self.error,
            result_sha256=self.result_sha256,
            worker=self.worker,
            cancel_requested=self.cancel_requested,
            created_at=as_utc(self.created_at),
            started_at=as_utc(self.started_at),
            finished_at=as_utc(self.finished_at),
            owner=self.owner,
        )


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupRow(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupMemberRow(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ApiKeyRow(Base):
    """An API key: ``id`` is its public prefix, ``key_hash`` the sha256 of the whole token
    (the token itself is shown once, at creation, and stored nowhere)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[UserRow] = relationship()
