"""The second factor on the web: password then code, enrolment when the role requires it,
recovery codes, replay and back-off, the step-up before sensitive acts, the role rule."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certification.clock import utcnow
from certification.models import ApiToken, AuditEvent, StaffRole, TotpCredential, UserSession
from certification.people import second_factor as SF
from certification.people.accounts import find_account
from certification.people.roles import Role
from tests.support.factories import PASSWORD, make_account
from tests.support.web import csrf_token, enrol_totp, login, post_form, totp_code

STEP = "/login/second-factor"
SETUP = "/login/second-factor/setup"


def _password(client: FlaskClient, email: str, next_url: str = "") -> str:
    """Post the password; the path the login goes on to."""
    url = "/login" + (f"?next={next_url}" if next_url else "")
    response = post_form(client, url, {"email": email, "password": PASSWORD}, page="/login")
    assert response.status_code == 302
    return str(response.location)


def _actions(db: Session, account_id: uuid.UUID) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor_user_id == account_id)
            .order_by(AuditEvent.at)
        )
    )


def _enrolled(db: Session, app: Flask, roles: tuple[Role, ...] = (Role.SIGNATORY,)) -> str:
    account = make_account(db, roles=roles)
    SF.enrol_totp_with_secret(
        db, account, SF.encryption_key(app.config["SECRET_KEY"]), pyotp.random_base32(), utcnow()
    )
    db.commit()
    return account.email


def _without_csrf(page: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*?value=")[^"]*"', r'\1"', page)


def test_a_required_role_enrols_before_anything_else(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    db.commit()
    assert _password(client, account.email, "/account/") == SETUP
    # Not logged in yet: every page sends back to the login.
    assert client.get("/dashboard").status_code == 302
    assert client.get(STEP).location == SETUP
    page = client.get(SETUP).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code
    # Showing it again changes nothing (but the CSRF token, signed with the current second).
    assert _without_csrf(client.get(SETUP).get_data(as_text=True)) == _without_csrf(page)
    assert db.scalar(select(TotpCredential)) is None  # and a GET writes nothing
    secret = re.search(r"data-secret>([A-Z2-7 ]+)<", page)
    assert secret is not None
    wrong = post_form(client, SETUP, {"code": "000000"})
    assert wrong.status_code == 401
    assert client.get("/dashboard").status_code == 302
    done = post_form(client, SETUP, {"code": pyotp.TOTP(secret.group(1).replace(" ", "")).now()})
    html = done.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", html)
    assert len(codes) == SF.RECOVERY_CODE_COUNT
    assert 'download="attesta-recovery-codes.txt"' in html
    assert 'href="/account/"' in html  # then on to where the login was going
    assert client.get("/dashboard").status_code == 200
    # The key is never shown again.
    assert client.get(SETUP).status_code == 302
    assert secret.group(1) not in client.get("/account/security").get_data(as_text=True)
    assert {"second_factor.enrolled", "second_factor.recovery_codes_created"} <= set(
        _actions(db, account.id)
    )


def test_an_enrolled_account_needs_its_code_and_gets_a_new_session(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    email = _enrolled(db, app)
    assert _password(client, email, "/account/") == STEP
    pending_cookie = client.get_cookie("attesta")
    assert client.get("/dashboard").status_code == 302
    assert db.scalar(select(UserSession)) is None  # no session before the second factor
    assert post_form(client, STEP, {"code": "12345"}).status_code == 401
    response = post_form(client, STEP, {"code": totp_code(app, email)})
    assert response.status_code == 302 and response.location == "/account/"
    assert client.get_cookie("attesta").value != pending_cookie.value  # type: ignore[union-attr]
    row = db.scalar(select(UserSession))
    assert row is not None and row.second_factor_at is not None
    assert client.get("/dashboard").status_code == 200


def test_the_same_code_does_not_log_in_twice(client: FlaskClient, db: Session, app: Flask) -> None:
    email = _enrolled(db, app)
    code = totp_code(app, email)
    _password(client, email)
    assert post_form(client, STEP, {"code": code}).status_code == 302
    other = app.test_client()
    _password(other, email)
    assert post_form(other, STEP, {"code": code}).status_code == 401


def test_a_recovery_code_logs_in_once(client: FlaskClient, db: Session, app: Flask) -> None:
    email = _enrolled(db, app)
    account = find_account(db, email)
    assert account is not None
    codes = SF.new_recovery_codes(db, account, utcnow())
    db.commit()
    _password(client, email)
    response = post_form(client, STEP, {"code": codes[0]})
    assert response.status_code == 302 and response.location == "/account/security"
    other = app.test_client()
    _password(other, email)
    assert post_form(other, STEP, {"code": codes[0]}).status_code == 401
    assert "second_factor.recovery_code_used" in _actions(db, account.id)


def test_wrong_codes_are_throttled(client: FlaskClient, db: Session, app: Flask) -> None:
    email = _enrolled(db, app)
    _password(client, email)
    for _ in range(SF.FREE_FAILURES):
        assert post_form(client, STEP, {"code": "000000"}).status_code == 401
    blocked = post_form(client, STEP, {"code": totp_code(app, email)})
    assert blocked.status_code == 429
    assert client.get("/dashboard").status_code == 302


def test_an_optional_factor_for_a_candidate(client: FlaskClient, db: Session, app: Flask) -> None:
    account = make_account(db, is_candidate=True)
    db.commit()
    login(client, account.email, PASSWORD)  # the password alone: no role requires more
    assert client.get("/dashboard").status_code == 200
    assert "recovery-codes" in enrol_totp(client, "/account/security/totp").get_data(as_text=True)
    post_form(client, "/logout", {}, page="/dashboard")
    assert _password(client, account.email) == STEP  # from now on, the code too


def test_a_password_only_session_of_a_required_role_ends(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    account = make_account(db, roles=(Role.TUTOR,))
    db.commit()
    login(client, account.email, PASSWORD)
    assert client.get("/dashboard").status_code == 200
    # Made a signatory while logged in with the password alone.
    tutor = account.person.staff_roles[0]
    db.add(
        StaffRole(
            person=account.person,
            organisation=tutor.organisation,
            role=Role.SIGNATORY,
            sectors=[],
            created_at=utcnow(),
        )
    )
    db.commit()
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.location == "/login"
    assert db.scalar(select(UserSession).where(UserSession.user_id == account.id)) is None


def _stale(db: Session) -> None:
    db.execute(update(UserSession).values(second_factor_at=utcnow() - dt.timedelta(minutes=11)))
    db.commit()


#: Every act that asks for a fresh second factor. The check comes before the act's own checks,
#: so an object that does not exist is enough.
SENSITIVE = [
    f"/cases/{uuid.uuid4()}/certificate",
    "/certificates/bulk/",
    f"/certificates/{uuid.uuid4()}/revoke",
    f"/certificates/{uuid.uuid4()}/suspend",
    f"/certificates/{uuid.uuid4()}/reinstate",
    f"/certificates/{uuid.uuid4()}/correct",
    "/account/tokens",
    "/account/security/totp/remove",
    "/account/security/recovery-codes",
    f"/account/security/passkeys/{uuid.uuid4()}/remove",
    "/account/security/passkeys",
    f"/cases/{uuid.uuid4()}/certify",
    f"/staff/{uuid.uuid4()}/add",
    f"/staff/{uuid.uuid4()}/members/{uuid.uuid4()}",
]


# Named without their random ids: every pytest-xdist worker must collect the same test names.
@pytest.mark.slow
@pytest.mark.parametrize("url", SENSITIVE, ids=lambda url: re.sub(r"[0-9a-f-]{36}", "<id>", url))
def test_sensitive_acts_ask_for_a_fresh_factor(
    client: FlaskClient, db: Session, app: Flask, url: str
) -> None:
    email = _enrolled(db, app)
    login(client, email, PASSWORD)
    _stale(db)
    token = csrf_token(client, "/dashboard")
    response = client.post(url, data={"csrf_token": token, "reason": "kept <b>text</b>"})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert f'action="{url}"' in html
    assert 'name="reason" value="kept &lt;b&gt;text&lt;/b&gt;"' in html  # the form's data kept


def test_the_step_up_carries_the_act_through(client: FlaskClient, db: Session, app: Flask) -> None:
    email = _enrolled(db, app)
    login(client, email, PASSWORD)
    _stale(db)
    token = csrf_token(client, "/account/tokens")
    form = {"csrf_token": token, "name": "export", "expires": "30"}
    assert client.post("/account/tokens", data=form).status_code == 401
    assert db.scalar(select(ApiToken)) is None
    wrong = client.post("/account/tokens", data={**form, "second_factor_code": "000000"})
    assert wrong.status_code == 401 and db.scalar(select(ApiToken)) is None
    code = totp_code(app, email)
    done = client.post("/account/tokens", data={**form, "second_factor_code": code})
    assert done.status_code == 200 and "att_" in done.get_data(as_text=True)
    created = db.scalar(select(ApiToken))
    assert created is not None and created.name == "export"
    # Fresh now: the next act goes through without a code.
    again = client.post("/account/tokens", data={**form, "name": "second"})
    assert again.status_code == 200
    actions = _actions(db, created.user_id)
    assert "second_factor.step_up" in actions and "second_factor.failed" in actions


def test_a_fresh_factor_lets_acts_through(client: FlaskClient, db: Session, app: Flask) -> None:
    email = _enrolled(db, app)
    login(client, email, PASSWORD)
    response = post_form(client, "/account/tokens", {"name": "ci", "expires": "30"})
    assert response.status_code == 200


def test_the_required_roles_are_a_setting(app_factory: object, db: Session) -> None:
    made = app_factory(SECOND_FACTOR_ROLES="tutor")  # type: ignore[operator]
    client = made.test_client()
    signatory = make_account(db, roles=(Role.SIGNATORY,))
    tutor = make_account(db, roles=(Role.TUTOR,))
    db.commit()
    assert _password(client, signatory.email) == "/dashboard"
    other = made.test_client()
    assert _password(other, tutor.email) == SETUP
