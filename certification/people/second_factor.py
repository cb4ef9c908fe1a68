"""A second factor for logging in and for sensitive acts (security.md §3.1, §3.2).

Authenticator apps (TOTP, RFC 6238) are computed by pyotp, a maintained library, never by
hand: the HOTP truncation and the otpauth URI format have details (padding, encoding of the
label, issuer) that a home-made version gets subtly wrong. Around it this module keeps what
the library does not: the secret encrypted at rest, the replay guard (a code is accepted once,
and no earlier one after it), a per-account back-off after failures, and single-use recovery
codes stored as argon2id hashes.

Every event is written to the audit log: ``second_factor.enrolled``, ``.succeeded``,
``.step_up``, ``.failed``, ``.throttled``, ``.recovery_code_used``, ``.recovery_codes_created``,
``.removed``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import secrets
from collections.abc import Iterable
from typing import Final, Literal

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import Conflict, Throttled
from certification.models import (
    PasskeyCredential,
    RecoveryCode,
    SecondFactorThrottle,
    TotpCredential,
    UserAccount,
)
from certification.people.roles import Role

#: Roles that may not work without a second factor unless the instance says otherwise
#: (setting ``SECOND_FACTOR_ROLES``): they seal, issue, revoke and manage keys and staff.
DEFAULT_REQUIRED_ROLES: Final = (Role.SIGNATORY, Role.ADMIN, Role.CERTIFICATORE)

ISSUER_NAME: Final = "Attesta"
STEP_SECONDS: Final = 30
DIGITS: Final = 6
#: Codes of the previous and next step are accepted too (clocks of phones drift).
WINDOW: Final = 1

RECOVERY_CODE_COUNT: Final = 10
#: Without 0/1/8/9 and without letters that look alike (i, l, o): easy to copy from paper.
_RECOVERY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz234567"
_RECOVERY_LENGTH: Final = 10  # 10 symbols of 29: about 48 bits each

#: Failures allowed before the back-off starts, and its longest wait.
FREE_FAILURES: Final = 5
MAX_BLOCK: Final = dt.timedelta(minutes=60)

# Recovery codes are random, not chosen by people: argon2id with lighter parameters than the
# passwords' still costs an attacker with a stolen table 2^48 argon2 runs per code, while ten
# codes are made and checked in a fraction of a second.
_RECOVERY_HASHER: Final = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)

Method = Literal["totp", "passkey", "recovery_code"]
Purpose = Literal["login", "step_up"]


class SecondFactorThrottled(Throttled):
    """Too many wrong codes: the account must wait ``seconds`` before trying again."""

    code = "second_factor_throttled"


# --- who needs one ----------------------------------------------------------------------------


def parse_required_roles(text: str) -> frozenset[Role]:
    """The roles named in a setting like ``"signatory, admin"`` (unknown names are an error)."""
    names = [n.strip() for n in text.replace(";", ",").split(",") if n.strip()]
    try:
        return frozenset(Role(n) for n in names)
    except ValueError as exc:
        raise ValueError(f"unknown role in the second-factor roles: {exc}") from None


def requires_second_factor(account: UserAccount, required_roles: Iterable[Role]) -> bool:
    """Whether the account holds a role that may not log in with a password alone."""
    return account.has_role(*required_roles)


def totp_of(session: Session, account: UserAccount) -> TotpCredential | None:
    return session.scalar(select(TotpCredential).where(TotpCredential.user_id == account.id))


def has_second_factor(session: Session, account: UserAccount) -> bool:
    """An enrolled authenticator app or a registered passkey (certification/people/passkeys.py)."""
    totp = totp_of(session, account)
    if totp is not None and totp.confirmed_at is not None:
        return True
    passkey = select(PasskeyCredential.id).where(PasskeyCredential.user_id == account.id)
    return session.scalar(passkey.limit(1)) is not None


# --- the secret at rest -----------------------------------------------------------------------


def encryption_key(instance_secret: str) -> bytes:
    """The AES-256 key for TOTP secrets, derived from the instance's secret (HKDF-SHA256).

    Changing the instance secret makes the enrolled apps unreadable: people enrol again (or
    use a recovery code, then enrol).
    """
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"attesta.totp-secret.v1"
    ).derive(instance_secret.encode())


def _encrypt(key: bytes, secret: str, account: UserAccount) -> bytes:
    nonce = secrets.token_bytes(12)
    # The account id is bound in: a row copied to another account does not decrypt.
    return nonce + AESGCM(key).encrypt(nonce, secret.encode(), account.id.bytes)


def _decrypt(key: bytes, blob: bytes, account: UserAccount) -> str:
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], account.id.bytes).decode()
    except (InvalidTag, ValueError):
        raise Conflict("the authenticator secret cannot be read with this instance's key") from None


def totp_uri(secret: str, account: UserAccount) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account.email, issuer_name=ISSUER_NAME
    )


def stored_secret(session: Session, account: UserAccount, key: bytes) -> str | None:
    """The account's TOTP secret in clear. Only for the demo's published accounts and for the
    tests: pages never show it again after enrolment."""
    totp = totp_of(session, account)
    return _decrypt(key, totp.secret_encrypted, account) if totp else None


# --- enrolment --------------------------------------------------------------------------------


def begin_totp(account: UserAccount, key: bytes) -> tuple[str, str]:
    """A new secret for the account's app, to be confirmed with a code, nothing written yet.

    Returns the secret in clear (for the QR code) and sealed (AES-GCM, bound to the account),
    for the caller to keep until the code comes (the web keeps it in the cookie session: a page
    that shows the QR code again writes nothing).
    """
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    return secret, base64.urlsafe_b64encode(_encrypt(key, secret, account)).decode()


def pending_totp_secret(key: bytes, sealed: str | None, account: UserAccount) -> str | None:
    """The secret sealed by :func:`begin_totp` for this account, or None (another account's,
    another instance's, or garbage)."""
    if not sealed:
        return None
    try:
        return _decrypt(key, base64.urlsafe_b64decode(sealed.encode()), account)
    except (Conflict, ValueError):
        return None


def confirm_totp(
    session: Session, account: UserAccount, key: bytes, secret: str, code: str, now: dt.datetime
) -> bool:
    """Enrol ``secret`` if ``code`` is a first code of the app that reads it; False if wrong.

    A confirmed app must be removed first (:class:`Conflict`).
    """
    totp = totp_of(session, account)
    if totp is not None and totp.confirmed_at is not None:
        raise Conflict("an authenticator app is already enrolled")
    check_throttle(session, account, now)
    candidate = TotpCredential(user_id=account.id, created_at=now)
    if not _accept_totp(candidate, secret, code, now):
        _fail(session, account, "totp", "enrolment", now)
        return False
    if totp is None:  # an unconfirmed row of an older version is reused
        totp = TotpCredential(user_id=account.id)
        session.add(totp)
    totp.secret_encrypted = _encrypt(key, secret, account)
    totp.created_at = totp.confirmed_at = now
    totp.last_used_step = candidate.last_used_step
    _succeed(session, account)
    record_event(
        session, account, "second_factor.enrolled", "user_account", account.id, now, method="totp"
    )
    session.flush()
    return True


def enrol_totp_with_secret(
    session: Session, account: UserAccount, key: bytes, secret: str, now: dt.datetime
) -> None:
    """Enrol a known secret at once (the demo's published accounts); replaces an earlier one."""
    pyotp.TOTP(secret).at(0)  # refuses a secret that is not base32
    totp = totp_of(session, account)
    if totp is None:
        totp = TotpCredential(user_id=account.id, created_at=now)
        session.add(totp)
    totp.secret_encrypted = _encrypt(key, secret, account)
    totp.created_at = now
    totp.confirmed_at = now
    totp.last_used_step = None
    record_event(
        session, account, "second_factor.enrolled", "user_account", account.id, now, method="totp"
    )
    session.flush()


def remove_totp(session: Session, account: UserAccount, now: dt.datetime) -> None:
    """Remove the authenticator app (a lost or replaced phone), and the recovery codes with it
    unless a passkey is left.

    An account whose role requires a second factor is sent to enrol a new app at its next
    login: it never logs in with the password alone.
    """
    totp = totp_of(session, account)
    if totp is None:
        return
    session.delete(totp)
    session.flush()
    drop_orphan_recovery_codes(session, account)
    record_event(
        session, account, "second_factor.removed", "user_account", account.id, now, method="totp"
    )
    session.flush()


# --- recovery codes ---------------------------------------------------------------------------


def drop_orphan_recovery_codes(session: Session, account: UserAccount) -> None:
    """Recovery codes stand in for a second factor: they go when the last one goes."""
    if not has_second_factor(session, account):
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == account.id))


