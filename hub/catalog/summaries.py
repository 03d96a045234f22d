"""Whole-catalog reads for index pages: every model with its newest version's number, build
time and metrics, in a fixed number of queries of plain rows (no ORM objects, no query per
model); the facets a page filters by; a stamp that changes with the catalog.

:class:`~hub.catalog.store.CatalogStore` calls these inside its session; they take a
connection and a select of :class:`~hub.catalog.rows.ModelRow` already filtered.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select
from sqlalchemy.sql import Select

from hub.catalog.rows import MetricRow, ModelRow, TagRow, VersionRow, as_utc
from hub.entities import Metric, ModelInfo, OutputSpec

_MODEL_COLUMNS = (
    "id",
    "name",
    "domain",
    "task",
    "title",
    "description",
    "input_type",
    "outputs",
    "owner",
    "visibility",
    "default_alias",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class ModelSummary:
    """A model with what a catalog index shows of its newest version: the number, when it
    was built and its metrics (no spec, no artifacts)."""

    model: ModelInfo
    latest_version: int | None = None
    built_at: datetime | None = None
    metrics: tuple[Metric, ...] = ()


def read_summaries(
    conn: Connection, models: Select, *, metric_names: Collection[str] | None = None
) -> list[ModelSummary]:
    """Summaries of the models ``models`` selects, by name. Four queries: models, their
    tags, their newest versions, those versions' metrics. With ``metric_names``, only the
    metrics of those names are read, plus each version's first metric (what an index needs
    to pick a headline figure, at a fraction of the rows)."""
    model_ids = models.with_only_columns(ModelRow.id)
    newest = (
        select(VersionRow.model_id, func.max(VersionRow.version).label("version"))
        .where(VersionRow.model_id.in_(model_ids))
        .group_by(VersionRow.model_id)
        .subquery()
    )
    latest = select(
        VersionRow.id, VersionRow.model_id, VersionRow.version, VersionRow.created_at
    ).join(
        newest,
        and_(VersionRow.model_id == newest.c.model_id, VersionRow.version == newest.c.version),
    )
    rows = conn.execute(
        models.with_only_columns(*(getattr(ModelRow, c) for c in _MODEL_COLUMNS)).order_by(
            ModelRow.name
        )
    ).all()
    tags: dict[int, list[str]] = {}
    for model_id, tag in conn.execute(
        select(TagRow.model_id, TagRow.tag)
        .where(TagRow.model_id.in_(model_ids))
        .order_by(TagRow.tag)
    ).all():
        tags.setdefault(model_id, []).append(tag)
    versions = {row.model_id: row for row in conn.execute(latest).all()}
    latest_ids = latest.with_only_columns(VersionRow.id)
    wanted = select(
        MetricRow.version_id,
        MetricRow.name,
        MetricRow.value,
        MetricRow.split,
        MetricRow.std,
        MetricRow.n,
        MetricRow.source,
        MetricRow.n_samples,
    ).where(MetricRow.version_id.in_(latest_ids))
    if metric_names is not None:
        first = (
            select(func.min(MetricRow.id))
            .where(MetricRow.version_id.in_(latest_ids))
            .group_by(MetricRow.version_id)
        )
        wanted = wanted.where(or_(MetricRow.name.in_(list(metric_names)), MetricRow.id.in_(first)))
    metrics: dict[int, list[Metric]] = {}
    for vid, name, value, split, std, n, source, n_samples in conn.execute(
        wanted.order_by(MetricRow.id)
    ).all():
        metrics.setdefault(vid, []).append(
            Metric(name, value, split, std, n, source=source or "hub", n_samples=n_samples)
        )
    out = []
    for row in rows:
        fields = dict(zip(_MODEL_COLUMNS, row, strict=True))
        model_id = fields.pop("id")
        info = ModelInfo(
            **fields
            | {
                "outputs": tuple(OutputSpec(**o) for o in fields["outputs"] or ()),
                "tags": tuple(tags.get(model_id, ())),
                "created_at": as_utc(fields["created_at"]),
                "updated_at": as_utc(fields["updated_at"]),
            }
        )
        v = versions.get(model_id)
        if v is None:
            out.append(ModelSummary(info))
        else:
            found = tuple(metrics.get(v.id, ()))
            out.append(ModelSummary(info, v.version, as_utc(v.created_at), found))
    return out


def read_facets(
    conn: Connection, *, include_private: bool, where: ColumnElement[bool] | None = None
) -> dict[str, list[str]]:
    """The domains, tasks and tags in use (of public models unless ``include_private``;
    with ``where``, of the models that condition on :class:`ModelRow` selects)."""
    visible = select(ModelRow.id)
    if where is not None:
        visible = visible.where(where)
    elif not include_private:
        visible = visible.where(ModelRow.visibility == "public")
    columns = {
        "domain": (ModelRow.domain, ModelRow.id),
        "task": (ModelRow.task, ModelRow.id),
        "tag": (TagRow.tag, TagRow.model_id),
    }
    return {
        key: list(
            conn.execute(select(col).where(owner.in_(visible)).distinct().order_by(col)).scalars()
        )
        for key, (col, owner) in columns.items()
    }


def read_stamp(conn: Connection) -> tuple[object, ...]:
    """(number of models, latest model update, newest version id): changes whenever a model
    is added or updated or a version registered."""
    row = conn.execute(
        select(
            func.count(ModelRow.id),
            func.max(ModelRow.updated_at),
            select(func.max(VersionRow.id)).scalar_subquery(),
        )
    ).one()
    return tuple(row)
