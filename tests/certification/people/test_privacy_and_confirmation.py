"""E-mail confirmation (single use, expiry, the address in the token), the submission refused
until the address is confirmed, and versioned privacy notices: every consent names the version
it was given under, publishing a new one changes no earlier consent, and no version is edited."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification.cases import workflow
from certification.errors import (
    InvalidInput,
    NotFound,
    NotPermitted,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
)
from certification.models import ConsentPurpose
from certification.people import accounts, privacy
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import make_account, make_candidate, make_organisation, profile

SECRET = "test-secret-key"


def _submission() -> workflow.SubmissionInput:
    return workflow.SubmissionInput(
        birth_date=dt.date(2000, 5, 17),
        birth_place="Cremona",
        codice_fiscale=None,
        consent_processing=True,
        consent_public_verification=True,
        declaration_accepted=True,
    )


_REAL_TIME = time.time


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    # itsdangerous dates its signatures with time.time(): move the clock it reads (from now).
    monkeypatch.setattr(time, "time", lambda: _REAL_TIME() + seconds)


def test_confirmation_link_confirms_once(db: Session) -> None:
    account = make_candidate(db, email_confirmed=False)
    token = accounts.make_email_confirmation_token(account, SECRET)
    assert accounts.confirm_email(db, token, SECRET, NOW) is account
    assert account.email_confirmed_at == NOW
    with pytest.raises(TokenUsed):
        accounts.confirm_email(db, token, SECRET, NOW + dt.timedelta(hours=1))
    assert account.email_confirmed_at == NOW  # the second use changed nothing


def test_confirmation_link_expires_after_seven_days(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_candidate(db, email_confirmed=False)
    token = accounts.make_email_confirmation_token(account, SECRET)
    _later(monkeypatch, dt.timedelta(days=6, hours=23).total_seconds())
    fresh = accounts.make_email_confirmation_token(account, SECRET)
    _later(monkeypatch, dt.timedelta(days=7, minutes=1).total_seconds())
    with pytest.raises(TokenExpired):  # sent 7 days and a minute ago
        accounts.confirm_email(db, token, SECRET, NOW)
    assert account.email_confirmed_at is None
    # a link sent again later still works
    accounts.confirm_email(db, fresh, SECRET, NOW)
    assert account.email_confirmed_at == NOW


@pytest.mark.parametrize("how", ["forged", "other_secret", "truncated", "other_address"])
def test_wrong_confirmation_links_confirm_nothing(db: Session, how: str) -> None:
    account = make_candidate(db, email_confirmed=False)
    token = accounts.make_email_confirmation_token(account, SECRET)
    if how == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif how == "other_secret":
        token = accounts.make_email_confirmation_token(account, "another-secret")
    elif how == "truncated":
        token = token[: len(token) // 2]
    else:  # the address changed since the link was sent: the old link confirms nothing
        account.email = "new-address@example.org"
    with pytest.raises(TokenInvalid) as raised:
        accounts.confirm_email(db, token, SECRET, NOW)
    assert type(raised.value) is TokenInvalid
    assert account.email_confirmed_at is None


def test_a_password_link_confirms_the_address(db: Session) -> None:
    # Invited staff set their first password from a link sent to the address.
    staff = make_account(db, email_confirmed=False)
    accounts.mark_email_confirmed(db, staff, NOW)
    assert staff.email_confirmed_at == NOW
    accounts.mark_email_confirmed(db, staff, NOW + dt.timedelta(days=1))
    assert staff.email_confirmed_at == NOW  # the first confirmation stays


def test_submission_is_refused_until_the_address_is_confirmed(db: Session) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    candidate = make_candidate(db, email_confirmed=False)
    case = workflow.create_case(
        db, candidate, ente_titolato=ente, profile=profile(db), competences=None, now=NOW
    )
    with pytest.raises(InvalidInput) as raised:
        workflow.submit_case(db, candidate, case, _submission(), NOW)
    assert raised.value.errors == {"email": ["email_unconfirmed"]}
    assert case.protocol_number is None and case.consents == []
    token = accounts.make_email_confirmation_token(candidate, SECRET)
    accounts.confirm_email(db, token, SECRET, NOW)
    workflow.submit_case(db, candidate, case, _submission(), NOW)
    assert case.protocol_number == "CML-2026-000001"


def test_the_unconfirmed_address_is_told_with_every_other_mistake(db: Session) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    candidate = make_candidate(db, email_confirmed=False)
    case = workflow.create_case(
        db, candidate, ente_titolato=ente, profile=profile(db), competences=None, now=NOW
    )
    data = _submission()
    data.consent_processing = False
    errors, _ = workflow.submission_errors(db, case, data, NOW)
    assert errors == {"email": ["email_unconfirmed"], "consent_processing": ["must_accept"]}


def test_consents_name_the_notice_version_and_keep_it(db: Session) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    admin = make_account(db, roles=(Role.ADMIN,), organisation=ente)
    first = privacy.publish_notice(
        db, admin, ente, title="Informativa", body="Testo 1", language="it", now=NOW
    )
    candidate = make_candidate(db)
    case = workflow.create_case(
        db, candidate, ente_titolato=ente, profile=profile(db), competences=None, now=NOW
    )
    workflow.submit_case(db, candidate, case, _submission(), NOW)
    assert {c.purpose for c in case.consents} == {
        ConsentPurpose.PROCESSING_IVC,
        ConsentPurpose.PUBLIC_VERIFICATION_PAGE,
    }
    assert {c.privacy_notice_id for c in case.consents} == {first.id}

    second = privacy.publish_notice(
        db,
        admin,
        ente,
        title="Informativa",
        body="Testo 2",
        language="it",
        now=NOW + dt.timedelta(days=30),
    )
    assert (first.version, second.version) == (1, 2)
    db.expire_all()
    assert {c.privacy_notice_id for c in case.consents} == {first.id}  # unchanged
    assert privacy.current_notice(db, ente) == second
    old = privacy.notice_version(db, ente, 1)
    assert old.body == "Testo 1\n"
    assert [n.version for n in privacy.notice_versions(db, ente)] == [2, 1]
    with pytest.raises(NotFound):
        privacy.notice_version(db, ente, 3)


def test_a_published_notice_is_never_edited(db: Session) -> None:
    notice = privacy.publish_notice(
        db, None, None, title="Piattaforma", body="Testo", language="it", now=NOW
    )
    notice.body = "Testo cambiato"
    with pytest.raises(privacy.NoticeImmutable):
        db.flush()
    db.rollback()


def test_only_the_entes_administrators_publish_its_notice(db: Session) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    other = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    outsider = make_account(db, roles=(Role.ADMIN,), organisation=other)
    operator = make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente)
    for actor in (None, outsider, operator):
        with pytest.raises(NotPermitted):
            privacy.publish_notice(db, actor, ente, title="T", body="B", language="it", now=NOW)
    assert privacy.current_notice(db, ente) is None


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"title": " ", "body": ""}, {"title": ["required"], "body": ["required"]}),
        ({"title": "x" * 201}, {"title": ["too_long"]}),
        ({"body": "x" * 100_001}, {"body": ["too_long"]}),
        ({"language": "de"}, {"language": ["unsupported"]}),
    ],
)
def test_a_notice_needs_a_title_and_a_text(
    db: Session, fields: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    data: dict[str, Any] = {"title": "Titolo", "body": "Testo", "language": "it", **fields}
    with pytest.raises(InvalidInput) as raised:
        privacy.publish_notice(db, None, None, now=NOW, **data)
    assert raised.value.errors == errors
    assert privacy.current_notice(db, None) is None


def test_signup_keeps_the_platform_notice_read(db: Session) -> None:
    notice = privacy.publish_notice(
        db, None, None, title="Piattaforma", body="Testo", language="it", now=NOW
    )
    account = accounts.register_candidate(
        db,
        email="nuova@example.org",
        given_name="Nuova",
        family_name="Persona",
        password="una frase lunga e sicura",
        locale="it",
        now=NOW,
        privacy_notice=notice,
    )
    assert account.email_confirmed_at is None
    from sqlalchemy import select

    from certification.models import Consent

    consent = db.scalar(select(Consent).where(Consent.person_id == account.person_id))
    assert consent is not None
    assert consent.purpose == ConsentPurpose.PRIVACY_NOTICE
    assert consent.privacy_notice_id == notice.id and consent.text_version == "v1"


def test_signup_errors_are_all_given_at_once(db: Session) -> None:
    make_candidate(db, email="presa@example.org")
    errors = accounts.signup_errors(db, "Presa@example.org", "corta")
    assert errors == {"email": ["email_taken"], "password": ["too_short"]}
    assert accounts.signup_errors(db, "libera@example.org", "una frase lunga e sicura") == {}
