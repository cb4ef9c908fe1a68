"""The Certificato: reservation, completion, status (domain.md §3.5–3.6, §6.5, §7.2, §7.5).

Issuing is split so that a crash can never leave a half-issued certificate:

1. :func:`reserve_certificate` (one transaction) checks everything, takes the number from the
   database counter, a 130-bit verification code and a random status-list index, and freezes
   the content (holder, issuer, rubric, competences, context, methods) in a PENDING row. Once
   committed, the number and index are burnt: never reused, whatever happens next.
2. The PDF and the credential are produced from that frozen content, outside any transaction
   (:mod:`certification.certificates.production`); nothing is public yet.
3. :func:`complete_certificate` (second transaction) stores the bytes and their sha256 and only
   then sets ISSUED and moves the case, in the same commit.

A PENDING row is never shown, served or verified; :mod:`certification.certificates.issuance`
finishes stale ones on recovery, or abandons them (ABANDONED keeps number and index burnt).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from certification.audit.events import record_event
from certification.cards import rebase_cards, revoke_cards_resting_on
from certification.cases.documents import _locale
from certification.cases.states import CaseEvent, CaseStatus
from certification.cases.workflow import actor_may, apply_transition
from certification.certificates import badges
from certification.certificates import content as contract
from certification.certificates.coverage import (
    Coverage,
    coverage,
    frozen_required,
    required_competences,
)
from certification.certificates.facts import certificate_content
from certification.certificates.production import holder_identifier
from certification.certificates.states import (
    CERTIFICATE_CHANGES,
    CERTIFICATE_MANAGERS,
    CertificateChange,
)
from certification.certificates.status_lists import allocate_index, set_status_bit, status_list
from certification.errors import Conflict, InvalidInput, NotFound, NotPermitted, clean_text
from certification.models import (
    Certificate,
    CertificateCompetence,
    CertificateKind,
    CertificateStatus,
    CertificationCase,
    StatusList,
    StatusPurpose,
    UserAccount,
)

# The code rules live in codes.py (shared with cards); these names stay importable from here.
from certification.numbering.codes import ALPHABET, new_code
from certification.numbering.codes import CODE_LENGTH as CODE_LENGTH
from certification.numbering.codes import format_code as format_code
from certification.numbering.codes import normalise_code as normalise_code
from certification.numbering.counters import next_number
from certification.portfolio.operations import store_file
from certification.storage.blobs import BlobStorage
from certification.transitions import allowed_events

#: Live (publicly verifiable) states, the others being PENDING and ABANDONED.
PUBLIC_STATES: Final = frozenset(
    {
        CertificateStatus.ISSUED,
        CertificateStatus.SUSPENDED,
        CertificateStatus.REVOKED,
        CertificateStatus.SUPERSEDED,
    }
)
CODE_ALPHABET: Final = ALPHABET


class AlreadyIssued(Conflict):
    """The case already has a certificate for this decision."""

    code = "already_issued"


def new_verification_code() -> str:
    """27 Crockford base32 symbols: 130 random bits and a check character (codes.py)."""
    return new_code()


# --- reading ----------------------------------------------------------------------------------


def certificate_by_code(session: Session, code: str) -> Certificate | None:
    """The public certificate with this verification code (never a PENDING or ABANDONED one)."""
    normal = normalise_code(code)
    if normal is None:
        return None
    found = session.scalar(
        select(Certificate)
        .where(Certificate.verification_code == normal)
        .options(selectinload(Certificate.competences))
    )
    return found if found is not None and found.status in PUBLIC_STATES else None


def certificates_of_holder(session: Session, person_id: uuid.UUID) -> Sequence[Certificate]:
    """The holder's certificates, newest first (pending work is not shown)."""
    return session.scalars(
        select(Certificate)
        .where(
            Certificate.holder_person_id == person_id,
            Certificate.status.in_(PUBLIC_STATES),
        )
        .order_by(Certificate.issued_at.desc())
    ).all()


def certificates_of_case(session: Session, case: CertificationCase) -> Sequence[Certificate]:
    """All the case's certificates, oldest first, pending ones included (for staff)."""
    return session.scalars(
        select(Certificate).where(Certificate.case_id == case.id).order_by(Certificate.generation)
    ).all()


def may_manage(actor: UserAccount, certificate: Certificate) -> bool:
    """Signatories of the issuing ente revoke, suspend, reinstate and correct."""
    return bool(actor.roles_in(certificate.organisation_id) & CERTIFICATE_MANAGERS)


