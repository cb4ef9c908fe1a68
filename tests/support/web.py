"""Using the app as a browser would: forms with their CSRF token, logging in with the second
factor, a test client that reads each response whole."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import sessionmaker


class Client(FlaskClient):
    """Reads each response whole and closes it, as a WSGI server does once it has sent it
    (downloads stream from open files, which must not outlive the request)."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
        return super().open(*args, buffered=buffered, **kwargs)


def app_settings(database_url: str, instance_path: Path) -> dict[str, Any]:
    """The settings of a test app: testing, no rate limits, mail to the outbox."""
    return {
        "ENV": "testing",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret-key-" + "k" * 32,
        "RATELIMIT_ENABLED": False,
        "DEV_OUTBOX": True,
        "BASE_URL": "http://localhost",
    }


def app_on(connection: Connection | None, settings: dict[str, Any]) -> Flask:
    """An app with ``settings`` whose sessions work in SAVEPOINTs on ``connection`` (a test's
    or a module's transaction; None: the app's own engine)."""
    from app import create_app

    application = create_app(settings)
    application.test_client_class = Client
    if connection is not None:
        application.extensions["attesta.db"].sessionmaker = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
    return application


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
    tests/certification/people/test_second_factor.py).
    """
    from app.db import db_session
    from certification.people import second_factor as SF
    from certification.people.accounts import find_account

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
