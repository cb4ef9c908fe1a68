from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.errors import EmailTaken, InvalidInput, NotFound, TokenInvalid
from certification.models import AuditEvent, UserSession
from certification.people import accounts
from certification.people.passwords import password_problems, verify_password
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_account

SECRET = "s" * 40
HOUR = dt.timedelta(hours=1)


def _register(db: Session, email: str = "Giulia.Rossi@Example.org ") -> accounts.UserAccount:
    return accounts.register_candidate(
        db,
        email=email,
        given_name=" Giulia ",
        family_name="Rossi",
        password="una frase lunga e sicura",
        locale="it",
        now=NOW,
    )


def test_register_candidate_normalises_and_hashes(db: Session) -> None:
    account = _register(db)
    assert account.email == "giulia.rossi@example.org"
    assert account.person.given_name == "Giulia"
    assert account.person.is_candidate
    assert account.password_hash
    assert account.password_hash.startswith("$argon2id$")
    assert "una frase" not in account.password_hash


def test_email_is_unique_whatever_the_case(db: Session) -> None:
    _register(db)
    with pytest.raises(EmailTaken):
        _register(db, "GIULIA.ROSSI@example.org")


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("short", ["too_short"]),
        ("x" * 129, ["password_too_long", "too_common"]),
        ("password123", ["too_common"]),
        ("aaaaaaaaaaaa", ["too_common"]),
        ("giulia.rossi-2026", ["contains_email"]),
        ("una frase lunga e sicura", []),
        ("ñandú-über-città", []),
    ],
)
def test_password_policy(password: str, problems: list[str]) -> None:
    assert password_problems(password, email="giulia.rossi@example.org") == problems


def test_weak_password_refused_at_signup(db: Session) -> None:
    with pytest.raises(InvalidInput) as info:
        accounts.register_candidate(
            db,
            email="a@example.org",
            given_name="A",
            family_name="B",
            password="12345",
            locale="it",
            now=NOW,
        )
    assert info.value.errors == {"password": ["too_short"]}


def test_authenticate(db: Session) -> None:
    account = make_account(db, email="staff@example.org")
    assert accounts.authenticate(db, " STAFF@example.org", PASSWORD, NOW) is account
    assert account.last_login_at == NOW
    assert accounts.authenticate(db, "staff@example.org", "wrong password!", NOW) is None
    assert accounts.authenticate(db, "nobody@example.org", PASSWORD, NOW) is None
    account.is_active = False
    assert accounts.authenticate(db, "staff@example.org", PASSWORD, NOW) is None
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("login.%"))).all()
    assert actions.count("login.failed") == 3
    assert actions.count("login.succeeded") == 1


def test_invited_account_without_password_cannot_log_in(db: Session) -> None:
    account = make_account(db, email="invited@example.org")
    account.password_hash = None
    assert accounts.authenticate(db, "invited@example.org", "", NOW) is None
    assert verify_password(None, "anything") is False


def test_sessions_expire_idle_and_end(db: Session) -> None:
    account = make_account(db)
    token = accounts.start_session(db, account, NOW, dt.timedelta(hours=12))
    assert accounts.resolve_session(db, token, NOW + HOUR / 2, HOUR) is account
    # idle for more than the idle timeout: gone for good
    assert accounts.resolve_session(db, token, NOW + 2 * HOUR, HOUR) is None
    assert accounts.resolve_session(db, token, NOW + HOUR / 2, HOUR) is None

    token = accounts.start_session(db, account, NOW, dt.timedelta(hours=12))
    later = NOW
    for _ in range(13):  # kept alive by activity, still ends at the absolute lifetime
        later += HOUR / 2
        accounts.resolve_session(db, token, later, HOUR)
    assert (
        accounts.resolve_session(db, token, NOW + dt.timedelta(hours=12, minutes=1), HOUR) is None
    )

    token = accounts.start_session(db, account, NOW, dt.timedelta(hours=12))
    accounts.end_session(db, token)
    assert accounts.resolve_session(db, token, NOW, HOUR) is None
    assert accounts.resolve_session(db, "forged", NOW, HOUR) is None


def test_only_a_hash_of_the_session_token_is_stored(db: Session) -> None:
    account = make_account(db)
    token = accounts.start_session(db, account, NOW, HOUR)
    stored = db.scalars(select(UserSession.token_hash)).all()
    assert token not in stored
    assert len(stored[0]) == 64


def test_password_reset_token_is_single_use(db: Session) -> None:
    account = make_account(db)
    other_session = accounts.start_session(db, account, NOW, HOUR)
    token = accounts.make_password_reset_token(account, SECRET)
    assert accounts.account_for_reset_token(db, token, SECRET, HOUR) is account
    accounts.set_password(db, account, "nuova frase segreta", NOW)
    with pytest.raises(TokenInvalid):
        accounts.account_for_reset_token(db, token, SECRET, HOUR)
    # setting a password logs the account out everywhere
    assert accounts.resolve_session(db, other_session, NOW, HOUR) is None


@pytest.mark.parametrize("tamper", ["wrong-secret", "garbage", "truncated", "expired"])
def test_bad_reset_tokens(db: Session, tamper: str) -> None:
    account = make_account(db)
    token = accounts.make_password_reset_token(account, SECRET)
    secret, max_age = SECRET, HOUR
    if tamper == "wrong-secret":
        secret = "another secret of enough length!"
    elif tamper == "garbage":
        token = "not.a.token"
    elif tamper == "truncated":
        token = token[:-3]
    elif tamper == "expired":
        max_age = dt.timedelta(seconds=-1)
    with pytest.raises(TokenInvalid):
        accounts.account_for_reset_token(db, token, secret, max_age)


def test_change_password_needs_the_current_one(db: Session) -> None:
    account = make_account(db)
    with pytest.raises(InvalidInput) as info:
        accounts.change_password(db, account, "not it", "nuova frase segreta", NOW)
    assert info.value.errors == {"current_password": ["wrong"]}
    accounts.change_password(db, account, PASSWORD, "nuova frase segreta", NOW)
    assert accounts.authenticate(db, account.email, "nuova frase segreta", NOW) is account


def test_api_tokens(db: Session) -> None:
    account = make_account(db)
    token, secret = accounts.create_api_token(db, account, "export", NOW, dt.timedelta(days=1))
    assert secret.startswith("att_")
    assert token.token_hash != secret
    assert token.prefix == secret[:10]
    assert accounts.authenticate_api_token(db, secret, NOW) is account
    assert accounts.authenticate_api_token(db, secret + "x", NOW) is None
    assert accounts.authenticate_api_token(db, "Bearer " + secret, NOW) is None
    assert accounts.authenticate_api_token(db, secret, NOW + dt.timedelta(days=2)) is None
    accounts.revoke_api_token(db, account, token.id, NOW)
    assert accounts.authenticate_api_token(db, secret, NOW) is None


def test_nobody_revokes_someone_elses_token(db: Session) -> None:
    owner, other = make_account(db), make_account(db)
    token, secret = accounts.create_api_token(db, owner, "mine", NOW)
    with pytest.raises(NotFound):
        accounts.revoke_api_token(db, other, token.id, NOW)
    assert accounts.authenticate_api_token(db, secret, NOW) is owner


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_api_token_needs_a_name(db: Session, name: str) -> None:
    with pytest.raises(InvalidInput):
        accounts.create_api_token(db, make_account(db), name, NOW)
