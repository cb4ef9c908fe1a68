"""Factories for test data: sensible defaults, every field overridable."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from certification.models import Organisation, Person, StaffRole, UserAccount
from certification.people.passwords import hash_password
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run
_seq = itertools.count(1)


def make_organisation(
    db: Session, kind: OrganisationKind = OrganisationKind.ENTE_TITOLATO, **fields: Any
) -> Organisation:
    n = next(_seq)
    org = Organisation(
        kind=kind,
        legal_name=fields.pop("legal_name", f"Ente {n} S.r.l."),
        short_name=fields.pop("short_name", f"Ente {n}"),
        tax_code=fields.pop("tax_code", f"T{n:010d}"),
        created_at=NOW,
        **fields,
    )
    db.add(org)
    db.flush()
    return org


def make_account(
    db: Session,
    *,
    email: str | None = None,
    roles: tuple[Role, ...] = (),
    organisation: Organisation | None = None,
    is_candidate: bool = False,
    locale: str = "it",
    years_experience: int | None = None,
    email_confirmed: bool = True,
    **person_fields: Any,
) -> UserAccount:
    n = next(_seq)
    person = Person(
        given_name=person_fields.pop("given_name", f"Nome{n}"),
        family_name=person_fields.pop("family_name", f"Cognome{n}"),
        is_candidate=is_candidate,
        created_at=NOW,
        **person_fields,
    )
    account = UserAccount(
        person=person,
        email=email or f"user{n}@example.org",
        password_hash=_PASSWORD_HASH,
        locale=locale,
        created_at=NOW,
        email_confirmed_at=NOW if email_confirmed else None,
    )
    db.add(account)
    if roles:
        organisation = organisation or make_organisation(db)
        for role in roles:
            db.add(
                StaffRole(
                    person=person,
                    organisation=organisation,
                    role=role,
                    years_experience=years_experience,
                    sectors=[],
                    created_at=NOW,
                )
            )
    db.flush()
    return account


def make_candidate(db: Session, **kwargs: Any) -> UserAccount:
    return make_account(db, is_candidate=True, **kwargs)


def make_experience(db: Session, person: Any, **fields: Any) -> Any:
    import datetime as dt

    from certification.models import Experience, ExperienceKind, LearningContext

    experience = Experience(
        person_id=person.id,
        kind=fields.pop("kind", ExperienceKind.ANIMAZIONE_COWORKING),
        learning_context=fields.pop("learning_context", LearningContext.INFORMALE),
        role_title=fields.pop("role_title", "Animatrice della community"),
        host_name=fields.pop("host_name", "Spazio Test"),
        start_date=fields.pop("start_date", dt.date(2025, 1, 1)),
        description=fields.pop("description", "Accoglienza dei membri e gestione eventi."),
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    db.add(experience)
    db.flush()
    return experience


def make_evidence(db: Session, experience: Any, **fields: Any) -> Any:
    from certification.models import Evidence, EvidenceType

    evidence = Evidence(
        person_id=experience.person_id,
        experience_id=experience.id,
        type=fields.pop("type", EvidenceType.LINK),
        title=fields.pop("title", "Pagina del programma"),
        url=fields.pop("url", "https://example.org/programma"),
        created_at=NOW,
        **fields,
    )
    db.add(evidence)
    db.flush()
    return evidence


def competence(db: Session, code: str) -> Any:
    from certification.standards import get_competence

    return get_competence(db, "DEMO-LOMBARDIA", "1.0", code)


def profile(db: Session, code: str = "DEMO-P01") -> Any:
    from certification.standards import get_profile

    return get_profile(db, "DEMO-LOMBARDIA", "1.0", code)


def make_case(
    db: Session,
    *,
    candidate: UserAccount | None = None,
    ente: Organisation | None = None,
    status: Any = None,
    tutor: UserAccount | None = None,
    codes: tuple[str, ...] = ("DEMO-C01",),
    target: Any = None,
) -> Any:
    """A case in any state (set directly: for tests of what happens *from* that state)."""
    from certification.cases.states import CaseStatus
    from certification.models import CaseCompetence, CertificationCase, TargetScope, WorkflowProfile

    candidate = candidate or make_candidate(db)
    ente = ente or make_organisation(db, code=f"E{next(_seq)}")
    case = CertificationCase(
        candidate_id=candidate.person_id,
        ente_titolato_id=ente.id,
        workflow_profile=WorkflowProfile.LOMBARDIA_9380,
        target_profile_id=(target or profile(db)).id,
        target_scope=TargetScope.SINGLE_COMPETENCES,
        status=status or CaseStatus.DRAFT,
        status_changed_at=NOW,
        opened_at=NOW,
        assigned_tutor_id=tutor.person_id if tutor else None,
        protocol_number=None
        if (status or CaseStatus.DRAFT) == CaseStatus.DRAFT
        else f"P-{next(_seq)}",
    )
    for position, code in enumerate(codes):
        case.competences.append(
            CaseCompetence(competence_id=competence(db, code).id, position=position)
        )
    db.add(case)
    db.flush()
    return case


def make_card(db: Session, holder: Person, organisation: Organisation, **fields: Any) -> Any:
    """An ACTIVE talent card, valid from a month before today (the real clock: pages check
    cards against it) for a year."""
    import datetime as dt
    import secrets

    from certification.cards import new_card_number, today
    from certification.clock import utcnow
    from certification.models import CardStatus, EligibilityBasis, TalentCard

    start = fields.pop("valid_from", today(utcnow()) - dt.timedelta(days=30))
    card = TalentCard(
        number=fields.pop("number", new_card_number()),
        organisation_id=organisation.id,
        holder_person_id=holder.id,
        programme=fields.pop("programme", "Talenti Diffusi"),
        eligibility_basis=fields.pop("eligibility_basis", EligibilityBasis.PROGRAMME_ENROLMENT),
        basis_reference=fields.pop("basis_reference", "ISCR-1"),
        status=fields.pop("status", CardStatus.ACTIVE),
        valid_from=start,
        valid_until=fields.pop("valid_until", start + dt.timedelta(days=364)),
        qr_token=fields.pop("qr_token", secrets.token_hex(10)),
        requested_at=NOW,
        status_changed_at=NOW,
        activated_at=NOW,
        **fields,
    )
    db.add(card)
    db.flush()
    return card


def make_convention(db: Session, partner: Organisation, **fields: Any) -> Any:
    """A convention of ``partner`` (managed by its ente), on offer from 2026 with no end."""
    import datetime as dt

    from certification.models import ConventionCategory, PartnerConvention

    convention = PartnerConvention(
        partner_id=partner.id,
        organisation_id=fields.pop("organisation_id", partner.managed_by_id),
        title=fields.pop("title", "Sconto stampa"),
        benefit=fields.pop("benefit", "Sconto su biglietti da visita"),
        category=fields.pop("category", ConventionCategory.PRINTING),
        discount_pct=fields.pop("discount_pct", 15),
        valid_from=fields.pop("valid_from", dt.date(2026, 1, 1)),
        valid_to=fields.pop("valid_to", None),
        active=fields.pop("active", True),
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    db.add(convention)
    db.flush()
    return convention


def make_certificate(db: Session, case: Any, *, issued_at: Any = NOW, **fields: Any) -> Any:
    """An issued certificate row of ``case`` (set directly, no PDF nor credential: for tests of
    the register), with a number, code and status-list index of its own."""
    from certification.certificates.lifecycle import new_verification_code
    from certification.models import Certificate, CertificateKind, CertificateStatus

    n = next(_seq)
    values: dict[str, Any] = {
        "case_id": case.id,
        "generation": 1,
        "organisation_id": case.ente_titolato_id,
        "number": f"TEST-{n}",
        "verification_code": new_verification_code(),
        "status_index": n,
        "kind": CertificateKind.COMPETENZE_SINGOLE,
        "locale": "it",
        "status": CertificateStatus.ISSUED,
        "content": {},
        "holder_person_id": case.candidate_id,
        "issued_at": issued_at,
        "reserved_at": issued_at,
    }
    certificate = Certificate(**{**values, **fields})
    db.add(certificate)
    db.flush()
    return certificate