def certificate_coverage(certificate: Certificate) -> Coverage:
    """How much of its profile ``certificate`` covers; partial exactly when its kind says so (the
    kind is what its PDF was titled with). Older certificates, whose content does not list the
    profile's competences, are measured against the register's profile."""
    required = frozen_required(certificate.content)
    if required is None:
        required = required_competences(certificate.case.target_profile)
    found = coverage(certificate.content, required)
    return replace(found, partial=certificate.kind == CertificateKind.COMPETENZE_SINGOLE)


# --- issuance ---------------------------------------------------------------------------------


def _check_issuable(session: Session, actor: UserAccount, case: CertificationCase) -> None:
    """Refuse a case that is not CERTIFIED (one already issued as such) or an actor who is
    not a signatory of its ente."""
    if case.status != CaseStatus.CERTIFIED:
        existing = session.scalar(
            select(Certificate).where(
                Certificate.case_id == case.id,
                Certificate.status.in_(PUBLIC_STATES),
            )
        )
        if existing is not None:
            raise AlreadyIssued("this decision already has its certificate")
        raise InvalidInput("case not certified", errors={"case": ["not_certified"]})
    if not actor_may(actor, case, CaseEvent.ISSUE_CERTIFICATE):
        raise NotPermitted("only a signatory of the ente issues certificates")


#: What a preview prints where the certificate has its number and verification code: it is
#: given neither (nor a status-list index), so it can never be taken for the certificate.
PREVIEW_NUMBER: Final = "ANTEPRIMA-PREVIEW"
PREVIEW_CODE: Final = "0" * CODE_LENGTH  # a well-formed code (its check character is 0)


def preview_content(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    base_url: str,
) -> tuple[contract.PrintedContent, str]:
    """What the certificate of a CERTIFIED case would say if the actor issued it now, and its
    language: the same content :func:`reserve_certificate` freezes, with no number, no code,
    no status index and no audit entry. Nothing is added to the session or flushed."""
    _check_issuable(session, actor, case)
    if actor.person is None:
        raise NotPermitted("a signatory is a person")
    with session.no_autoflush:
        facts, _rows = certificate_content(session, case, base_url=base_url, issued_at=now)
    locale = _locale(case)
    return {
        **facts,
        "badge": badges.frozen_badge(facts["standard"], locale),
        "signatory": {"name": actor.person.full_name},
        "number": PREVIEW_NUMBER,
        "verification_code": PREVIEW_CODE,
        "supersedes": None,
        "correction_note": None,
    }, locale


