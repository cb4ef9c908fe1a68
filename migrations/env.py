"""Alembic environment: Attesta's metadata, and the connection ``flask db`` hands over."""

from __future__ import annotations

from alembic import context

import certification.models  # noqa: F401 - registers every table on the metadata
from certification.db import ModelBase, make_engine

config = context.config
target_metadata = ModelBase.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds a table by copy, drop and rename; checked at commit, the foreign
        # keys pointing at it hold again by then.
        connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds tables when needed.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
