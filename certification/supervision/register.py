"""The ente titolare's read-only registers: the cases of the bodies it accredits (with counts
that follow the filters) and their certificates, one page at a time."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from certification.cases.states import CaseStatus
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.clock import rome_to_utc
from certification.errors import NotPermitted
from certification.models import (
    Certificate,
    CertificateStatus,
    CertificationCase,
    Organisation,
    Profile,
    UserAccount,
)
from certification.people.roles import OrganisationKind, Role

#: Rows on one page of a register.
PAGE_SIZE: Final = 50

T = TypeVar("T")


def supervised_entes(session: Session, actor: UserAccount) -> list[Organisation]:
    """The entes titolati accredited by an ente titolare where ``actor`` is a supervisor."""
    titolari = [
        r.organisation_id
        for r in actor.person.staff_roles
        if r.role == Role.REGION_SUPERVISOR
        and r.organisation.kind == OrganisationKind.ENTE_TITOLARE
    ]
    if not titolari or not actor.is_active:
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


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a day in Rome, in UTC (a date range's days are Rome's days)."""
    return rome_to_utc(dt.datetime.combine(day, dt.time()))


def in_days(
    column: InstrumentedAttribute[dt.datetime] | InstrumentedAttribute[dt.datetime | None],
    first: dt.date | None,
    last: dt.date | None,
) -> list[ColumnElement[bool]]:
    """WHERE conditions: ``column`` falls on Rome's days ``first`` to ``last`` (both kept)."""
    conditions: list[ColumnElement[bool]] = []
    if first is not None:
        conditions.append(column >= day_start(first))
    if last is not None:
        conditions.append(column < day_start(last + dt.timedelta(days=1)))
    return conditions


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a register: its rows, its number (from 1) and the count of all rows."""

    items: Sequence[T]
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def _page(session: Session, query: Select[T], number: int | None) -> Page[T]:
    """Rows ``number`` (None: all of them) of ``query``, with the count of all rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if number is None:
        return Page(list(session.scalars(query)), 1, total, max(total, 1))
    number = min(max(1, number), max(1, math.ceil(total / PAGE_SIZE)))
    rows = session.scalars(query.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))
    return Page(list(rows), number, total, PAGE_SIZE)


# --- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """What the case register keeps; dates are Rome's days of the application."""

    ente_id: uuid.UUID | None = None
    status: CaseStatus | None = None
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None


@dataclass(frozen=True)
class Register:
    """Submitted cases of the supervised entes (one page), with counts per state and per
    profile of all the cases the filters keep, and each listed case's latest certificate."""

    entes: list[Organisation]
    page: Page[CertificationCase]
    by_status: Counter[CaseStatus]
    by_profile: Counter[str]
    certificates: dict[uuid.UUID, Certificate]

    @property
    def cases(self) -> Sequence[CertificationCase]:
        return self.page.items


def register(
    session: Session,
    actor: UserAccount,
    filters: CaseFilters = CaseFilters(),
    *,
    page: int | None = 1,
) -> Register:
    """The register (drafts are never shown); ``page`` None lists every case (the CSV)."""
    entes = supervised_entes(session, actor)
    ids = [e.id for e in entes if filters.ente_id is None or e.id == filters.ente_id]
    case = CertificationCase
    kept = [
        case.ente_titolato_id.in_(ids),
        case.status != CaseStatus.DRAFT,
        *in_days(case.submitted_at, filters.submitted_from, filters.submitted_to),
    ]
    if filters.status is not None:
        kept.append(case.status == filters.status)
    query = (
        select(case)
        .where(*kept)
        .options(selectinload(case.outcomes))
        .order_by(case.submitted_at.desc(), case.protocol_number)
    )
    found = _page(session, query, page)
    by_status = session.execute(
        select(case.status, func.count()).where(*kept).group_by(case.status)
    )
    by_profile = session.execute(
        select(Profile.code, func.count())
        .join(case, case.target_profile_id == Profile.id)
        .where(*kept)
        .group_by(Profile.code)
    )
    return Register(
        entes,
        found,
        Counter({CaseStatus(s): n for s, n in by_status}),
        Counter({str(p): n for p, n in by_profile}),
        latest_certificates(session, [c.id for c in found.items]),
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


# --- certificates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFilters:
    """What the certificates register keeps; dates are Rome's days of issue."""

    ente_id: uuid.UUID | None = None
    profile_code: str | None = None
    status: CertificateStatus | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None


@dataclass(frozen=True)
class CertificateRegister:
    entes: list[Organisation]
    profiles: list[str]
    page: Page[Certificate]


def certificate_register(
    session: Session,
    actor: UserAccount,
    filters: CertificateFilters = CertificateFilters(),
    *,
    page: int | None = 1,
) -> CertificateRegister:
    """The certificates ever issued by the supervised entes (never a reserved or abandoned
    one), newest first; ``page`` None lists them all (the CSV)."""
    entes = supervised_entes(session, actor)
    ids = [e.id for e in entes if filters.ente_id is None or e.id == filters.ente_id]
    kept = [
        Certificate.organisation_id.in_(ids),
        Certificate.status.in_(PUBLIC_STATES),
        *in_days(Certificate.issued_at, filters.issued_from, filters.issued_to),
    ]
    if filters.status is not None:
        kept.append(Certificate.status == filters.status)
    query = select(Certificate).join(Certificate.case).join(CertificationCase.target_profile)
    if filters.profile_code is not None:
        kept.append(Profile.code == filters.profile_code)
    query = (
        query.where(*kept)
        .options(selectinload(Certificate.organisation), selectinload(Certificate.case))
        .order_by(Certificate.issued_at.desc(), Certificate.number)
    )
    profiles = session.scalars(
        select(Profile.code)
        .join(CertificationCase, CertificationCase.target_profile_id == Profile.id)
        .where(CertificationCase.ente_titolato_id.in_([e.id for e in entes]))
        .distinct()
        .order_by(Profile.code)
    )
    return CertificateRegister(entes, list(profiles), _page(session, query, page))


def status_date(certificate: Certificate) -> dt.datetime:
    """When the certificate took its present status (its issue, while it is valid)."""
    if certificate.status == CertificateStatus.ISSUED or certificate.status_changed_at is None:
        return certificate.issued_at
    return certificate.status_changed_at


def holder_name(certificate: Certificate) -> str:
    """The holder's name as the certificate states it."""
    holder = certificate.content.get("holder", {})
    return f"{holder.get('given_name', '')} {holder.get('family_name', '')}".strip()