def reserve_certificate(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    base_url: str,
    supersedes: Certificate | None = None,
    correction_note: str | None = None,
) -> Certificate:
    """Check and reserve a certificate for a CERTIFIED case (or a correction of an issued one).

    Refused: a case not CERTIFIED, an actor who is not a signatory of the case's ente, a second
    certificate for the same decision. The caller commits, then produces and completes it.
    """
    if supersedes is None:
        _check_issuable(session, actor, case)
        pending = session.scalar(
            select(Certificate).where(
                Certificate.case_id == case.id, Certificate.status == CertificateStatus.PENDING
            )
        )
        if pending is not None:
            return pending  # an interrupted issuance: finish it, never start a second one
    else:
        if not may_manage(actor, supersedes):
            raise NotPermitted("only a signatory of the ente corrects certificates")
        if supersedes.status not in {CertificateStatus.ISSUED, CertificateStatus.SUSPENDED}:
            raise Conflict("only an issued certificate can be corrected")
        correction_note = clean_text(correction_note or "", "reason")
    # Abandoned reservations keep their generation: a new attempt takes the next one, and two
    # concurrent attempts take the same one, so the unique constraint lets only one through.
    generation = 1 + (
        session.scalar(
            select(func.max(Certificate.generation)).where(Certificate.case_id == case.id)
        )
        or 0
    )
    facts, commitment_rows = certificate_content(session, case, base_url=base_url, issued_at=now)
    if actor.person is None:
        raise NotPermitted("a signatory is a person")
    person = case.candidate
    if person.codice_fiscale:
        identity, identity_type = person.codice_fiscale.upper(), "nationalIdentityNumber"
    elif person.account is not None:
        identity, identity_type = person.account.email.lower(), "emailAddress"
    else:
        identity, identity_type = str(person.id), "identifier"
    ente = case.ente_titolato
    code = ente.code or "ATT"
    number = f"LOM-{code}-{now.year}-{next_number(session, f'cert:{code}:{now.year}'):06d}"
    content: contract.CertificateContent = {  # in the order its keys have always been stored
        **facts,
        "signatory": {"name": actor.person.full_name},
        "badge": badges.frozen_badge(facts["standard"], _locale(case)),  # achievement image
        "holder_identifier": holder_identifier(identity, identity_type, secrets.token_hex(16)),
        "number": number,
        "supersedes": supersedes.number if supersedes else None,
        "correction_note": correction_note,
        "verification_code": new_verification_code(),
        "certificate_id": str(uuid.uuid4()),
        "status_index": allocate_index(session, ente.id),
    }
    certificate = Certificate(
        id=uuid.UUID(content["certificate_id"]),
        case_id=case.id,
        generation=generation,
        organisation_id=ente.id,
        number=number,
        verification_code=content["verification_code"],
        status_index=content["status_index"],
        kind=CertificateKind(content["kind"]),
        locale=_locale(case),
        status=CertificateStatus.PENDING,
        content=content,
        holder_person_id=case.candidate_id,
        issued_at=now,
        issued_by_id=actor.id,
        reserved_at=now,
        supersedes_id=supersedes.id if supersedes else None,
    )
    for position, item in enumerate(content["competences"]):
        certificate.competences.append(
            CertificateCompetence(
                position=position,
                code=item["code"],
                title_it=item["title_it"],
                title_en=item["title_en"],
                eqf_level=item["eqf_level"],
                ada_codes=item["ada_codes"],
                achieved_level=item["achieved_level"],
            )
        )
    certificate.evidence_commitments.extend(commitment_rows)
    session.add(certificate)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Two signatories at once, or a colliding random index/code: the other one won.
        raise AlreadyIssued("this decision already has its certificate") from None
    for purpose in StatusPurpose:
        status_list(session, ente.id, purpose)
    record_event(
        session,
        actor,
        "certificate.reserved",
        "certificate",
        certificate.id,
        now,
        organisation_id=ente.id,
        number=number,
    )
    return certificate


def complete_certificate(
    session: Session,
    certificate: Certificate,
    pdf: bytes,
    credential_json: bytes,
    *,
    seal_kid: str,
    credential_kid: str,
    storage: BlobStorage,
    now: dt.datetime,
) -> Certificate:
    """Store the sealed PDF and the credential, then mark the certificate ISSUED and move the
    case (#20), all in the caller's one commit."""
    if certificate.status != CertificateStatus.PENDING:
        raise Conflict("the certificate is not pending")
    certificate.pdf_sha256 = store_file(session, storage, pdf, "application/pdf", now)
    certificate.pdf_size = len(pdf)
    certificate.credential_sha256 = store_file(
        session, storage, credential_json, "application/json", now
    )
    certificate.seal_kid = seal_kid
    certificate.credential_kid = credential_kid
    certificate.status = CertificateStatus.ISSUED
    certificate.status_changed_at = now
    certificate.completed_at = now
    case = certificate.case
    issuer = certificate.issued_by
    if certificate.supersedes_id is None:
        apply_transition(
            session,
            None,
            case,
            CaseEvent.ISSUE_CERTIFICATE,
            now,
            payload={"certificate": certificate.number, "by": str(issuer.id) if issuer else None},
        )
    else:
        old = session.get(Certificate, certificate.supersedes_id)
        if old is None:
            raise NotFound("no such certificate")
        old.status = CertificateStatus.SUPERSEDED
        old.status_changed_at = now
        old.status_reason_code = "correction"
        old.status_reason = certificate.content.get("correction_note")
        old.superseded_by_id = certificate.id
        # Cards rest on certificates, not the reverse: imported here to keep that one-way.
        rebase_cards(session, old, certificate)
    record_event(
        session,
        issuer,
        "certificate.issued",
        "certificate",
        certificate.id,
        now,
        organisation_id=certificate.organisation_id,
        number=certificate.number,
        pdf_sha256=certificate.pdf_sha256,
    )
    session.flush()
    return certificate