def _normalise_recovery(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def new_recovery_codes(session: Session, account: UserAccount, now: dt.datetime) -> list[str]:
    """Ten fresh single-use codes, replacing every earlier one; returned once, kept hashed."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == account.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(
            RecoveryCode(user_id=account.id, code_hash=_RECOVERY_HASHER.hash(raw), created_at=now)
        )
    record_event(
        session,
        account,
        "second_factor.recovery_codes_created",
        "user_account",
        account.id,
        now,
        count=RECOVERY_CODE_COUNT,
    )
    session.flush()
    return codes


def recovery_codes_left(session: Session, account: UserAccount) -> int:
    return len(
        list(
            session.scalars(
                select(RecoveryCode.id).where(
                    RecoveryCode.user_id == account.id, RecoveryCode.used_at.is_(None)
                )
            )
        )
    )


def _use_recovery_code(session: Session, account: UserAccount, code: str, now: dt.datetime) -> bool:
    typed = _normalise_recovery(code)
    if len(typed) != _RECOVERY_LENGTH:
        return False
    unused = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == account.id, RecoveryCode.used_at.is_(None)
        )
    )
    for stored in unused:
        try:
            _RECOVERY_HASHER.verify(stored.code_hash, typed)
        except (VerificationError, InvalidHashError):
            continue
        stored.used_at = now
        return True
    return False


# --- checking a code --------------------------------------------------------------------------


def _step(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _accept_totp(totp: TotpCredential, secret: str, code: str, now: dt.datetime) -> bool:
    """Whether ``code`` is the app's code of a step near ``now`` not used yet; remembers it."""
    typed = "".join(c for c in code if not c.isspace())
    if len(typed) != DIGITS or not typed.isdigit():
        return False
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = _step(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if totp.last_used_step is not None and step <= totp.last_used_step:
            continue  # used, or older than one used: a replayed or stale code
        if hmac.compare_digest(generator.at(step * STEP_SECONDS), typed):
            totp.last_used_step = step
            return True
    return False


def looks_like_recovery_code(code: str) -> bool:
    return len(_normalise_recovery(code)) == _RECOVERY_LENGTH


def verify_code(
    session: Session,
    account: UserAccount,
    key: bytes,
    code: str,
    now: dt.datetime,
    purpose: Purpose = "login",
) -> Method | None:
    """Check a code from the app or a recovery code; the method that passed, or None.

    Failures count towards the back-off: past :data:`FREE_FAILURES` in a row the account is
    blocked for 1, 2, 4 … minutes (at most an hour), and :class:`SecondFactorThrottled` is
    raised without looking at the code. The caller commits in both cases (the failure is
    recorded).
    """
    check_throttle(session, account, now)
    method: Method | None = None
    totp = totp_of(session, account)
    if looks_like_recovery_code(code):
        if _use_recovery_code(session, account, code, now):
            method = "recovery_code"
    elif (
        totp is not None
        and totp.confirmed_at is not None
        and _accept_totp(totp, _decrypt(key, totp.secret_encrypted, account), code, now)
    ):
        method = "totp"
    if method is None:
        _fail(session, account, "code", purpose, now)
        return None
    succeeded(session, account, method, purpose, now)
    return method


def succeeded(
    session: Session, account: UserAccount, method: Method, purpose: Purpose, now: dt.datetime
) -> None:
    """Record a passed second factor (any method) and reset the back-off."""
    _succeed(session, account)
    if method == "recovery_code":
        record_event(
            session,
            account,
            "second_factor.recovery_code_used",
            "user_account",
            account.id,
            now,
            left=recovery_codes_left(session, account),
        )
    action = "second_factor.step_up" if purpose == "step_up" else "second_factor.succeeded"
    record_event(session, account, action, "user_account", account.id, now, method=method)
    session.flush()


# --- back-off ---------------------------------------------------------------------------------


def _throttle(session: Session, account: UserAccount) -> SecondFactorThrottle:
    row = session.get(SecondFactorThrottle, account.id)
    if row is None:
        row = SecondFactorThrottle(user_id=account.id, failures=0)
        session.add(row)
    return row


def check_throttle(session: Session, account: UserAccount, now: dt.datetime) -> None:
    row = session.get(SecondFactorThrottle, account.id)
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        seconds = int((row.blocked_until - now).total_seconds()) + 1
        raise SecondFactorThrottled("too many wrong codes", seconds=seconds)


def failed(
    session: Session, account: UserAccount, method: str, purpose: str, now: dt.datetime
) -> None:
    """Record a failed second factor (any method) and extend the back-off."""
    _fail(session, account, method, purpose, now)


def _fail(
    session: Session, account: UserAccount, method: str, purpose: str, now: dt.datetime
) -> None:
    row = _throttle(session, account)
    row.failures = (row.failures or 0) + 1
    record_event(
        session,
        account,
        "second_factor.failed",
        "user_account",
        account.id,
        now,
        method=method,
        purpose=purpose,
        failures=row.failures,
    )
    if row.failures >= FREE_FAILURES:
        wait = min(dt.timedelta(minutes=2 ** (row.failures - FREE_FAILURES)), MAX_BLOCK)
        row.blocked_until = now + wait
        record_event(
            session,
            account,
            "second_factor.throttled",
            "user_account",
            account.id,
            now,
            seconds=int(wait.total_seconds()),
        )
    session.flush()


def _succeed(session: Session, account: UserAccount) -> None:
    row = session.get(SecondFactorThrottle, account.id)
    if row is not None:
        row.failures = 0
        row.blocked_until = None


def is_fresh(verified_at: dt.datetime | None, now: dt.datetime, minutes: int) -> bool:
    """Whether a second factor verified at ``verified_at`` still counts for a sensitive act."""
    return verified_at is not None and now - verified_at <= dt.timedelta(minutes=minutes)
