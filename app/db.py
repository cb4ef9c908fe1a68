"""One engine per app, one SQLAlchemy session per request; the request commits once.

After a request, the session commits if the response is a success or a redirect, and rolls
back otherwise (an error page, a refused form), so a failed request writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import Flask, Response, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from certification.chains import SIGNER, AuditSigner
from certification.db import make_engine


class Database:
    """The engine and session factory of one app (tests may rebind the factory)."""

    def __init__(self, url: str, passphrase: str | None = None) -> None:
        self.engine: Engine = make_engine(url)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(
            bind=self.engine, expire_on_commit=False
        )
        #: Signs the audit chains' heads at each commit (certification.chains).
        self.audit_signer = AuditSigner(passphrase.encode()) if passphrase else None

    def session(self) -> Session:
        """A new session that signs the history it appends to."""
        session = self.sessionmaker()
        if self.audit_signer is not None:
            session.info[SIGNER] = self.audit_signer
        return session


def init_app(app: Flask) -> None:
    passphrase = app.config.get("KEY_PASSPHRASE")
    app.extensions["attesta.db"] = Database(
        app.config["DATABASE_URL"], str(passphrase) if passphrase else None
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


def db_session() -> Session:
    """The session of the current request (or CLI command), created on first use."""
    if "db_session" not in g:
        g.db_session = database().session()
    return cast(Session, g.db_session)
