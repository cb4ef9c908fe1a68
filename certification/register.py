"""The ente titolare's read-only register: cases and outcomes of the bodies it accredits."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certification.errors import NotPermitted
from certification.models import CertificationCase, Organisation, UserAccount
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
    """Submitted cases of the supervised entes, with counts per state and per profile."""

    entes: list[Organisation]
    cases: list[CertificationCase]
    by_status: Counter[CaseStatus]
    by_profile: Counter[str]


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
    cases = list(session.scalars(query))
    by_status = Counter(c.status for c in cases)
    by_profile = Counter(c.target_profile.code for c in cases)
    if status is not None:
        cases = [c for c in cases if c.status == status]
    return Register(entes, cases, by_status, by_profile)
