"""The ente titolare's read-only register: cases and outcomes of the bodies it accredits."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certification.certificates import PUBLIC_STATES
from certification.errors import NotPermitted
from certification.models import Certificate, CertificationCase, Organisation, UserAccount
from certification.roles import OrganisationKind, Role
from certification.states import CaseStatus


def supervised_entes(session: Session, actor: UserAccount) -> list[Organisation]:
    """The entes titolati accredited by an ente titolare where ``actor`` is a supervisor."""
    titolari = [
        r.organisation_id
        for r in actor.person.staff_roles
        if r.role == Role.REGION_SUPERVISOR
        and r.organisation.kind == OrganisationKind.ENTE_TITOLARE
    ]
    if not titolari:
        raise NotPermitted("regional supervisors only")
    return list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.accredited_by_id.in_(titolari),
                Organisation.kind == OrganisationKind.ENTE_TITOLATO,
            )
            .order_by(Organisation.short_name)
        )
    )


@dataclass(frozen=True)
class Register:
    """Submitted cases of the supervised entes, with counts per state and per profile (of the
    cases the filters keep), and each case's latest certificate."""

    entes: list[Organisation]
    cases: list[CertificationCase]
    by_status: Counter[CaseStatus]
    by_profile: Counter[str]
    certificates: dict[uuid.UUID, Certificate]


def register(
    session: Session,
    actor: UserAccount,
    *,
    ente_id: uuid.UUID | None = None,
    status: CaseStatus | None = None,
) -> Register:
    """The register, optionally for one ente or one state (drafts are never shown)."""
    entes = supervised_entes(session, actor)
    ids = [e.id for e in entes if ente_id is None or e.id == ente_id]
    query = (
        select(CertificationCase)
        .where(
            CertificationCase.ente_titolato_id.in_(ids),
            CertificationCase.status != CaseStatus.DRAFT,
        )
        .options(selectinload(CertificationCase.outcomes))
        .order_by(CertificationCase.submitted_at)
    )
    if status is not None:
        query = query.where(CertificationCase.status == status)
    cases = list(session.scalars(query))
    return Register(
        entes,
        cases,
        Counter(c.status for c in cases),
        Counter(c.target_profile.code for c in cases),
        latest_certificates(session, [c.id for c in cases]),
    )


def latest_certificates(
    session: Session, case_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Certificate]:
    """Each case's latest certificate that was ever issued (valid, suspended, revoked or
    superseded by a correction), by case id."""
    found: dict[uuid.UUID, Certificate] = {}
    if not case_ids:
        return found
    rows = session.scalars(
        select(Certificate)
        .where(Certificate.case_id.in_(case_ids), Certificate.status.in_(PUBLIC_STATES))
        .order_by(Certificate.generation)
    )
    for certificate in rows:
        found[certificate.case_id] = certificate  # the highest generation wins
    return found