def abandon_certificate(
    session: Session, certificate: Certificate, reason: str, now: dt.datetime
) -> None:
    """Give up a reservation that cannot be completed; its number and index stay burnt and the
    case can be issued again."""
    if certificate.status != CertificateStatus.PENDING:
        raise Conflict("the certificate is not pending")
    certificate.status = CertificateStatus.ABANDONED
    certificate.status_changed_at = now
    certificate.status_reason = reason[:500]
    record_event(
        session,
        None,
        "certificate.abandoned",
        "certificate",
        certificate.id,
        now,
        organisation_id=certificate.organisation_id,
        reason=reason[:200],
    )
    session.flush()


def stale_pending(session: Session, older_than: dt.datetime) -> Sequence[Certificate]:
    """Reservations left by a crash (reserved before ``older_than`` and never completed)."""
    return session.scalars(
        select(Certificate)
        .where(
            Certificate.status == CertificateStatus.PENDING,
            Certificate.reserved_at < older_than,
        )
        .order_by(Certificate.reserved_at)
    ).all()


def acknowledge_registration(
    session: Session, certificate: Certificate, registry_ref: str, now: dt.datetime
) -> None:
    """The regional register acknowledged the certificate: the case closes (#21)."""
    certificate.registry_ref = clean_text(registry_ref, "registry_ref")[:60]
    if certificate.case.status == CaseStatus.CERTIFICATE_ISSUED:
        apply_transition(
            session, None, certificate.case, CaseEvent.CLOSE, now, payload={"ref": registry_ref}
        )
    session.flush()


# --- status changes (§7.5) --------------------------------------------------------------------


def allowed_certificate_changes(
    actor: UserAccount, certificate: Certificate
) -> list[CertificateChange]:
    """The changes ``actor`` may make to the certificate now (for the buttons)."""
    if not may_manage(actor, certificate):
        return []
    return allowed_events(CERTIFICATE_CHANGES, certificate.status)


def change_certificate_status(
    session: Session,
    actor: UserAccount,
    certificate: Certificate,
    change: CertificateChange,
    reason_code: str,
    reason: str,
    now: dt.datetime,
) -> StatusList:
    """Make ``change`` as its row of :data:`CERTIFICATE_CHANGES` says; returns the status list
    to re-sign. Refused, changing nothing: an actor not among the row's (:class:`NotPermitted`),
    grounds it does not take or an empty reason (:class:`InvalidInput`), a state not among its
    sources (:class:`Conflict`)."""
    rule = CERTIFICATE_CHANGES[change]
    if not actor.roles_in(certificate.organisation_id) & rule.actors:
        raise NotPermitted("only a signatory of the ente changes a certificate's status")
    if reason_code not in rule.reasons:
        raise InvalidInput("reason", errors={"reason_code": ["invalid_choice"]})
    reason = clean_text(reason, "reason")
    if not rule.allows(certificate.status):
        raise Conflict(f"not possible for a {certificate.status.value} certificate")
    certificate.status = rule.target
    certificate.status_changed_at = now
    certificate.status_reason_code = reason_code
    certificate.status_reason = reason
    record_event(
        session,
        actor,
        f"certificate.{change}",
        "certificate",
        certificate.id,
        now,
        organisation_id=certificate.organisation_id,
        reason=reason_code,
    )
    if rule.target == CertificateStatus.REVOKED:
        revoke_cards_resting_on(session, certificate, now)
    return set_status_bit(session, certificate, rule.status_list, rule.bit, now)


def revoke_certificate(
    session: Session,
    actor: UserAccount,
    certificate: Certificate,
    reason_code: str,
    reason: str,
    now: dt.datetime,
) -> StatusList:
    """Revoke (irreversible): the revocation bit is set; returns the list to re-sign."""
    return change_certificate_status(
        session, actor, certificate, CertificateChange.REVOKED, reason_code, reason, now
    )


def suspend_certificate(
    session: Session,
    actor: UserAccount,
    certificate: Certificate,
    reason_code: str,
    reason: str,
    now: dt.datetime,
) -> StatusList:
    """Suspend while a report is checked: the suspension bit is set."""
    return change_certificate_status(
        session, actor, certificate, CertificateChange.SUSPENDED, reason_code, reason, now
    )


def reinstate_certificate(
    session: Session, actor: UserAccount, certificate: Certificate, reason: str, now: dt.datetime
) -> StatusList:
    """The suspension is cleared: ISSUED again, suspension bit cleared."""
    return change_certificate_status(
        session, actor, certificate, CertificateChange.REINSTATED, "reinstated", reason, now
    )
