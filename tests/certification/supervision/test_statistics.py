"""The dashboard's figures on a small known world: Rome's months (an application at 23:30 UTC
on 31 October is November's), outcomes of the current round only, the median, verifications of
the supervised entes' certificates only."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.models import (
    CaseTransition,
    Certificate,
    CompetenceOutcome,
    VerificationChannel,
    VerificationLog,
)
from certification.models.assessment import Outcome
from certification.people.roles import OrganisationKind
from certification.supervision.statistics import dashboard, last_months
from tests.support.factories import make_case, make_certificate, make_organisation, profile

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def _certificate(db: Session, case: Any, issued: str) -> Certificate:
    return make_certificate(db, case, issued_at=_at(issued))


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _case(
    db: Session, ente: Any, submitted: str, steps: list[tuple[str, CaseStatus]], **kw: Any
) -> Any:
    case = make_case(db, ente=ente, status=steps[-1][1] if steps else CaseStatus.SUBMITTED, **kw)
    case.submitted_at = _at(submitted)
    for n, (at, status) in enumerate([(submitted, CaseStatus.SUBMITTED), *steps]):
        db.add(
            CaseTransition(
                case_id=case.id,
                sequence=n,
                event="e",
                from_status=None,
                to_status=status.value,
                at=_at(at),
                payload={},
                prev_hash="0" * 64,
                hash=hashlib.sha256(f"{case.id}{n}".encode()).hexdigest(),
            )
        )
    return case


def _outcome(db: Session, case: Any, code: str, outcome: Outcome, **kw: Any) -> None:
    db.add(
        CompetenceOutcome(
            case_id=case.id,
            round=kw.pop("round", 1),
            competence_code=code,
            outcome=outcome,
            rationale="r",
            methods=[],
            evidence_ids=[],
            decided_by=[],
            decided_at=NOW,
            **kw,
        )
    )


def _verified(db: Session, certificate: Certificate, at: str) -> None:
    db.add(
        VerificationLog(
            certificate_id=certificate.id,
            at=_at(at),
            channel=VerificationChannel.WEB,
            method="code",
            verdict="valid",
            reason="ok",
        )
    )


def test_the_figures_of_a_known_world(db: Session) -> None:
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    a = make_organisation(db, short_name="A ente", accredited_by_id=region.id)
    b = make_organisation(db, short_name="B ente", accredited_by_id=region.id)
    elsewhere = make_organisation(db, short_name="Z ente")
    other = profile(db, "DEMO-P02")

    full = _case(
        db,
        a,
        "2026-11-10T09:00",
        [
            ("2026-11-20T09:00", CaseStatus.VALIDATED_FULL),
            ("2026-11-25T09:00", CaseStatus.CERTIFICATE_ISSUED),
        ],
    )
    _outcome(db, full, "DEMO-C01", Outcome.VALIDATA)
    _outcome(db, full, "DEMO-C02", Outcome.NON_VALIDATA, round=0)  # an earlier round
    # 23:30 UTC on 31 October is 00:30 on 1 November in Rome
    partial = _case(
        db,
        a,
        "2026-10-31T23:30",
        [
            ("2026-11-28T10:00", CaseStatus.VALIDATED_PARTIAL),
            ("2026-12-01T23:30", CaseStatus.CERTIFICATE_ISSUED),
        ],
        codes=("DEMO-C01", "DEMO-C02"),
    )
    _outcome(db, partial, "DEMO-C01", Outcome.VALIDATA)
    _outcome(db, partial, "DEMO-C02", Outcome.NON_VALIDATA)
    none = _case(
        db, b, "2026-06-15T08:00", [("2026-07-01T08:00", CaseStatus.NOT_VALIDATED)], target=other
    )
    _outcome(db, none, "DEMO-C01", Outcome.NON_VALIDATA)
    _outcome(db, none, "DEMO-C02", Outcome.VALIDATA, superseded_at=NOW)  # replaced on appeal
    _case(db, b, "2025-11-30T10:00", [])  # before the twelve months
    outside = _case(
        db, elsewhere, "2026-11-05T10:00", [("2026-11-06T10:00", CaseStatus.VALIDATED_FULL)]
    )
    _outcome(db, outside, "DEMO-C01", Outcome.VALIDATA)

    first = _certificate(db, full, "2026-11-25T09:00")
    _certificate(db, partial, "2026-12-01T23:30")
    _verified(db, first, "2026-11-30T22:59")
    _verified(db, first, "2026-11-30T23:00")  # midnight in Rome: December
    _verified(db, first, "2026-12-02T08:00")
    _verified(db, _certificate(db, outside, "2026-11-07T10:00"), "2026-12-01T10:00")
    db.flush()

    figures = dashboard(db, [a, b], NOW)

    assert figures.months == last_months(NOW) and figures.months[0] == dt.date(2026, 1, 1)
    assert figures.months[-1] == dt.date(2026, 12, 1)
    stages = {s.name: s.counts for s in figures.stages}
    jun, jul, oct_, nov, dec = 5, 6, 9, 10, 11
    assert stages["submitted"][jun] == 1 and stages["submitted"][nov] == 2
    assert stages["submitted"][oct_] == 0 and sum(stages["submitted"]) == 3
    assert stages["decided"][jul] == 1 and stages["decided"][nov] == 2
    assert sum(stages["decided"]) == 3
    assert stages["certified"][nov] == 1 and stages["certified"][dec] == 1
    assert sum(stages["assessment"]) == 0 and sum(stages["ended"]) == 0

    assert [(o.label, o.full, o.partial, o.none) for o in figures.by_ente] == [
        ("A ente", 1, 1, 0),
        ("B ente", 0, 0, 1),
    ]
    assert [(o.label, o.full, o.partial, o.none) for o in figures.by_profile] == [
        ("DEMO-P01", 1, 1, 0),
        ("DEMO-P02", 0, 0, 1),
    ]
    assert figures.days_to_certificate == [15.0, 31.0]
    assert figures.median_days == 23.0
    assert figures.verifications[nov] == 1 and figures.verifications[dec] == 2
    assert sum(figures.verifications) == 3


def test_no_data_no_figures(db: Session) -> None:
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    a = make_organisation(db, accredited_by_id=region.id)
    figures = dashboard(db, [a], NOW)
    assert figures.median_days is None and figures.by_ente == []
    assert sum(figures.verifications) == 0 and len(figures.stages[0].counts) == 12
