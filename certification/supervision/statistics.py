"""The supervisor's dashboard figures, computed by the database with portable SQL.

No date function of either database: months are Rome's calendar months, whose bounds are
computed here in Python (UTC instants) and counted with ``SUM(CASE WHEN at >= a AND at < b)``,
the same SQL on SQLite and PostgreSQL. Durations are computed in Python from the two instants.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy import case as case_
from sqlalchemy.orm import InstrumentedAttribute, Session

from certification.cases.states import CaseStatus
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.clock import in_rome, rome_to_utc
from certification.models import (
    CaseTransition,
    Certificate,
    CertificationCase,
    CompetenceOutcome,
    Organisation,
    Profile,
    VerificationCount,
    VerificationLog,
)
from certification.models.assessment import Outcome

#: The stages of the cases-over-time chart and the states whose entry counts for each.
STAGES: Final[dict[str, frozenset[CaseStatus]]] = {
    "submitted": frozenset({CaseStatus.SUBMITTED}),
    "assessment": frozenset({CaseStatus.ASSESSMENT_SCHEDULED}),
    "decided": frozenset(
        {CaseStatus.VALIDATED_FULL, CaseStatus.VALIDATED_PARTIAL, CaseStatus.NOT_VALIDATED}
    ),
    "certified": frozenset({CaseStatus.CERTIFICATE_ISSUED}),
    "ended": frozenset(
        {
            CaseStatus.NOT_ADMITTED,
            CaseStatus.NOT_ADMITTED_TO_ASSESSMENT,
            CaseStatus.CLOSED_TRANSPARENCY_ONLY,
            CaseStatus.WITHDRAWN,
            CaseStatus.CANCELLED,
        }
    ),
}


def last_months(now: dt.datetime, count: int = 12) -> list[dt.date]:
    """The first days of the last ``count`` months in Rome, the current one last."""
    local = in_rome(now)
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _bounds(months: Sequence[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Each month's [start, end) as UTC instants."""
    ends = [*months[1:], _next_month(months[-1])]
    return [
        (
            rome_to_utc(dt.datetime.combine(a, dt.time())),
            rome_to_utc(dt.datetime.combine(b, dt.time())),
        )
        for a, b in zip(months, ends, strict=True)
    ]


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _per_month(
    column: ColumnElement[dt.datetime] | InstrumentedAttribute[dt.datetime],
    months: Sequence[dt.date],
) -> list[ColumnElement[int]]:
    """One ``SUM(CASE …)`` per month: the rows whose ``column`` falls in it."""
    return [
        func.coalesce(func.sum(case_((and_(column >= a, column < b), 1), else_=0)), 0)
        for a, b in _bounds(months)
    ]


@dataclass(frozen=True)
class Series:
    """Counts per month of one named series."""

    name: str
    counts: list[int]


@dataclass(frozen=True)
class OutcomeCounts:
    """Cases with a decided outcome: all competences validated, some, none."""

    label: str
    full: int
    partial: int
    none: int

    @property
    def total(self) -> int:
        return self.full + self.partial + self.none


@dataclass(frozen=True)
class Dashboard:
    months: list[dt.date]
    stages: list[Series]
    by_profile: list[OutcomeCounts]
    by_ente: list[OutcomeCounts]
    days_to_certificate: list[float]
    verifications: list[int]

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_certificate) if self.days_to_certificate else None


def dashboard(
    session: Session, entes: Sequence[Organisation], now: dt.datetime, months: int = 12
) -> Dashboard:
    """The figures for the cases of ``entes`` over the last ``months`` months (Rome)."""
    ids = [e.id for e in entes]
    window = last_months(now, months)
    return Dashboard(
        window,
        _stages(session, ids, window),
        _outcomes(session, ids, Profile.code),
        _outcomes(session, ids, Organisation.short_name),
        _days_to_certificate(session, ids),
        _verifications(session, ids, window),
    )


