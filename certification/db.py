"""SQLAlchemy base, naming convention and engine set-up shared by every model.

Plain SQLAlchemy 2.x (no Flask-SQLAlchemy) so that the domain can be used and tested without
the web layer. The engine is created by :func:`make_engine`, which also applies the SQLite
settings the service relies on (foreign keys, WAL, a busy timeout, real transactions with
SAVEPOINTs that take the write lock at BEGIN), and :func:`retry_transient` runs a unit of work
again when another transaction was in the way.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, Uuid, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones: values are stored naive in UTC and given back aware, so the
    domain never compares naive with aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class ModelBase(DeclarativeBase):
    """Base of every table: naming convention for constraints (Alembic needs stable names)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        list[str]: JSON(),
    }


class UUIDPrimaryKey:
    """Mixin: a random UUID v4 primary key (domain.md §6: all ids are UUID v4)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


#: Execution option naming how a transaction begins on SQLite: "IMMEDIATE" (the default: the
#: write lock is taken at BEGIN, waiting up to the busy timeout, so a unit of work never fails
#: half-way when it first writes) or "DEFERRED" (a reader: a snapshot, no lock; if it writes
#: after all and another process wrote meanwhile, SQLite refuses and the unit of work is
#: retried). Ignored on PostgreSQL.
BEGIN_OPTION: Final = "attesta_begin"
#: Session/connection execution options of a unit of work that (most likely) only reads.
READER: Final = {BEGIN_OPTION: "DEFERRED"}
#: Connection execution options of a read of exactly one statement (the public check by code):
#: no BEGIN on SQLite, the statement is its own transaction and snapshot (saves the BEGIN and
#: the ROLLBACK, a tenth of that request's database time). Ignored on PostgreSQL.
ONE_STATEMENT: Final = {BEGIN_OPTION: "NONE"}
#: How long a SQLite connection waits for another's write lock before giving up.
DEFAULT_BUSY_TIMEOUT: Final = 10.0

#: SQLite's SQLITE_BUSY and SQLITE_LOCKED (primary codes; BUSY_SNAPSHOT etc. extend them).
_SQLITE_BUSY_CODES: Final = frozenset({5, 6})
#: PostgreSQL: serialization_failure, deadlock_detected (the transaction was rolled back).
_POSTGRES_RETRY_STATES: Final = frozenset({"40001", "40P01"})

T = TypeVar("T")


def make_engine(
    url: str, *, echo: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> Engine:
    """Create the engine for ``url`` with the settings Attesta needs on each backend
    (``busy_timeout``: seconds a SQLite connection waits for the write lock)."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):
            # No JIT: it pays off for long analytic queries, while ours are short ones whose
            # row estimates can cross jit_above_cost; then compiling took 100-200 ms where the
            # query ran in 2 (the staff's list of cases at 10^5 cases, issue 18).
            # Added to the URL's own ``options`` (e.g. the tests' search_path), which
            # connect_args would otherwise replace.
            options = make_url(url).query.get("options")
            given = options if isinstance(options, str) else " ".join(options or ())
            kwargs["connect_args"] = {"options": f"{given} -c jit=off".strip()}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    # pysqlite starts transactions lazily and breaks SAVEPOINTs; the SQLAlchemy recipe hands
    # transaction control to SQLAlchemy (docs: "Serializable isolation / Savepoints /
    # Transactional DDL"). Foreign keys are off by default in SQLite. WAL: readers never block
    # the writer nor wait for it.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads, then writes, fails at once ("database is locked")
        # when another connection wrote in between: the busy timeout does not help there. So
        # transactions take the write lock at BEGIN, except those that declare they only read.
        mode = connection.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        if mode == "DEFERRED":
            connection.exec_driver_sql("BEGIN DEFERRED")
        elif mode != "NONE":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means "another transaction was in the way, run the unit of work again":
    SQLite busy or locked, a PostgreSQL serialization failure or deadlock. The transaction did
    not commit, so running the whole unit of work again is safe."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:  # the error itself, or what it was raised from
        original = current.orig if isinstance(current, DBAPIError) else current
        code = getattr(original, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_BUSY_CODES:
            return True
        if getattr(original, "sqlstate", None) in _POSTGRES_RETRY_STATES:
            return True
        if type(original).__name__ == "OperationalError" and str(original).startswith(
            ("database is locked", "database table is locked", "database is busy")
        ):
            return True
        current, seen = current.__cause__, seen + 1
    return False


def retry_delays(attempts: int, base: float = 0.05, cap: float = 1.0) -> list[float]:
    """Jittered, growing pauses before each of ``attempts - 1`` retries (full jitter: retrying
    processes do not all come back at the same moment)."""
    return [random.uniform(0, min(cap, base * 2**n)) for n in range(attempts - 1)]  # noqa: S311


def retry_transient(
    unit: Callable[[], T],
    *,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    before_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Run ``unit`` (a whole unit of work: it opens its own session and commits) and run it
    again from the start when another transaction was in the way (:func:`is_transient`), up to
    ``attempts`` times; the last error is raised. ``before_retry`` cleans up in between."""
    delays = retry_delays(attempts)
    for attempt in range(attempts):
        try:
            return unit()
        except Exception as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            log.info("database busy, unit of work retried (%d/%d)", attempt + 1, attempts - 1)
            if before_retry is not None:
                before_retry(exc)
            sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
