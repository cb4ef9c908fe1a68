"""Accounts: sign-up, authentication, server-side sessions, password reset, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from certification.audit.events import record_event
from certification.errors import (
    EmailTaken,
    InvalidInput,
    NotFound,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
)
from certification.models import (
    ApiToken,
    Consent,
    ConsentPurpose,
    Person,
    PrivacyNotice,
    UserAccount,
    UserSession,
)
from certification.people.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)

SUPPORTED_LOCALES = ("it", "en")
PASSWORD_RESET_SALT = "attesta.password-reset"  # noqa: S105 - a salt, not a secret
EMAIL_CONFIRM_SALT = "attesta.email-confirm"
#: How long an e-mail confirmation link is valid.
EMAIL_CONFIRM_MAX_AGE = dt.timedelta(days=7)
API_TOKEN_PREFIX = "att_"  # noqa: S105 - a public prefix


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def find_account(session: Session, email: str) -> UserAccount | None:
    """The account with this e-mail address, if any."""
    return session.scalar(select(UserAccount).where(UserAccount.email == normalise_email(email)))


def check_new_password(password: str, email: str) -> None:
    """Raise :class:`InvalidInput` naming the broken rules if ``password`` is not acceptable."""
    problems = password_problems(password, email=email)
    if problems:
        raise InvalidInput("password rejected", errors={"password": problems})


def create_account(
    session: Session,
    *,
    email: str,
    given_name: str,
    family_name: str,
    password: str | None,
    locale: str,
    now: dt.datetime,
    is_candidate: bool = False,
) -> UserAccount:
    """Create a person with a login. ``password`` None leaves the account to be activated."""
    email = normalise_email(email)
    if find_account(session, email) is not None:
        raise EmailTaken(f"an account for {email} exists")
    if password is not None:
        check_new_password(password, email)
    person = Person(
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        is_candidate=is_candidate,
        created_at=now,
    )
    account = UserAccount(
        person=person,
        email=email,
        password_hash=hash_password(password) if password is not None else None,
        locale=locale if locale in SUPPORTED_LOCALES else "it",
        created_at=now,
        password_changed_at=now if password is not None else None,
    )
    session.add(account)
    session.flush()
    return account


def signup_errors(session: Session, email: str, password: str) -> dict[str, list[str]]:
    """Everything the domain finds wrong with a sign-up, field by field (all of it at once)."""
    errors: dict[str, list[str]] = {}
    if email.strip() and find_account(session, email) is not None:
        errors["email"] = ["email_taken"]
    if password:
        problems = password_problems(password, email=normalise_email(email))
        if problems:
            errors["password"] = list(problems)
    return errors


def register_candidate(
    session: Session,
    *,
    email: str,
    given_name: str,
    family_name: str,
    password: str,
    locale: str,
    now: dt.datetime,
    privacy_notice: PrivacyNotice | None = None,
) -> UserAccount:
    """A young person signs up to build a portfolio (domain.md §7.2 transition 1 needs one).

    ``privacy_notice``: the platform's notice shown on the form, whose reading the person
    acknowledged (kept as a consent row naming that version). The address is unconfirmed until
    the link sent to it is followed (:func:`confirm_email`)."""
    account = create_account(
        session,
        email=email,
        given_name=given_name,
        family_name=family_name,
        password=password,
        locale=locale,
        now=now,
        is_candidate=True,
    )
    if privacy_notice is not None:
        session.add(
            Consent(
                person_id=account.person_id,
                purpose=ConsentPurpose.PRIVACY_NOTICE,
                text_version=f"v{privacy_notice.version}",
                granted_at=now,
                privacy_notice_id=privacy_notice.id,
            )
        )
    record_event(session, account, "account.signup", "user_account", account.id, now)
    session.flush()
    return account


# --- e-mail confirmation ----------------------------------------------------------------------


def _confirm_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=EMAIL_CONFIRM_SALT)


def make_email_confirmation_token(account: UserAccount, secret_key: str) -> str:
    """A signed token that confirms the account's current address (the address is part of it:
    a link sent to an earlier address confirms nothing)."""
    return _confirm_serializer(secret_key).dumps({"u": str(account.id), "e": account.email})


def confirm_email(
    session: Session,
    token: str,
    secret_key: str,
    now: dt.datetime,
    max_age: dt.timedelta = EMAIL_CONFIRM_MAX_AGE,
) -> UserAccount:
    """Confirm the address a link was sent to. Single use: :class:`TokenUsed` once confirmed;
    :class:`TokenExpired` past ``max_age``; :class:`TokenInvalid` if forged or for an address
    the account no longer has."""
    serializer = _confirm_serializer(secret_key)
    try:
        payload = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise TokenExpired("e-mail confirmation link expired") from None
    except BadSignature:
        raise TokenInvalid("e-mail confirmation link not valid") from None
    try:
        account = session.get(UserAccount, uuid.UUID(payload["u"]))
        email = str(payload["e"])
    except (KeyError, TypeError, ValueError):
        raise TokenInvalid("e-mail confirmation link not valid") from None
    if account is None or not account.is_active or account.email != email:
        raise TokenInvalid("e-mail confirmation link for an unknown account or address")
    if account.email_confirmed_at is not None:
        raise TokenUsed("e-mail address already confirmed")
    mark_email_confirmed(session, account, now)
    return account


def mark_email_confirmed(session: Session, account: UserAccount, now: dt.datetime) -> None:
    """Note that the holder showed they read mail at the address (a confirmation link, or a
    password link sent there: a staff invitation, a reset)."""
    if account.email_confirmed_at is None:
        account.email_confirmed_at = now
        record_event(session, account, "account.email_confirmed", "user_account", account.id, now)
        session.flush()


def authenticate(
    session: Session, email: str, password: str, now: dt.datetime
) -> UserAccount | None:
    """The active account whose password matches, or None — never saying which part was wrong."""
    account = find_account(session, email)
    ok = verify_password(account.password_hash if account else None, password)
    if account is None or not ok or not account.is_active:
        record_event(
            session, None, "login.failed", "user_account", account.id if account else "-", now
        )
        return None
    if account.password_hash and needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = now
    record_event(session, account, "login.succeeded", "user_account", account.id, now)
    return account


# --- server-side sessions -------------------------------------------------------------------


#: A live session's last_seen_at is written again at most this often.
TOUCH_AFTER: Final = dt.timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_key(token: str) -> str:
    """The key of a login session's row (its token's sha256): the token is never stored."""
    return _digest(token)


def start_session(
    session: Session,
    account: UserAccount,
    now: dt.datetime,
    lifetime: dt.timedelta,
    second_factor_at: dt.datetime | None = None,
) -> str:
    """Open a login session; returns the random token for the cookie (only its hash is kept).

    ``second_factor_at``: when the second factor was verified for it (None: password only).
    """
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=account.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            second_factor_at=second_factor_at,
        )
    )
    session.flush()
    return token


def live_session(
    session: Session, token: str, now: dt.datetime, idle_timeout: dt.timedelta
) -> UserSession | None:
    """The live session row of a token (with its account); an expired or idle session is
    deleted and gives None."""
    # Every logged-in request asks: the row and its account in one query.
    row = session.get(UserSession, _digest(token), options=[joinedload(UserSession.user)])
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at + idle_timeout <= now or not row.user.is_active:
        session.delete(row)
        session.flush()
        return None
    # Touch at most once a minute: a write per request would serialise SQLite for nothing.
    if now - row.last_seen_at > TOUCH_AFTER:
        row.last_seen_at = now
    return row


def resolve_session(
    session: Session, token: str, now: dt.datetime, idle_timeout: dt.timedelta
) -> UserAccount | None:
    """The account of a live session; an expired or idle session is deleted and gives None."""
    row = live_session(session, token, now, idle_timeout)
    return row.user if row else None


def mark_second_factor(session: Session, token: str, now: dt.datetime) -> None:
    """Note that the second factor was verified again in this session (a step-up)."""
    row = session.get(UserSession, _digest(token))
    if row is not None:
        row.second_factor_at = now
        session.flush()


def end_session(session: Session, token: str) -> None:
    """Log out: the session row goes, so the cookie is worthless even if copied."""
    session.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


def end_all_sessions(session: Session, account: UserAccount) -> None:
    """Log the account out everywhere (after a password change or reset)."""
    session.execute(delete(UserSession).where(UserSession.user_id == account.id))


# --- password reset -------------------------------------------------------------------------


def _reset_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=PASSWORD_RESET_SALT)


def _password_fingerprint(account: UserAccount) -> str:
    # Part of the token: once the password changes, every older token stops working.
    return hashlib.sha256((account.password_hash or "unset").encode()).hexdigest()[:16]


def make_password_reset_token(account: UserAccount, secret_key: str) -> str:
    """A signed, single-use token to set a new password (valid until the password changes)."""
    payload = {"u": str(account.id), "f": _password_fingerprint(account)}
    return _reset_serializer(secret_key).dumps(payload)


def account_for_reset_token(
    session: Session, token: str, secret_key: str, max_age: dt.timedelta
) -> UserAccount:
    """The account a reset token is for; :class:`TokenInvalid` if forged, expired or used."""
    try:
        payload = _reset_serializer(secret_key).loads(token, max_age=int(max_age.total_seconds()))
        account = session.get(UserAccount, uuid.UUID(payload["u"]))
    except (SignatureExpired, BadSignature, KeyError, TypeError, ValueError):
        raise TokenInvalid("password reset token invalid or expired") from None
    if account is None or not account.is_active:
        raise TokenInvalid("password reset token for an unknown account")
    if not hmac.compare_digest(str(payload.get("f")), _password_fingerprint(account)):
        raise TokenInvalid("password reset token already used")
    return account


def set_password(session: Session, account: UserAccount, password: str, now: dt.datetime) -> None:
    """Set a new password and end every session of the account."""
    check_new_password(password, account.email)
    account.password_hash = hash_password(password)
    account.password_changed_at = now
    end_all_sessions(session, account)
    record_event(session, account, "account.password_set", "user_account", account.id, now)
    session.flush()


def change_password(
    session: Session, account: UserAccount, current: str, new: str, now: dt.datetime
) -> None:
    """Change a password knowing the current one."""
    if not verify_password(account.password_hash, current):
        raise InvalidInput("current password wrong", errors={"current_password": ["wrong"]})
    set_password(session, account, new, now)


def set_locale(session: Session, account: UserAccount, locale: str) -> None:
    """Remember the account's language (Italian or English)."""
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput("unsupported locale", errors={"locale": ["unsupported"]})
    account.locale = locale
    session.flush()


# --- personal access tokens -----------------------------------------------------------------


def create_api_token(
    session: Session,
    account: UserAccount,
    name: str,
    now: dt.datetime,
    expires_in: dt.timedelta | None = None,
) -> tuple[ApiToken, str]:
    """A new personal access token; the secret is returned once and stored only hashed."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("token name", errors={"name": ["length"]})
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=account.id,
        name=name,
        token_hash=_digest(secret),
        prefix=secret[:10],
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    record_event(session, account, "api_token.created", "api_token", token.id, now, name=name)
    return token, secret


def authenticate_api_token(session: Session, secret: str, now: dt.datetime) -> UserAccount | None:
    """The account of a valid, unrevoked, unexpired token; None otherwise."""
    if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return token.user


def revoke_api_token(
    session: Session, account: UserAccount, token_id: uuid.UUID, now: dt.datetime
) -> None:
    """Revoke one of the account's own tokens (another's is reported as not found)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != account.id:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = now
        record_event(session, account, "api_token.revoked", "api_token", token.id, now)
    session.flush()


def api_tokens_of(session: Session, account: UserAccount) -> list[ApiToken]:
    """The account's tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == account.id)
            .order_by(ApiToken.created_at.desc())
        )
    )
