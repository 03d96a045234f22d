"""Alembic owns the schema: :func:`upgrade` brings any catalog database to the newest revision."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key of the catalog's migrations (any constant, the same everywhere)
PG_LOCK_KEY = 0x6875625F6D6967  # "hub_mig"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on a file beside a SQLite catalog, held while migrating: SQLite's own
    locks do not cover Alembic's read-the-version-then-create-tables sequence."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    # the path is the catalog's own (from the settings), never from a request
    with open(f"{database}-migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _lock_in_transaction(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # released when the migration's transaction ends
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply pending migrations (a no-op, one query, when the database is up to date).

    Processes opening a new catalog at once (a server, its build, job workers) take turns:
    the first migrates, the others then find the schema current."""
    if revision == "head" and current_revision(engine) == head_revision(engine):
        return
    cfg = alembic_config(engine)
    with _sqlite_file_lock(engine), engine.begin() as conn:
        _lock_in_transaction(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
