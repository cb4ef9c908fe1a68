"""Passkeys' domain: the relying party from the base URL, challenges (once, in time, for one
account and one purpose), the counter, removal of the last factor. The ceremonies on the web
are in tests/app/test_passkeys_web.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.errors import InvalidInput, LastSecondFactor, NotFound
from certification.models import AuditEvent, PasskeyChallenge, UserAccount
from certification.people import passkeys
from certification.people import second_factor as SF
from certification.people.roles import Role
from tests.support.clock import NOW
from tests.support.factories import make_account
from tests.support.webauthn_authenticator import SoftAuthenticator

RP = passkeys.relying_party("https://attesta.example.it/app")


def _registered(db: Session, account: UserAccount) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    challenge_id, options = passkeys.registration_options(db, account, RP, NOW)
    answer = authenticator.register(json.loads(options), origin=RP.origin)
    passkeys.register_passkey(db, account, RP, challenge_id, json.dumps(answer), "Key", NOW)
    return authenticator


def _use(
    db: Session,
    account: UserAccount,
    authenticator: SoftAuthenticator,
    at: dt.datetime = NOW,
    purpose: SF.Purpose = "login",
    **lie: object,
) -> bool:
    challenge_id, options = passkeys.authentication_options(db, account, RP, purpose, NOW)
    answer = authenticator.assertion(json.loads(options), **{"origin": RP.origin, **lie})  # type: ignore[arg-type]
    return passkeys.verify_passkey(db, account, RP, challenge_id, json.dumps(answer), at, purpose)


def test_the_relying_party_is_the_base_url() -> None:
    assert (RP.id, RP.name, RP.origin) == (
        "attesta.example.it",
        "Attesta",
        "https://attesta.example.it",
    )
    local = passkeys.relying_party("http://127.0.0.1:5000")
    assert (local.id, local.origin) == ("127.0.0.1", "http://127.0.0.1:5000")
    with pytest.raises(ValueError, match="no host"):
        passkeys.relying_party("attesta.example.it")
    # Browsers refuse an IP address as relying party: no passkeys offered there.
    assert passkeys.browsers_accept(RP)
    assert passkeys.browsers_accept(passkeys.relying_party("http://localhost:5000"))
    assert not passkeys.browsers_accept(local)
    assert not passkeys.browsers_accept(passkeys.relying_party("http://[::1]:5000"))


def test_a_passkey_is_a_second_factor(db: Session) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    assert not SF.has_second_factor(db, account)
    authenticator = _registered(db, account)
    assert SF.has_second_factor(db, account)
    assert _use(db, account, authenticator)
    assert db.scalar(select(PasskeyChallenge)) is None  # used up


def test_a_late_challenge_or_one_for_another_purpose_is_refused(db: Session) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    authenticator = _registered(db, account)
    late = NOW + passkeys.CHALLENGE_LIFETIME + dt.timedelta(seconds=1)
    assert not _use(db, account, authenticator, at=late)
    # A login challenge does not serve a step-up.
    challenge_id, options = passkeys.authentication_options(db, account, RP, "login", NOW)
    answer = json.dumps(authenticator.assertion(json.loads(options), origin=RP.origin))
    assert not passkeys.verify_passkey(db, account, RP, challenge_id, answer, NOW, "step_up")
    assert not _use(db, account, authenticator, origin="https://attesta.example.com")
    assert _use(db, account, authenticator)


def test_registration_refuses_late_challenges_and_bad_names(db: Session) -> None:
    account = make_account(db)
    challenge_id, options = passkeys.registration_options(db, account, RP, NOW)
    answer = json.dumps(SoftAuthenticator().register(json.loads(options), origin=RP.origin))
    with pytest.raises(InvalidInput):
        passkeys.register_passkey(db, account, RP, challenge_id, answer, " ", NOW)
    late = NOW + dt.timedelta(minutes=6)
    with pytest.raises(InvalidInput):
        passkeys.register_passkey(db, account, RP, challenge_id, answer, "Key", late)
    with pytest.raises(InvalidInput):  # and used up by the attempt before
        passkeys.register_passkey(db, account, RP, challenge_id, answer, "Key", NOW)


def test_a_regressed_counter_is_refused_and_logged(db: Session) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    authenticator = _registered(db, account)
    assert _use(db, account, authenticator, counter=5)
    assert not _use(db, account, authenticator, counter=5)
    assert not _use(db, account, authenticator, counter=0)
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "second_factor.passkey_counter_regressed")
    ).all()
    # Unordered: the events are not chained (given a sequence) until the session commits.
    assert sorted((e.details["stored"], e.details["received"]) for e in events) == [(5, 0), (5, 5)]


def test_failures_count_towards_the_back_off(db: Session) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    authenticator = _registered(db, account)
    for _ in range(SF.FREE_FAILURES):
        assert not _use(db, account, authenticator, challenge="AAAA")
    with pytest.raises(SF.SecondFactorThrottled):
        _use(db, account, authenticator)


def test_the_last_factor_of_a_required_role_stays(db: Session) -> None:
    account = make_account(db, roles=(Role.SIGNATORY,))
    _registered(db, account)
    SF.new_recovery_codes(db, account, NOW)
    (only,) = passkeys.passkeys_of(db, account)
    with pytest.raises(LastSecondFactor):
        passkeys.remove_passkey(db, account, only.id, True, NOW)
    with pytest.raises(NotFound):
        passkeys.remove_passkey(db, make_account(db), only.id, False, NOW)
    passkeys.remove_passkey(db, account, only.id, False, NOW)
    assert not SF.has_second_factor(db, account)
    assert SF.recovery_codes_left(db, account) == 0  # no factor, no recovery codes
