"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when ``ATTESTA_TEST_DATABASE_URL`` is
set (each run in a schema of its own, dropped at the end). Every test gets a connection inside
an outer transaction; sessions — the test's and the app's — work in SAVEPOINTs on it, so commits
inside the app are real to the code but vanish when the test ends.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pyotp
import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.cli import alembic_config
from app.db import database
from certification.db import make_engine
from certification.standards import import_rubric
from rubrics import bundled_rubric_files, load_rubric_file

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network; only the test database (loopback) is allowed."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in {"127.0.0.1", "::1", "localhost"}
            and not (self.family == socket.AF_UNIX)
        ):
            raise RuntimeError(f"network access in a test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _test_database_url(tmp_root: Path) -> tuple[str, str | None]:
    url = os.environ.get("ATTESTA_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_root / 'attesta-test.sqlite3'}", None
    schema = f"attesta_test_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, schema = _test_database_url(tmp_path_factory.mktemp("db"))
    admin: Engine | None = None
    if schema:
        admin = make_engine(url.split("?options=")[0].split("&options=")[0])
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url
    finally:
        if admin is not None and schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated test database, with the bundled rubrics already published."""
    eng = make_engine(database_url)
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "x" * 32})
    with eng.begin() as connection:
        cfg = alembic_config(app)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    database(app).engine.dispose()
    with Session(eng) as session:
        for path in bundled_rubric_files():
            import_rubric(session, None, load_rubric_file(path), NOW)
        session.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """A session for the test itself; its commits are SAVEPOINT releases."""
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()


@pytest.fixture
def app_config(tmp_path: Path, database_url: str) -> dict[str, Any]:
    return {
        "ENV": "testing",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key-" + "k" * 32,
        "RATELIMIT_ENABLED": False,
        "DEV_OUTBOX": True,
        "BASE_URL": "http://localhost",
    }


class Client(FlaskClient):
    """Reads each response whole and closes it, as a WSGI server does once it has sent it
    (downloads stream from open files, which must not outlive the request)."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app_factory(
    app_config: dict[str, Any], connection: Connection
) -> Iterator[Callable[..., Flask]]:
    """Build apps with extra settings, bound to the test's transaction (unless ``bind=False``)."""
    made: list[Flask] = []

    def factory(bind: bool = True, **overrides: Any) -> Flask:
        application = create_app({**app_config, **overrides})
        application.test_client_class = Client
        if bind:
            application.extensions["attesta.db"].sessionmaker = sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        made.append(application)
        return application

    yield factory
    for application in made:
        database(application).engine.dispose()


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- helpers ----------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form like a browser would."""
    html = client.get(page).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], page: str | None = None, **kwargs: Any
) -> Any:
    """POST a form with a valid CSRF token, as submitted from ``page`` (default: ``url``)."""
    token = csrf_token(client, page or url)
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def login(client: FlaskClient, email: str, password: str) -> Any:
    """Log in like a person: the password, then the second factor when the account has one
    (a code of its app) or its role requires one (enrolling the app from the setup page)."""
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    step = urlsplit(response.location).path
    if step == "/login/second-factor":
        response = post_form(client, step, {"code": totp_code(client.application, email)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    elif step == "/login/second-factor/setup":
        response = enrol_totp(client, step)
        assert "recovery-codes" in response.get_data(as_text=True), "no recovery codes shown"
    return response


SECRET_RE = re.compile(r"<code[^>]*data-secret[^>]*>([A-Z2-7 ]+)</code>")


def enrol_totp(client: FlaskClient, page: str) -> Any:
    """Add an authenticator app from its setup page: read the key shown, type its code."""
    html = client.get(page).get_data(as_text=True)
    match = SECRET_RE.search(html)
    assert match, f"no TOTP key on {page}"
    code = pyotp.TOTP(match.group(1).replace(" ", "")).now()
    return post_form(client, page, {"code": code})


def totp_code(app: Flask, email: str) -> str:
    """A current code of the account's authenticator app, from the secret the app keeps.

    Tests log one account in many times within 30 seconds, and a code is accepted once: a
    person would wait for the app's next code; this helper stands in for that wait by
    forgetting the step last used (the replay guard itself is tested in
    tests/certification/test_second_factor.py).
    """
    from app.db import db_session
    from certification import second_factor as SF
    from certification.accounts import find_account

    with app.app_context():
        session = db_session()
        account = find_account(session, email)
        assert account is not None, email
        totp = SF.totp_of(session, account)
        assert totp is not None, f"{email} has no authenticator app"
        secret = SF.stored_secret(session, account, SF.encryption_key(app.config["SECRET_KEY"]))
        assert secret is not None
        step = int(time.time()) // SF.STEP_SECONDS
        if totp.last_used_step is not None and totp.last_used_step >= step:
            totp.last_used_step = step - 1
            session.commit()
        return pyotp.TOTP(secret).at(step * SF.STEP_SECONDS)


@pytest.fixture(scope="session")
def renderer() -> Any:
    """One document renderer for the run (fonts and CSS load once, as in the app)."""
    from certification.rendering import DocumentRenderer

    root = Path(__file__).resolve().parent.parent
    return DocumentRenderer(
        root / "templates" / "documents", root / "static", root / "app" / "translations"
    )


@pytest.fixture
def storage(tmp_path: Path) -> Any:
    from certification.storage import FileSystemStorage

    return FileSystemStorage(tmp_path / "blobs")


def require_tool(name: str) -> str:
    """The path of an external checker (pdftotext, pdfsig); skip without it, except in CI."""
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true" or os.environ.get("ATTESTA_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is missing in CI (scripts/system-deps.sh installs it)")
        pytest.skip(f"{name} not installed (apt-get install poppler-utils)")
    return path


def redis_url() -> str:
    """The local Redis for queue tests (ATTESTA_TEST_REDIS_URL); skip without one, except in
    CI, whose machines have one on 127.0.0.1:6379."""

    url = os.environ.get("ATTESTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2).close()
    except OSError:
        if os.environ.get("CI") == "true" or os.environ.get("ATTESTA_REQUIRE_TOOLS") == "1":
            pytest.fail(f"no Redis answers at {url} in CI")
        pytest.skip(f"no Redis at {url}")
    return url


# --- an in-process S3 (moto): no network --------------------------------------------------

BUCKET = "attesta-files"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 client of an in-process S3 with an empty bucket (no network)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-south-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-south-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-south-1"}
        )
        yield client
