"""Passkeys (WebAuthn) on the web: adding, listing and removing them, logging in with one after
the password, the step-up, and the refusals (wrong challenge or origin, a replayed answer, a
counter that goes back, another person's passkey). The authenticator is a software one
(tests/support/webauthn_authenticator.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certification.clock import utcnow
from certification.models import ApiToken, AuditEvent, PasskeyCredential, UserSession
from certification.people import passkeys
from certification.people.accounts import find_account
from certification.people.roles import Role
from tests.support.factories import PASSWORD, make_account
from tests.support.web import csrf_token, login, post_form
from tests.support.webauthn_authenticator import SoftAuthenticator

SECURITY = "/account/security"
STEP = "/login/second-factor"


def _options(client: FlaskClient, url: str, page: str) -> dict[str, Any]:
    token = csrf_token(client, page)
    response = client.post(url, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    return dict(response.get_json())


def _add(
    client: FlaskClient, authenticator: SoftAuthenticator, name: str = "Laptop", **lie: Any
) -> Any:
    options = _options(client, "/account/security/passkeys/options", SECURITY)
    answer = authenticator.register(options, **lie)
    return post_form(
        client,
        "/account/security/passkeys",
        {"name": name, "credential": json.dumps(answer)},
        page=SECURITY,
    )


def _staff(db: Session, client: FlaskClient, roles: tuple[Role, ...] = (Role.SIGNATORY,)) -> str:
    """A staff account logged in (its app enrolled at the login) with a passkey added."""
    account = make_account(db, roles=roles)
    db.commit()
    login(client, account.email, PASSWORD)
    return account.email


def _password(client: FlaskClient, email: str) -> None:
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302 and response.location == STEP


def _login_answer(client: FlaskClient, authenticator: SoftAuthenticator, **lie: Any) -> Any:
    options = _options(client, "/login/second-factor/passkey/options", STEP)
    answer = authenticator.assertion(options, **lie)
    return post_form(
        client, "/login/second-factor/passkey", {"credential": json.dumps(answer)}, page=STEP
    )


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.at)))


@pytest.mark.slow
def test_a_passkey_is_added_listed_and_logs_in(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    email = _staff(db, client)
    page = client.get(SECURITY).get_data(as_text=True)
    assert 'data-passkey="create"' in page and "js/passkeys.js" in page
    options = _options(client, "/account/security/passkeys/options", SECURITY)
    assert options["rp"] == {"id": "localhost", "name": "Attesta"}
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    authenticator = SoftAuthenticator()
    added = _add(client, authenticator, "Office laptop")
    assert added.status_code == 302 and added.location == SECURITY
    page = client.get(SECURITY).get_data(as_text=True)
    assert "Office laptop" in page
    # The same authenticator is not offered twice.
    again = _options(client, "/account/security/passkeys/options", SECURITY)
    assert [c["id"] for c in again["excludeCredentials"]] != []
    post_form(client, "/logout", {}, page="/dashboard")

    _password(client, email)
    assert 'data-passkey="get"' in client.get(STEP).get_data(as_text=True)
    response = _login_answer(client, authenticator)
    assert response.status_code == 302 and response.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    row = db.scalar(select(UserSession))
    assert row is not None and row.second_factor_at is not None
    stored = db.scalar(select(PasskeyCredential))
    assert stored is not None and stored.sign_count == 1 and stored.last_used_at is not None
    assert {"second_factor.enrolled", "second_factor.succeeded"} <= set(_actions(db))


@pytest.mark.slow
def test_a_candidate_adds_a_first_passkey_and_gets_recovery_codes(
    client: FlaskClient, db: Session
) -> None:
    account = make_account(db, is_candidate=True)
    db.commit()
    login(client, account.email, PASSWORD)
    response = _add(client, SoftAuthenticator())
    assert response.status_code == 200 and "recovery-codes" in response.get_data(as_text=True)
    post_form(client, "/logout", {}, page="/dashboard")
    _password(client, account.email)  # from now on the passkey (or a code) too


@pytest.mark.slow
def test_the_wrong_challenge_origin_or_relying_party_is_refused(
    client: FlaskClient, db: Session
) -> None:
    _staff(db, client)
    bad = SoftAuthenticator()
    assert _add(client, bad, origin="https://evil.example").status_code == 422
    assert _add(client, bad, challenge="AAAA").status_code == 422
    options = _options(client, "/account/security/passkeys/options", SECURITY)
    options["rp"]["id"] = "evil.example"
    answer = bad.register(options)
    refused = post_form(
        client,
        "/account/security/passkeys",
        {"name": "x", "credential": json.dumps(answer)},
        page=SECURITY,
    )
    assert refused.status_code == 422
    assert "non era valida" in refused.get_data(as_text=True)
    assert db.scalar(select(PasskeyCredential)) is None
    # No options asked: no challenge on the server.
    nothing = post_form(
        client,
        "/account/security/passkeys",
        {"name": "x", "credential": json.dumps(answer)},
        page=SECURITY,
    )
    assert nothing.status_code == 422 and "è scaduto" in nothing.get_data(as_text=True)


@pytest.mark.slow
def test_a_challenge_is_used_once(client: FlaskClient, db: Session) -> None:
    email = _staff(db, client)
    authenticator = SoftAuthenticator()
    _add(client, authenticator)
    post_form(client, "/logout", {}, page="/dashboard")
    _password(client, email)
    options = _options(client, "/login/second-factor/passkey/options", STEP)
    answer = json.dumps(authenticator.assertion(options))
    cookie = client.get_cookie("attesta")
    assert cookie is not None
    ok = post_form(client, "/login/second-factor/passkey", {"credential": answer}, page=STEP)
    assert ok.status_code == 302
    # The same answer again, with the cookie of before (a replay): the challenge is gone.
    other = client.application.test_client()
    other.set_cookie("attesta", cookie.value)
    token = csrf_token(other, STEP)
    replay = other.post(
        "/login/second-factor/passkey", data={"credential": answer, "csrf_token": token}
    )
    assert replay.status_code == 401


@pytest.mark.slow
def test_a_counter_that_goes_back_is_refused_and_logged(client: FlaskClient, db: Session) -> None:
    email = _staff(db, client)
    authenticator = SoftAuthenticator()
    _add(client, authenticator)
    post_form(client, "/logout", {}, page="/dashboard")
    _password(client, email)
    assert _login_answer(client, authenticator, counter=7).status_code == 302
    post_form(client, "/logout", {}, page="/dashboard")
    _password(client, email)
    assert _login_answer(client, authenticator, counter=7).status_code == 401  # a clone
    assert _login_answer(client, authenticator, counter=3).status_code == 401
    assert client.get("/dashboard").status_code == 302
    assert _actions(db).count("second_factor.passkey_counter_regressed") == 2
    assert _login_answer(client, authenticator, counter=8).status_code == 302


@pytest.mark.slow
def test_another_persons_passkey_is_refused(client: FlaskClient, db: Session, app: Flask) -> None:
    _staff(db, client)
    theirs = SoftAuthenticator()
    _add(client, theirs)
    other_client = app.test_client()
    mine = SoftAuthenticator()
    email = _staff(db, other_client)
    _add(other_client, mine)
    post_form(other_client, "/logout", {}, page="/dashboard")
    _password(other_client, email)
    assert _login_answer(other_client, theirs).status_code == 401
    assert other_client.get("/dashboard").status_code == 302
    assert _login_answer(other_client, mine).status_code == 302


def test_a_passkey_gives_the_fresh_factor_of_a_step_up(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    _staff(db, client)
    authenticator = SoftAuthenticator()
    _add(client, authenticator)
    stale = utcnow() - dt.timedelta(minutes=11)
    db.execute(update(UserSession).values(second_factor_at=stale))
    db.commit()
    form = {"csrf_token": csrf_token(client, "/account/tokens"), "name": "export", "expires": "30"}
    page = client.post("/account/tokens", data=form)
    assert page.status_code == 401
    assert 'data-passkey="get"' in page.get_data(as_text=True)
    options = _options(client, "/account/step-up/passkey/options", "/account/tokens")
    wrong = authenticator.assertion(options, origin="http://localhost:8080")
    refused = client.post(
        "/account/tokens", data={**form, "second_factor_passkey": json.dumps(wrong)}
    )
    assert refused.status_code == 401 and db.scalar(select(ApiToken)) is None
    options = _options(client, "/account/step-up/passkey/options", "/account/tokens")
    answer = authenticator.assertion(options)
    done = client.post(
        "/account/tokens", data={**form, "second_factor_passkey": json.dumps(answer)}
    )
    assert done.status_code == 200 and db.scalar(select(ApiToken)) is not None
    assert "second_factor.step_up" in _actions(db)


@pytest.mark.slow
def test_the_last_factor_of_a_required_role_stays(client: FlaskClient, db: Session) -> None:
    email = _staff(db, client)
    _add(client, SoftAuthenticator(), "Key")
    account = find_account(db, email)
    assert account is not None
    post_form(client, "/account/security/totp/remove", {}, page=SECURITY)
    passkey = db.scalar(select(PasskeyCredential))
    assert passkey is not None
    url = f"/account/security/passkeys/{passkey.id}/remove"
    response = post_form(client, url, {}, page=SECURITY)
    assert response.status_code == 302
    assert db.scalar(select(PasskeyCredential)) is not None
    assert "ultimo secondo fattore" in client.get(SECURITY).get_data(as_text=True)
    # With a second passkey the first can go.
    _add(client, SoftAuthenticator(), "Spare")
    assert post_form(client, url, {}, page=SECURITY).status_code == 302
    assert [p.name for p in passkeys.passkeys_of(db, account)] == ["Spare"]
    assert "second_factor.removed" in _actions(db)


@pytest.mark.slow
def test_someone_elses_passkey_cannot_be_removed(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    _staff(db, client)
    _add(client, SoftAuthenticator())
    passkey = db.scalar(select(PasskeyCredential))
    assert passkey is not None
    other = app.test_client()
    _staff(db, other)
    url = f"/account/security/passkeys/{passkey.id}/remove"
    assert post_form(other, url, {}, page=SECURITY).status_code == 404
    assert db.get(PasskeyCredential, passkey.id) is not None


def test_an_instance_reached_by_ip_address_offers_no_passkeys(
    app_factory: Any, db: Session
) -> None:
    client = app_factory(BASE_URL="http://127.0.0.1:5000").test_client()
    _staff(db, client)
    page = client.get(SECURITY).get_data(as_text=True)
    assert 'data-passkey="create"' not in page and "indirizzo IP" in page


@pytest.mark.slow
def test_without_javascript_the_code_path_is_unchanged(client: FlaskClient, db: Session) -> None:
    email = _staff(db, client)
    _add(client, SoftAuthenticator())
    post_form(client, "/logout", {}, page="/dashboard")
    _password(client, email)
    html = client.get(STEP).get_data(as_text=True)
    assert re.search(
        r'<form method="post" action="/login/second-factor/passkey"[^>]* hidden>', html
    )
    assert 'name="code"' in html
    login(client.application.test_client(), email, PASSWORD)  # the app's code still works
