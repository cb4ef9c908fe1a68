"""One engine per app, one SQLAlchemy session per request; the request commits once.

After a request, the session commits if the response is a success or a redirect, and rolls
back otherwise (an error page, a refused form), so a failed request writes nothing.

A request is one unit of work. On SQLite a request that may write (POST and the other unsafe
methods) takes the write lock when its transaction begins (``BEGIN IMMEDIATE``, waiting up to
the busy timeout); a GET reads a snapshot without any lock (views that only read whatever the
method say so with :func:`reads_only`). When the database was busy all the same (the lock was
not had in time, a reader turned writer after another process wrote, a PostgreSQL
serialization failure), :class:`RetryingFlask` runs the whole request again, before a byte of
the response is sent, with a fresh session that takes the write lock at once; when the tries
run out the answer is a 503 with ``Retry-After`` in the user's language, never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import Any, Final, TypeVar, cast

from flask import Flask, Response, current_app, g, has_request_context, request
from flask import session as cookie_session
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import busy_response
from app.routing import LazyBuildRule
from certification.audit.chains import SIGNER, AuditSigner
from certification.db import (
    ONE_STATEMENT,
    READER,
    is_transient,
    make_engine,
    retry_delays,
    retry_transient,
)

log = logging.getLogger(__name__)

#: Methods whose requests read (a snapshot, no write lock) unless they turn out to write.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
#: Seconds a client is told to wait when the database stayed busy through every try.
RETRY_AFTER_SECONDS: Final = 2

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class Database:
    """The engine and session factory of one app (tests may rebind the factory)."""

    def __init__(
        self, url: str, passphrase: str | None = None, *, busy_timeout: float = 5.0
    ) -> None:
        self.engine: Engine = make_engine(url, busy_timeout=busy_timeout)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(
            bind=self.engine, expire_on_commit=False
        )
        #: Signs the audit chains' heads at each commit (certification.audit.chains).
        self.audit_signer = AuditSigner(passphrase.encode()) if passphrase else None

    def session(self, **options: Any) -> Session:
        """A new session that signs the history it appends to (``options`` as for the
        sessionmaker: a reader's execution options)."""
        session = self.sessionmaker(**options)
        if self.audit_signer is not None:
            session.info[SIGNER] = self.audit_signer
        return session


class RetryingFlask(Flask):
    """Flask whose request dispatch (before-request hooks, view, error handlers, the commit)
    runs again from the start when the database was busy (:func:`is_transient`); its URL rules
    compile their builders when first used (:mod:`app.routing`)."""

    url_rule_class = LazyBuildRule

    def full_dispatch_request(self) -> Response:
        attempts = max(1, int(self.config.get("DB_ATTEMPTS", 3)))
        delays = retry_delays(attempts, base=0.05, cap=0.5)
        keep = set(g)
        cookie = dict(cookie_session)
        modified = cookie_session.modified
        for attempt in range(attempts):
            try:
                return super().full_dispatch_request()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning(
                    "database busy on %s %s (try %d of %d)",
                    request.method,
                    request.path,
                    attempt + 1,
                    attempts,
                )
            _start_again(keep, cookie, modified)
            if attempt < attempts - 1:
                time.sleep(delays[attempt])
        return self.finalize_request(busy_response(RETRY_AFTER_SECONDS), from_error_handler=True)

    def handle_user_exception(self, e: Exception) -> Any:
        # A busy database is not the view's error to render: out to full_dispatch_request,
        # which runs the request again.
        if is_transient(e):
            raise e
        return super().handle_user_exception(e)


def _start_again(keep: set[str], cookie: dict[str, Any], modified: bool) -> None:
    """Undo what a failed try of the request left: its session (rolled back), what it put
    on ``g`` (the logged-in account of that session, callbacks after its commit), changes to
    the cookie session (flashed messages, a login), the read position of uploaded files."""
    discard_session()
    for name in [name for name in g if name not in keep]:
        g.pop(name, None)
    g.db_writer = True  # this time the write lock is taken at BEGIN
    cookie_session.clear()
    cookie_session.update(cookie)
    cookie_session.modified = modified
    files = request.__dict__.get("files")  # parsed by the failed try: read again from the start
    for _name, upload in files.items(multi=True) if files is not None else ():
        with suppress(AttributeError, OSError, ValueError):  # not seekable: read as it is
            upload.stream.seek(0)


def discard_session() -> None:
    """Roll back and forget the current session (the next :func:`db_session` is a new one)."""
    stale = g.pop("db_session", None)
    g.pop("after_commit", None)
    if stale is not None:
        try:
            stale.rollback()
        except SQLAlchemyError:  # the connection is unusable: closing it is all there is to do
            log.warning("rolling back a discarded session failed", exc_info=True)
        finally:
            stale.close()


def reads_only(view: F) -> F:
    """Mark a view that only reads, whatever its method (a file checked against the register):
    its transaction takes no write lock. Should it write after all, a busy database makes the
    request run again as a writer."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.setdefault("db_reader", True)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def committed_once(name: str, work: Callable[[], T]) -> T:
    """Run ``work``, which commits in transactions of its own (issuance), once per request:
    should a busy database make the request run again, the earlier try's result is given back
    instead of doing the work twice."""
    done = request.environ.setdefault("attesta.committed_once", {})
    if name not in done:
        done[name] = work()
    return cast(T, done[name])


def unit_of_work(unit: Callable[[], T], app: Flask | None = None) -> T:
    """Run ``unit`` (a command's step that uses :func:`db_session` and commits) again from the
    start, with a new session, when the database was busy."""
    attempts = max(1, int((app or current_app).config.get("DB_ATTEMPTS", 3)) + 2)
    return retry_transient(unit, attempts=attempts, before_retry=lambda _exc: discard_session())


def init_app(app: Flask) -> None:
    passphrase = app.config.get("KEY_PASSPHRASE")
    app.extensions["attesta.db"] = Database(
        app.config["DATABASE_URL"],
        str(passphrase) if passphrase else None,
        busy_timeout=float(app.config.get("SQLITE_BUSY_TIMEOUT", 5)),
    )

    @app.after_request
    def _commit_or_rollback(response: Response) -> Response:
        session = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                    for callback in g.pop("after_commit", []):
                        callback()
                else:
                    session.rollback()
            finally:
                session.close()
        return response

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once this request's transaction has committed (never on rollback)."""
    callbacks = g.setdefault("after_commit", [])
    if callback not in callbacks:
        callbacks.append(callback)


def database(app: Flask | None = None) -> Database:
    return cast(Database, (app or current_app).extensions["attesta.db"])


@contextmanager
def reading_connection(*, one_statement: bool = False) -> Iterator[Connection]:
    """A connection for a few plain reads beside (not in) the request's session: the public
    check by code needs no session (issue 22). ``one_statement``: the caller runs exactly one
    statement, which needs no transaction of its own (:data:`certification.db.ONE_STATEMENT`).
    Tests bind the sessions to their own transaction's connection: that one then, so the reads
    see what the test wrote."""
    bind = database().sessionmaker.kw.get("bind")
    if isinstance(bind, Connection):
        yield bind
        return
    options = ONE_STATEMENT if one_statement else READER
    with database().engine.connect().execution_options(**options) as connection:
        yield connection


def db_session() -> Session:
    """The session of the current request (or CLI command), created on first use."""
    if "db_session" not in g:
        reader = (
            has_request_context()
            and not g.get("db_writer")
            and (request.method in SAFE_METHODS or g.get("db_reader"))
        )
        make = database().session
        g.db_session = make(execution_options=READER) if reader else make()
    return cast(Session, g.db_session)
