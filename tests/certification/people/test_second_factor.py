"""The second factor's domain: TOTP enrolment and checks, replay guard, back-off, recovery
codes, the secret at rest, who needs one."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.errors import Conflict
from certification.models import AuditEvent, TotpCredential
from certification.people import second_factor as SF
from certification.people.roles import Role
from tests.support.clock import NOW
from tests.support.factories import make_account

KEY = SF.encryption_key("a test instance secret")


def _code(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.at)))


def _enrolled(db: Session) -> tuple[object, str]:
    account = make_account(db, roles=(Role.SIGNATORY,))
    secret, _sealed = SF.begin_totp(account, KEY)
    assert SF.confirm_totp(db, account, KEY, secret, _code(secret, NOW), NOW)
    return account, secret


def test_enrolment_needs_a_right_code_and_keeps_the_secret_encrypted(db: Session) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    other = make_account(db, roles=(Role.SIGNATORY,))
    secret, sealed = SF.begin_totp(account, KEY)
    assert db.scalar(select(TotpCredential)) is None  # nothing written before the code
    assert secret not in sealed
    assert SF.pending_totp_secret(KEY, sealed, account) == secret
    assert SF.pending_totp_secret(KEY, sealed, other) is None  # bound to the account
    assert SF.pending_totp_secret(SF.encryption_key("another"), sealed, account) is None
    assert SF.pending_totp_secret(KEY, "garbage", account) is None
    wrong = f"{(int(_code(secret, NOW)) + 1) % 10**6:06d}"
    assert not SF.confirm_totp(db, account, KEY, secret, wrong, NOW)
    assert not SF.has_second_factor(db, account)
    assert SF.confirm_totp(db, account, KEY, secret, _code(secret, NOW), NOW)
    assert SF.has_second_factor(db, account)
    row = db.scalar(select(TotpCredential).where(TotpCredential.user_id == account.id))
    assert row is not None and secret.encode() not in row.secret_encrypted
    assert "second_factor.enrolled" in _actions(db)
    with pytest.raises(Conflict):  # a confirmed app is removed first
        SF.confirm_totp(db, account, KEY, secret, _code(secret, NOW), NOW)


def test_the_secret_does_not_decrypt_with_another_key_or_for_another_account(db: Session) -> None:
    account, secret = _enrolled(db)
    assert SF.stored_secret(db, account, KEY) == secret
    with pytest.raises(Conflict):
        SF.stored_secret(db, account, SF.encryption_key("another secret"))
    other = make_account(db)
    row = db.scalar(select(TotpCredential).where(TotpCredential.user_id == account.id))
    assert row is not None
    row.user_id = other.id
    db.flush()
    with pytest.raises(Conflict):
        SF.stored_secret(db, other, KEY)


@pytest.mark.parametrize(
    ("offset_seconds", "accepted"),
    [(-90, False), (-30, True), (0, True), (30, True), (90, False)],
)
def test_codes_of_the_neighbouring_steps_only(
    db: Session, offset_seconds: int, accepted: bool
) -> None:
    account, secret = _enrolled(db)
    later = NOW + dt.timedelta(minutes=10)
    code = _code(secret, later + dt.timedelta(seconds=offset_seconds))
    assert (SF.verify_code(db, account, KEY, code, later) == "totp") is accepted


def test_a_code_is_accepted_once_and_no_older_one_after_it(db: Session) -> None:
    account, secret = _enrolled(db)
    later = NOW + dt.timedelta(minutes=5)
    code = _code(secret, later)
    assert SF.verify_code(db, account, KEY, code, later) == "totp"
    assert SF.verify_code(db, account, KEY, code, later + dt.timedelta(seconds=5)) is None
    older = _code(secret, later - dt.timedelta(seconds=30))
    assert SF.verify_code(db, account, KEY, older, later) is None
    newer = _code(secret, later + dt.timedelta(seconds=30))
    assert SF.verify_code(db, account, KEY, newer, later + dt.timedelta(seconds=30)) == "totp"
    assert _actions(db).count("second_factor.failed") == 2


def test_wrong_codes_back_off_per_account(db: Session) -> None:
    account, secret = _enrolled(db)
    at = NOW + dt.timedelta(minutes=5)
    for _ in range(SF.FREE_FAILURES):
        assert SF.verify_code(db, account, KEY, "000000x", at) is None
    # Now even the right code is not looked at for a minute.
    with pytest.raises(SF.SecondFactorThrottled) as refused:
        SF.verify_code(db, account, KEY, _code(secret, at), at)
    assert 0 < refused.value.params["seconds"] <= 61
    after = at + dt.timedelta(seconds=61)
    assert SF.verify_code(db, account, KEY, _code(secret, after), after) == "totp"
    # A success resets the count: the next wrong code is not blocked at once.
    assert SF.verify_code(db, account, KEY, "123", after) is None
    assert (
        SF.verify_code(
            db,
            account,
            KEY,
            _code(secret, after + dt.timedelta(seconds=30)),
            after + dt.timedelta(seconds=30),
        )
        == "totp"
    )
    assert "second_factor.throttled" in _actions(db)


def test_the_wait_doubles_and_stops_at_an_hour(db: Session) -> None:
    account, _secret = _enrolled(db)
    at = NOW + dt.timedelta(minutes=5)
    waits = []
    for _ in range(SF.FREE_FAILURES + 8):
        try:
            SF.verify_code(db, account, KEY, "999999x", at)
        except SF.SecondFactorThrottled:
            pytest.fail("blocked before the wait was over")
        row = db.get(SF.SecondFactorThrottle, account.id)
        if row is not None and row.blocked_until is not None:
            waits.append(row.blocked_until - at)
            at = row.blocked_until
    assert waits[:3] == [dt.timedelta(minutes=m) for m in (1, 2, 4)]
    assert waits[-1] == SF.MAX_BLOCK


def test_recovery_codes_are_single_use_and_hashed(db: Session) -> None:
    account, _secret = _enrolled(db)
    codes = SF.new_recovery_codes(db, account, NOW)
    assert len(codes) == len(set(codes)) == SF.RECOVERY_CODE_COUNT
    stored = [r.code_hash for r in db.scalars(select(SF.RecoveryCode))]
    assert all(h.startswith("$argon2id$") for h in stored)
    assert not any(c.replace("-", "") in h for c in codes for h in stored)
    assert SF.verify_code(db, account, KEY, codes[3].upper().replace("-", " "), NOW) == (
        "recovery_code"
    )
    assert SF.verify_code(db, account, KEY, codes[3], NOW) is None  # used
    assert SF.recovery_codes_left(db, account) == SF.RECOVERY_CODE_COUNT - 1
    assert "second_factor.recovery_code_used" in _actions(db)
    fresh = SF.new_recovery_codes(db, account, NOW)  # regenerated: the old ones die
    assert SF.verify_code(db, account, KEY, codes[4], NOW) is None
    assert SF.verify_code(db, account, KEY, fresh[0], NOW) == "recovery_code"


def test_a_step_up_is_recorded_as_such(db: Session) -> None:
    account, secret = _enrolled(db)
    later = NOW + dt.timedelta(minutes=1)
    assert SF.verify_code(db, account, KEY, _code(secret, later), later, "step_up") == "totp"
    assert _actions(db)[-1] == "second_factor.step_up"


@pytest.mark.parametrize(
    ("roles", "required"),
    [
        ((Role.SIGNATORY,), True),
        ((Role.ADMIN,), True),
        ((Role.CERTIFICATORE,), True),
        ((Role.TUTOR, Role.ASSESSOR), False),
        ((Role.OPERATORE_ACCOGLIENZA,), False),
        ((Role.PARTNER,), False),
        ((), False),
    ],
)
def test_who_needs_a_second_factor(db: Session, roles: tuple[Role, ...], required: bool) -> None:
    account = make_account(db, roles=roles)
    assert SF.requires_second_factor(account, SF.DEFAULT_REQUIRED_ROLES) is required


def test_the_required_roles_are_configurable() -> None:
    assert SF.parse_required_roles("signatory, tutor") == {Role.SIGNATORY, Role.TUTOR}
    assert SF.parse_required_roles("") == frozenset()
    with pytest.raises(ValueError, match="unknown role"):
        SF.parse_required_roles("signatory, king")


def test_removing_the_app_takes_the_recovery_codes_with_it(db: Session) -> None:
    account, _secret = _enrolled(db)
    SF.new_recovery_codes(db, account, NOW)
    SF.remove_totp(db, account, NOW)
    assert not SF.has_second_factor(db, account)
    assert SF.recovery_codes_left(db, account) == 0
    assert _actions(db)[-1] == "second_factor.removed"


def test_freshness() -> None:
    assert SF.is_fresh(NOW, NOW + dt.timedelta(minutes=10), 10)
    assert not SF.is_fresh(NOW, NOW + dt.timedelta(minutes=10, seconds=1), 10)
    assert not SF.is_fresh(None, NOW, 10)