def _stages(session: Session, ids: list[uuid.UUID], months: list[dt.date]) -> list[Series]:
    """Per month, the cases that first entered each stage."""
    row = CaseTransition
    series = []
    for name, states in STAGES.items():
        entered = (
            select(row.case_id, func.min(row.at).label("at"))
            .join(CertificationCase, CertificationCase.id == row.case_id)
            .where(
                CertificationCase.ente_titolato_id.in_(ids),
                row.to_status.in_([s.value for s in states]),
            )
            .group_by(row.case_id)
            .subquery()
        )
        counts = session.execute(select(*_per_month(entered.c.at, months))).one()
        series.append(Series(name, [int(n) for n in counts]))
    return series


def _outcomes(
    session: Session, ids: list[uuid.UUID], group: InstrumentedAttribute[str]
) -> list[OutcomeCounts]:
    """Cases whose outcome is decided, per ``group``: every competence of the current round
    validated (full), some (partial), none."""
    outcome = CompetenceOutcome
    case = CertificationCase
    per_case = (
        select(
            outcome.case_id,
            func.sum(case_((outcome.outcome == Outcome.VALIDATA, 1), else_=0)).label("ok"),
            func.count().label("n"),
        )
        .join(case, and_(case.id == outcome.case_id, case.assessment_round == outcome.round))
        .where(
            case.ente_titolato_id.in_(ids),
            outcome.superseded_at.is_(None),
            outcome.outcome != Outcome.INTEGRAZIONE_RICHIESTA,
        )
        .group_by(outcome.case_id)
        .subquery()
    )
    full = func.sum(case_((per_case.c.ok == per_case.c.n, 1), else_=0))
    partial = func.sum(case_((and_(per_case.c.ok > 0, per_case.c.ok < per_case.c.n), 1), else_=0))
    none = func.sum(case_((per_case.c.ok == 0, 1), else_=0))
    rows = session.execute(
        select(group, full, partial, none)
        .select_from(per_case)
        .join(case, case.id == per_case.c.case_id)
        .join(Profile, Profile.id == case.target_profile_id)
        .join(Organisation, Organisation.id == case.ente_titolato_id)
        .group_by(group)
        .order_by(group)
    )
    return [OutcomeCounts(str(name), int(f), int(p), int(z)) for name, f, p, z in rows]


def _days_to_certificate(session: Session, ids: list[uuid.UUID]) -> list[float]:
    """For each case with a certificate, days from its application to its first certificate."""
    rows = session.execute(
        select(CertificationCase.submitted_at, func.min(Certificate.issued_at))
        .join(Certificate, Certificate.case_id == CertificationCase.id)
        .where(
            CertificationCase.ente_titolato_id.in_(ids),
            CertificationCase.submitted_at.is_not(None),
            Certificate.status.in_(PUBLIC_STATES),
        )
        .group_by(CertificationCase.id, CertificationCase.submitted_at)
    )
    days = []
    for submitted, issued in rows:
        if submitted is None or issued is None:  # pragma: no cover - filtered above
            continue
        days.append(round((_aware(issued) - _aware(submitted)).total_seconds() / 86400, 1))
    return sorted(days)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _verifications(session: Session, ids: list[uuid.UUID], months: list[dt.date]) -> list[int]:
    """Verifications per month of the certificates of ``entes`` (any verdict): the log's rows,
    and the daily counts of those past its retention period (Rome days, so whole months)."""
    logged = session.execute(
        select(*_per_month(VerificationLog.at, months))
        .select_from(VerificationLog)
        .join(Certificate, Certificate.id == VerificationLog.certificate_id)
        .where(Certificate.organisation_id.in_(ids))
    ).one()
    ends = [*months[1:], _next_month(months[-1])]
    day, count = VerificationCount.day, VerificationCount.count
    counted = session.execute(
        select(
            *(
                func.coalesce(func.sum(case_((and_(day >= a, day < b), count), else_=0)), 0)
                for a, b in zip(months, ends, strict=True)
            )
        )
        .select_from(VerificationCount)
        .join(Certificate, Certificate.id == VerificationCount.certificate_id)
        .where(Certificate.organisation_id.in_(ids))
    ).one()
    return [int(a) + int(b) for a, b in zip(logged, counted, strict=True)]
