"""Transactions that tests roll back: a test's (or a module's) outer transaction on a connection
of its own, and a SAVEPOINT inside one."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session


def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction of its own, rolled back at the end."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


def savepoint(connection: Connection) -> Iterator[Connection]:
    """``connection`` inside a SAVEPOINT, rolled back at the end."""
    nested = connection.begin_nested()
    yield connection
    if nested.is_active:
        nested.rollback()


def session_on(connection: Connection) -> Session:
    """A session whose commits are SAVEPOINT releases on ``connection``'s transaction."""
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
