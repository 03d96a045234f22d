"""The catalog store: one interface with small verbs per resource, SQLAlchemy behind it.

Every verb opens one transaction (:meth:`CatalogStore.session`), which commits or rolls back
as a whole; SQLAlchemy's ``IntegrityError`` becomes :class:`~hub.errors.AlreadyExists` and a
missing row :class:`~hub.errors.NotFound`.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from hub.auth.identity import Caller
from hub.auth.policy import check_visibility, visible_clause
from hub.catalog.refs import NAME_RE, Ref, parse_ref
from hub.catalog.rows import (
    AliasRow,
    GroupRow,
    MetricRow,
    ModelRow,
    TagRow,
    UserRow,
    VersionRow,
    utcnow,
)
from hub.catalog.summaries import ModelSummary, read_facets, read_stamp, read_summaries
from hub.entities import Alias, ModelInfo, Version, VersionCreate
from hub.errors import AlreadyExists, InvalidRequest, NotFound, Unavailable

_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def _set_wal(cur: Any) -> None:
    """WAL mode, retried: switching a new database's journal mode needs an exclusive lock, and
    SQLite answers "database is locked" at once (its busy handler is not called) while another
    process opening the same new catalog holds one."""
    deadline = time.monotonic() + 30
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05 + random.random() * 0.1)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":  # a new HUB_HOME: make its folder
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy's hook
            cur = dbapi_conn.cursor()
            for pragma in _SQLITE_PRAGMAS:
                cur.execute(pragma)
            _set_wal(cur)
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class CatalogStore:
    """Models, versions, aliases, tags and metrics in one SQL database."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            from hub.catalog.migrate import upgrade

            upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error, always close."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except sa_exc.IntegrityError as exc:
            s.rollback()
            raise AlreadyExists(f"already exists: {exc.orig}") from exc
        except sa_exc.OperationalError as exc:
            s.rollback()
            raise Unavailable(f"catalog database unavailable: {exc.orig}") from exc
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def ping(self) -> None:
        """Raise :class:`Unavailable` unless the database answers."""
        with self.session() as s:
            s.execute(select(1))

    # -- models ---------------------------------------------------------------------------
    def upsert_model(self, info: ModelInfo) -> ModelInfo:
        """Create the model, or update its description fields (versions are untouched)."""
        if not NAME_RE.match(info.name):
            raise InvalidRequest(f"invalid model name {info.name!r}: use lower-case 'domain.slug'")
        with self.session() as s:
            row = s.scalar(select(ModelRow).where(ModelRow.name == info.name))
            if row is None:
                row = ModelRow(name=info.name)
                s.add(row)
            for attr in (
                "domain",
                "task",
                "title",
                "description",
                "input_type",
                "owner",
                "visibility",
                "default_alias",
            ):
                setattr(row, attr, getattr(info, attr))
            row.outputs = [asdict(o) for o in info.outputs]
            row.updated_at = utcnow()
            wanted = set(info.tags)
            row.tags = [t for t in row.tags if t.tag in wanted] + [
                TagRow(tag=t) for t in sorted(wanted - {t.tag for t in row.tags})
            ]
            s.flush()
            return row.to_entity()

    def get_model(self, name: str, *, caller: Caller | None = None) -> ModelInfo:
        """The model ``name``; with ``caller``, a model they may not see is not found."""
        with self.session() as s:
            return self._model_row(s, name, caller=caller).to_entity()

    def set_visibility(
        self, name: str, visibility: str | None = None, *, owner: str | None = None
    ) -> ModelInfo:
        """Change a model's visibility (``public``, ``private``, ``group:<name>``) and/or its
        owner. Who may do it is the caller's business (:func:`hub.auth.policy.can_manage`)."""
        with self.session() as s:
            row = self._model_row(s, name)
            if visibility is not None:
                check_visibility(visibility)
                group = visibility.removeprefix("group:")
                if (
                    group != visibility
                    and s.scalar(select(GroupRow.id).where(GroupRow.name == group)) is None
                ):
                    raise NotFound(f"no group {group!r}", code="group_not_found")
                row.visibility = visibility
            if owner is not None:
                if (
                    owner != "hub"
                    and s.scalar(select(UserRow.id).where(UserRow.name == owner)) is None
                ):
                    raise NotFound(f"no user {owner[:80]!r}", code="user_not_found")
                row.owner = owner
            row.updated_at = utcnow()
            s.flush()
            return row.to_entity()

    def list_models(
        self,
        *,
        domain: str | None = None,
        task: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        include_private: bool = False,
        caller: Caller | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[ModelInfo], int]:
        """Models matching every given filter, by name; ``q`` searches name, title,
        description and tags (case-insensitive). Returns one page and the total count.
        With ``caller``, the models they may see (``include_private`` is then ignored)."""
        stmt = self._filtered(
            domain=domain, task=task, tag=tag, q=q, include_private=include_private, caller=caller
        )
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(ModelRow.name).limit(limit).offset(offset)).all()
            return [r.to_entity() for r in rows], total

    def list_model_summaries(
        self,
        *,
        domain: str | None = None,
        task: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        include_private: bool = False,
        caller: Caller | None = None,
        metric_names: Collection[str] | None = None,
    ) -> list[ModelSummary]:
        """Every model matching the filters (as :meth:`list_models`), by name, with its newest
        version's number, build time and metrics (with ``metric_names``: those, and the first
        metric). Four queries whatever the number of models."""
        stmt = self._filtered(
            domain=domain, task=task, tag=tag, q=q, include_private=include_private, caller=caller
        )
        with self.session() as s:
            return read_summaries(s.connection(), stmt, metric_names=metric_names)

    def catalog_stamp(self) -> tuple[object, ...]:
        """Changes whenever a model is added or updated (tags, visibility, ...) or a version is
        registered: what a cache of catalog pages checks before serving a copy."""
        with self.session() as s:
            return read_stamp(s.connection())

    def list_facets(
        self, *, include_private: bool = False, caller: Caller | None = None
    ) -> dict[str, list[str]]:
        """The domains, tasks and tags in use (of public models unless ``include_private``;
        with ``caller``, of the models they may see), each sorted: a catalog page's filters."""
        where = visible_clause(caller) if caller is not None else None
        with self.session() as s:
            return read_facets(s.connection(), include_private=include_private, where=where)

    # -- versions -------------------------------------------------------------------------
    def register_version(
        self, name: str, new: VersionCreate, *, aliases: Sequence[str] = ("latest",)
    ) -> Version:
        """Add the next version of ``name`` and point ``aliases`` at it, in one transaction.

        Artifacts must already be in the artifact store: the row is written only after them,
        so a version never points at a missing file.
        """
        tries = 20
        for attempt in range(tries):
            try:
                with self.session() as s:
                    # Lock the model row (PostgreSQL) so concurrent registrations take turns;
                    # SQLite serialises writers itself, and the retry covers the rest.
                    model = self._model_row(s, name, lock=True)
                    number = (
                        s.scalar(
                            select(func.max(VersionRow.version)).where(
                                VersionRow.model_id == model.id
                            )
                        )
                        or 0
                    ) + 1
                    row = VersionRow(
                        model=model,
                        version=number,
                        kind=new.kind,
                        spec=new.spec,
                        artifacts=new.artifacts,
                        recipe=new.recipe,
                        recipe_params=new.recipe_params,
                        fingerprint=new.fingerprint,
                        dataset=asdict(new.dataset) if new.dataset else None,
                        software=new.software,
                        description=new.description,
                        status="ready",
                        metrics=[
                            MetricRow(
                                name=m.name,
                                value=float(m.value),
                                split=m.split,
                                std=m.std,
                                n=m.n,
                                source=m.source,
                                n_samples=m.n_samples,
                            )
                            for m in new.metrics
                        ],
                    )
                    s.add(row)
                    s.flush()
                    for alias in aliases:
                        self._point_alias(s, model, alias, row)
                    model.updated_at = utcnow()
                    s.flush()
                    return row.to_entity()
            except AlreadyExists:
                if attempt == tries - 1:  # another writer took the number every time
                    raise
                # SQLite's reads take no write lock: writers that read the same next number
                # collide; a short random pause lets them take turns (PostgreSQL locks above)
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise AssertionError("unreachable")

    def get_version(self, name: str, version: int, *, caller: Caller | None = None) -> Version:
        with self.session() as s:
            return self._version_row(s, name, version, caller=caller).to_entity()

    def list_versions(self, name: str, *, caller: Caller | None = None) -> list[Version]:
        with self.session() as s:
            model = self._model_row(s, name, caller=caller)
            rows = s.scalars(
                select(VersionRow)
                .where(VersionRow.model_id == model.id)
                .order_by(VersionRow.version)
            ).all()
            return [r.to_entity() for r in rows]

    def find_by_fingerprint(self, name: str, fingerprint: str) -> Version | None:
        """The newest version of ``name`` built from the same recipe, parameters and data."""
        with self.session() as s:
            row = s.scalar(
                select(VersionRow)
                .join(ModelRow)
                .where(ModelRow.name == name, VersionRow.fingerprint == fingerprint)
                .order_by(VersionRow.version.desc())
                .limit(1)
            )
            return row.to_entity() if row else None

    def all_versions(self) -> list[Version]:
        with self.session() as s:
            return [r.to_entity() for r in s.scalars(select(VersionRow)).all()]

    # -- aliases --------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int) -> Alias:
        """Point ``alias`` (as a reference accepts it: up to 100 of ``A-Za-z0-9_.-``, not a
        number) at a version, creating it if needed. Idempotent under concurrency: a request
        that loses the race to create the alias updates the winner's row."""
        if alias.isdigit():
            raise InvalidRequest("an alias cannot be a number (it would read as a version)")
        try:
            valid = parse_ref(f"x@{alias}").alias == alias  # "$" would allow a final newline
        except InvalidRequest:
            valid = False
        if not valid:
            raise InvalidRequest(
                f"invalid alias {alias[:120]!r}: use 1 to 100 of A-Z a-z 0-9 _ . -",
                code="invalid_alias",
            )
        for attempt in range(3):
            try:
                with self.session() as s:
                    model = self._model_row(s, name)
                    row = self._version_row(s, name, version)
                    return self._point_alias(s, model, alias, row).to_entity()
            except AlreadyExists:  # another request created it between select and insert
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def delete_alias(self, name: str, alias: str) -> None:
        with self.session() as s:
            model = self._model_row(s, name)
            row = s.scalar(
                select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.alias == alias)
            )
            if row is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            s.delete(row)

    def list_aliases(self, name: str, *, caller: Caller | None = None) -> list[Alias]:
        with self.session() as s:
            model = self._model_row(s, name, caller=caller)
            rows = s.scalars(
                select(AliasRow).where(AliasRow.model_id == model.id).order_by(AliasRow.alias)
            ).all()
            return [r.to_entity() for r in rows]

    def resolve(self, ref: str | Ref, *, caller: Caller | None = None) -> Version:
        """The version a reference points at (``name``, ``name@alias``, ``name:3``); with
        ``caller``, a model they may not see is not found."""
        r = parse_ref(ref) if isinstance(ref, str) else ref
        with self.session() as s:
            model = self._model_row(s, r.name, caller=caller)
            if r.version is not None:
                return self._version_row(s, r.name, r.version).to_entity()
            alias = r.alias or model.default_alias
            row = s.scalar(
                select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.alias == alias)
            )
            if row is not None:
                return row.version.to_entity()
            if s.scalar(select(VersionRow.id).where(VersionRow.model_id == model.id).limit(1)):
                raise NotFound(f"model {r.name!r} has no alias {alias!r}", code="alias_not_found")
            raise NotFound(
                f"model {r.name!r} has no version yet: it is being built, or its build "
                f"stopped (`hub build {r.name}` builds it)",
                code="version_not_found",
            )

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _filtered(
        *,
        domain: str | None,
        task: str | None,
        tag: str | None,
        q: str | None,
        include_private: bool,
        caller: Caller | None = None,
    ) -> Select[tuple[ModelRow]]:
        """Models matching every given filter; ``q`` searches name, title, description and
        tags (case-insensitive). With ``caller``: the models they may see (in SQL)."""
        stmt = select(ModelRow)
        if domain:
            stmt = stmt.where(ModelRow.domain == domain)
        if task:
            stmt = stmt.where(ModelRow.task == task)
        if tag:
            stmt = stmt.where(ModelRow.tags.any(TagRow.tag == tag))
        if caller is not None:
            stmt = stmt.where(visible_clause(caller))
        elif not include_private:
            stmt = stmt.where(ModelRow.visibility == "public")
        if q:
            like = f"%{q.lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(ModelRow.name).like(like),
                    func.lower(ModelRow.title).like(like),
                    func.lower(ModelRow.description).like(like),
                    ModelRow.tags.any(func.lower(TagRow.tag).like(like)),
                )
            )
        return stmt

    @staticmethod
    def _model_row(
        s: Session, name: str, *, lock: bool = False, caller: Caller | None = None
    ) -> ModelRow:
        stmt = select(ModelRow).where(ModelRow.name == name)
        if caller is not None:  # unseen is unknown: the same error as a missing model
            stmt = stmt.where(visible_clause(caller))
        row = s.scalar(stmt.with_for_update() if lock else stmt)
        if row is None:
            raise NotFound(f"no model named {name[:200]!r}", code="model_not_found")
        return row

    @staticmethod
    def _version_row(
        s: Session, name: str, version: int, *, caller: Caller | None = None
    ) -> VersionRow:
        stmt = (
            select(VersionRow)
            .join(ModelRow)
            .where(ModelRow.name == name, VersionRow.version == version)
        )
        if caller is not None:
            stmt = stmt.where(visible_clause(caller))
        row = s.scalar(stmt)
        if row is None and caller is not None:  # a model they may not see: not found
            CatalogStore._model_row(s, name, caller=caller)
        if row is None:
            raise NotFound(f"model {name!r} has no version {version}", code="version_not_found")
        return row

    @staticmethod
    def _point_alias(s: Session, model: ModelRow, alias: str, version: VersionRow) -> AliasRow:
        row = s.scalar(
            select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.alias == alias)
        )
        if row is None:
            row = AliasRow(model=model, alias=alias, version=version)
            s.add(row)
        else:
            row.version = version
            row.updated_at = utcnow()
        s.flush()
        return row
