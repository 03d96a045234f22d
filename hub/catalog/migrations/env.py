"""Alembic environment: the metadata comes from the ORM rows, the connection from the caller
(:func:`hub.catalog.migrate.upgrade`) or, on the command line, from ``sqlalchemy.url``."""

from alembic import context
from sqlalchemy import create_engine

from hub.catalog.rows import Base

config = context.config
target_metadata = Base.metadata


def _migrate(connection) -> None:  # noqa: ANN001 - a SQLAlchemy connection
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _migrate(conn)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        _migrate(connection)


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
