"""The certificate's and the talent card's tables walked as the case's is (test_workflow.py):
every change from every state moves exactly when its row lists the state, and is otherwise
refused with its stable code, changing nothing; exactly the row's actors may make it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification import cards as C
from certification.cards import CardChange
from certification.certificates import credentials
from certification.certificates.lifecycle import (
    allowed_certificate_changes,
    change_certificate_status,
)
from certification.certificates.states import CERTIFICATE_CHANGES, CertificateChange
from certification.certificates.status_lists import status_list
from certification.errors import Conflict, DomainError, NotPermitted
from certification.models import (
    AuditEvent,
    CardStatus,
    Certificate,
    CertificateStatus,
    StatusPurpose,
)
from certification.people.roles import OrganisationKind, Role
from certification.policy import CARD_PROGRAMME_ROLES
from tests.support.clock import NOW
from tests.support.factories import (
    make_account,
    make_candidate,
    make_card,
    make_case,
    make_certificate,
    make_organisation,
)

#: The staff roles of an ente titolato: who may and who may not make a change.
ENTE_ROLES = (
    Role.OPERATORE_ACCOGLIENZA,
    Role.TUTOR,
    Role.CERTIFICATORE,
    Role.ASSESSOR,
    Role.SIGNATORY,
    Role.ADMIN,
)


@pytest.fixture
def ente(db: Session) -> Any:
    return make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="LT1")


@pytest.fixture
def staff(db: Session, ente: Any) -> dict[Role, Any]:
    return {role: make_account(db, roles=(role,), organisation=ente) for role in ENTE_ROLES}


def _audit_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent)) or 0


# --- certificates -----------------------------------------------------------------------------


def _certificate(db: Session, ente: Any, status: CertificateStatus) -> Certificate:
    case = make_case(db, candidate=make_candidate(db), ente=ente)
    return make_certificate(db, case, status=status)


def _bits(db: Session, ente: Any) -> dict[StatusPurpose, bytes]:
    return {p: bytes(status_list(db, ente.id, p).bitstring) for p in StatusPurpose}


def _change(db: Session, actor: Any, certificate: Certificate, change: CertificateChange) -> Any:
    rule = CERTIFICATE_CHANGES[change]
    return change_certificate_status(
        db, actor, certificate, change, rule.reasons[0], "Motivo della modifica", NOW
    )


def _attempt(
    db: Session, actor: Any, certificate: Certificate, change: CertificateChange
) -> tuple[Any, DomainError | None]:
    try:
        return _change(db, actor, certificate, change), None
    except DomainError as exc:
        return None, exc


def test_the_certificate_table_covers_the_live_states() -> None:
    rows = CERTIFICATE_CHANGES.values()
    assert list(CERTIFICATE_CHANGES) == list(CertificateChange)
    # Changes happen only to live certificates, and lead to live states.
    live = {CertificateStatus.ISSUED, CertificateStatus.SUSPENDED, CertificateStatus.REVOKED}
    assert set().union(*(r.sources for r in rows)) == {
        CertificateStatus.ISSUED,
        CertificateStatus.SUSPENDED,
    }
    assert {r.target for r in rows} == live
    assert all(r.actors == {Role.SIGNATORY} and r.reasons for r in rows)


@pytest.mark.parametrize("change", list(CertificateChange))
def test_every_certificate_change_from_every_state(
    db: Session, ente: Any, staff: dict[Role, Any], change: CertificateChange
) -> None:
    rule = CERTIFICATE_CHANGES[change]
    for status in CertificateStatus:
        certificate = _certificate(db, ente, status)
        bits, audits = _bits(db, ente), _audit_count(db)
        savepoint = db.begin_nested()
        listed, refusal = _attempt(db, staff[Role.SIGNATORY], certificate, change)
        try:
            if refusal is not None:
                assert not rule.allows(status), (status, refusal)
                assert type(refusal) is Conflict and refusal.code == "conflict", status
                assert certificate.status == status and certificate.status_reason_code is None
                assert _bits(db, ente) == bits and _audit_count(db) == audits
                continue
            assert rule.allows(status), status
            assert certificate.status == rule.target
            assert certificate.status_reason_code == rule.reasons[0]
            assert listed.purpose == rule.status_list
            assert credentials.get_bit(listed.bitstring, certificate.status_index) == rule.bit
            assert _audit_count(db) > audits
            assert allowed_certificate_changes(staff[Role.SIGNATORY], certificate) == [
                c for c, r in CERTIFICATE_CHANGES.items() if r.allows(rule.target)
            ]
        finally:
            savepoint.rollback()


@pytest.mark.parametrize("change", list(CertificateChange))
def test_every_actor_for_every_certificate_change(
    db: Session, ente: Any, staff: dict[Role, Any], change: CertificateChange
) -> None:
    rule = CERTIFICATE_CHANGES[change]
    source = sorted(rule.sources)[0]
    outsider = make_account(db, roles=(Role.SIGNATORY,), organisation=make_organisation(db))
    for who, actor in [*staff.items(), ("other ente's signatory", outsider)]:
        certificate = _certificate(db, ente, source)
        bits, audits = _bits(db, ente), _audit_count(db)
        savepoint = db.begin_nested()
        _listed, refusal = _attempt(db, actor, certificate, change)
        try:
            if who in rule.actors:
                assert refusal is None, (who, refusal)
                continue
            assert isinstance(refusal, NotPermitted), who
            assert allowed_certificate_changes(actor, certificate) == []
            assert certificate.status == source
            assert _bits(db, ente) == bits and _audit_count(db) == audits
        finally:
            savepoint.rollback()


# --- talent cards -----------------------------------------------------------------------------


def _card(db: Session, ente: Any, status: CardStatus) -> Any:
    """A card in ``status``, valid until a month from the test's day (an EXPIRED one is past
    its date, as the daily job leaves it)."""
    start = C.today(NOW) - dt.timedelta(days=30)
    end = start + dt.timedelta(days=29 if status == CardStatus.EXPIRED else 60)
    return make_card(
        db, make_candidate(db).person, ente, status=status, valid_from=start, valid_until=end
    )


def _card_change(db: Session, actor: Any, card: Any, change: CardChange) -> DomainError | None:
    rule = C.CARD_CHANGES[change]
    try:
        C.change_card(db, actor, card, change, NOW, rule.reasons[0] if rule.reasons else None)
    except DomainError as exc:
        return exc
    return None


def test_the_card_table_reaches_every_state() -> None:
    rows = C.CARD_CHANGES.values()
    assert list(C.CARD_CHANGES) == list(CardChange)
    # EXPIRED is reached by the date (expire_cards), REQUESTED by a request: never by a change.
    reached = {r.target for r in rows} | {CardStatus.EXPIRED, CardStatus.REQUESTED}
    assert reached == set(CardStatus)
    assert set().union(*(r.sources for r in rows)) == set(CardStatus) - {CardStatus.REVOKED}
    assert all(r.actors == CARD_PROGRAMME_ROLES for r in rows)


@pytest.mark.parametrize("change", list(CardChange))
def test_every_card_change_from_every_state(
    db: Session, ente: Any, staff: dict[Role, Any], change: CardChange
) -> None:
    rule = C.CARD_CHANGES[change]
    for status in CardStatus:
        card = _card(db, ente, status)
        token, audits = card.qr_token, _audit_count(db)
        savepoint = db.begin_nested()
        refusal = _card_change(db, staff[Role.OPERATORE_ACCOGLIENZA], card, change)
        try:
            if not rule.allows(status):
                assert type(refusal) is Conflict and refusal.code == "conflict", status
                assert card.status == status and card.qr_token == token
                assert _audit_count(db) == audits
                assert change not in C.allowed_changes(card, NOW)
                continue
            assert refusal is None, (status, refusal)
            assert card.status == rule.target
            assert (card.qr_token != token) == (change == CardChange.RENEWED)
            assert _audit_count(db) == audits + 1
        finally:
            savepoint.rollback()


@pytest.mark.parametrize("change", list(CardChange))
def test_every_actor_for_every_card_change(
    db: Session, ente: Any, staff: dict[Role, Any], change: CardChange
) -> None:
    rule = C.CARD_CHANGES[change]
    source = sorted(rule.sources)[0]
    outsider = make_account(
        db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=make_organisation(db)
    )
    for who, actor in [*staff.items(), ("other ente's operator", outsider)]:
        card = _card(db, ente, source)
        audits = _audit_count(db)
        savepoint = db.begin_nested()
        refusal = _card_change(db, actor, card, change)
        try:
            if who in rule.actors:
                assert refusal is None, (who, refusal)
                continue
            assert isinstance(refusal, NotPermitted), who
            assert card.status == source and _audit_count(db) == audits
        finally:
            savepoint.rollback()
