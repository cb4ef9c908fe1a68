"""The SQLite settings every connection gets, how transactions begin, and the retry of a unit of
work when the database is busy."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from certification.db import ONE_STATEMENT, READER, is_transient, make_engine, retry_transient


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """A SQLite file database (not :memory:, which has no WAL) with one table."""
    path = tmp_path / "busy.sqlite3"
    engine = make_engine(f"sqlite:///{path}", busy_timeout=7)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, path
    engine.dispose()


def _other_writer(path: Path) -> sqlite3.Connection:
    """Another process's connection, as sqlite3 gives it: no waiting for locks."""
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def test_every_connection_is_in_wal_mode_with_the_busy_timeout(
    sqlite_file: tuple[Engine, Path],
) -> None:
    engine, _path = sqlite_file
    reader = engine.execution_options(**READER)  # two at once: a writer would wait for the other
    with reader.connect() as first, reader.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_unit_of_work_takes_the_write_lock_when_it_begins(
    sqlite_file: tuple[Engine, Path],
) -> None:
    """BEGIN IMMEDIATE: even before it writes, no one else can start writing, so it never
    finds the database locked when it first writes after reading."""
    engine, path = sqlite_file
    other = _other_writer(path)
    with Session(engine) as session:
        session.execute(text("SELECT count(*) FROM t"))  # a read, in the writer's transaction
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
        session.execute(text("INSERT INTO t VALUES (1)"))
        session.commit()
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.execute("ROLLBACK")
    other.close()


def test_a_reader_takes_no_lock_and_sees_a_snapshot(sqlite_file: tuple[Engine, Path]) -> None:
    engine, path = sqlite_file
    other = _other_writer(path)
    with Session(engine, execution_options=READER) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
        other.execute("INSERT INTO t VALUES (1)")  # another process writes meanwhile
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
        # Turning writer on a stale snapshot is refused at once: that is what a retry is for.
        with pytest.raises(OperationalError) as refused:
            session.execute(text("INSERT INTO t VALUES (2)"))
        assert is_transient(refused.value)
    other.close()


def test_a_one_statement_read_opens_no_transaction(sqlite_file: tuple[Engine, Path]) -> None:
    """The public check's one statement runs on its own (autocommit): no BEGIN, no snapshot
    held, nothing to roll back, and it sees what was committed before it."""
    engine, path = sqlite_file
    other = _other_writer(path)
    with engine.connect().execution_options(**ONE_STATEMENT) as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
        assert not connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
        other.execute("INSERT INTO t VALUES (1)")
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
    other.close()


def _locked() -> OperationalError:
    return OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_locked(), True),
        (OperationalError("x", {}, sqlite3.OperationalError("database table is locked")), True),
        (OperationalError("x", {}, _PgError("40001")), True),  # serialization failure
        (OperationalError("x", {}, _PgError("40P01")), True),  # deadlock
        (OperationalError("x", {}, sqlite3.OperationalError("no such table: t")), False),
        (OperationalError("x", {}, _PgError("57P01")), False),  # admin shutdown: not ours
        (IntegrityError("x", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (ValueError("database is locked"), False),
    ],
)
def test_which_errors_mean_run_it_again(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_an_error_raised_from_a_busy_database_is_transient() -> None:
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = _locked()
    assert is_transient(wrapped)


def test_a_busy_unit_of_work_runs_again_from_the_start() -> None:
    calls: list[int] = []
    cleaned: list[Any] = []
    pauses: list[float] = []

    def unit() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _locked()
        return "done"

    assert retry_transient(unit, sleep=pauses.append, before_retry=cleaned.append) == "done"
    assert len(calls) == 3 and len(cleaned) == 2 and len(pauses) == 2
    assert all(0 <= p <= 1 for p in pauses)


def test_retries_stop_at_the_limit_and_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def busy() -> None:
        calls.append(1)
        raise _locked()

    with pytest.raises(OperationalError):
        retry_transient(busy, attempts=4, sleep=lambda _s: None)
    assert len(calls) == 4

    calls.clear()

    def broken() -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        retry_transient(broken, sleep=lambda _s: None)
    assert len(calls) == 1


def test_on_postgresql_the_tests_run_in_their_own_schema_without_jit(engine: Engine) -> None:
    """The URL's options (the suite's search_path, one schema per run and xdist worker) and
    make_engine's own (no JIT) both reach the server: the tests never share ``public``."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (ATTESTA_TEST_DATABASE_URL)")
    with engine.connect() as conn:
        assert conn.execute(text("SHOW search_path")).scalar_one().startswith("attesta_test_")
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
        tables = conn.execute(
            text(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'certification_cases'"
            )
        ).scalars()
        assert conn.execute(text("SELECT current_schema()")).scalar_one() in set(tables)
