"""The verification log's retention: old rows become counts per Rome day, and every figure read
from the log (the Region's statistics, the holder's count) is the same before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification.models import (
    AuditEvent,
    Certificate,
    VerificationChannel,
    VerificationCount,
    VerificationLog,
)
from certification.people.roles import OrganisationKind
from certification.supervision.statistics import dashboard
from certification.verification.checks import verification_count
from certification.verification.retention import prune_verification_log, retention_cutoff
from tests.support.factories import make_case, make_certificate, make_organisation

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
RETENTION = dt.timedelta(days=30)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _certificate(db: Session, ente: Any) -> Certificate:
    return make_certificate(db, make_case(db, ente=ente), issued_at=_at("2026-01-10T10:00"))


def _verified(db: Session, certificate: Certificate | None, at: str, **kw: Any) -> None:
    db.add(
        VerificationLog(
            certificate_id=certificate.id if certificate else None,
            at=_at(at),
            channel=kw.get("channel", VerificationChannel.WEB),
            method=kw.get("method", "code"),
            verdict=kw.get("verdict", "valid"),
            reason="ok",
        )
    )


def _world(db: Session) -> tuple[list[Any], list[Certificate]]:
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    a = make_organisation(db, short_name="A ente", accredited_by_id=region.id)
    z = make_organisation(db, short_name="Z ente")
    one, two, theirs = _certificate(db, a), _certificate(db, a), _certificate(db, z)
    for at in (
        "2026-03-15T09:00",
        "2026-03-15T10:00",
        "2026-09-30T21:59",  # still 30 September in Rome
        "2026-09-30T22:30",  # 1 October in Rome
        "2026-10-31T23:30",  # 1 November in Rome
        "2026-11-01T22:59",  # 1 November in Rome, the last minute
        "2026-11-20T08:00",  # within the retention period: kept as a row
        "2026-12-01T08:00",
    ):
        _verified(db, one, at)
    _verified(db, one, "2026-03-15T11:00", channel=VerificationChannel.QR)
    _verified(db, one, "2026-03-15T12:00", method="pdf", verdict="altered")
    _verified(db, two, "2026-06-01T10:00", channel=VerificationChannel.API)
    _verified(db, two, "2026-06-01T11:00", channel=VerificationChannel.API)
    _verified(db, theirs, "2026-06-01T10:00")
    _verified(db, None, "2026-06-01T10:00", verdict="not_found")
    _verified(db, None, "2026-11-25T10:00", verdict="not_found")
    db.flush()
    return [a], [one, two, theirs]


def test_pruning_keeps_every_figure_and_removes_old_rows(db: Session) -> None:
    entes, certificates = _world(db)
    before = dashboard(db, entes, NOW)
    counts = [verification_count(db, c.id) for c in certificates]
    assert sum(before.verifications) == 12  # this year: A's certificates only
    assert counts == [10, 2, 1]

    pruned = 0
    while done := prune_verification_log(db, None, NOW, retention=RETENTION, limit=3):
        pruned += done  # in small batches: counts of a day are added to as batches come
    db.commit()
    assert pruned == 12

    after = dashboard(db, entes, NOW)
    assert after.verifications == before.verifications
    assert [verification_count(db, c.id) for c in certificates] == counts
    cutoff = retention_cutoff(NOW, RETENTION)
    assert cutoff == _at("2026-11-01T23:00")  # 2 November, 00:00 in Rome
    left = db.scalars(select(VerificationLog.at).order_by(VerificationLog.at)).all()
    assert left == [_at("2026-11-20T08:00"), _at("2026-11-25T10:00"), _at("2026-12-01T08:00")]
    # One row per Rome day x certificate x channel x method x verdict.
    day_counts = {
        (c.day.isoformat(), c.certificate_id, c.channel.value, c.method, c.verdict): c.count
        for c in db.scalars(select(VerificationCount))
    }
    one, two, theirs = (c.id for c in certificates)
    assert day_counts == {
        ("2026-03-15", one, "web", "code", "valid"): 2,
        ("2026-03-15", one, "qr", "code", "valid"): 1,
        ("2026-03-15", one, "web", "pdf", "altered"): 1,
        ("2026-09-30", one, "web", "code", "valid"): 1,
        ("2026-10-01", one, "web", "code", "valid"): 1,
        ("2026-11-01", one, "web", "code", "valid"): 2,
        ("2026-06-01", two, "api", "code", "valid"): 2,
        ("2026-06-01", theirs, "web", "code", "valid"): 1,
        ("2026-06-01", None, "web", "code", "not_found"): 1,
    }
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "verification_log.pruned"))
    assert sum(e.details["rows"] for e in events) == 12
    # Nothing more to do until time passes.
    assert prune_verification_log(db, None, NOW, retention=RETENTION) == 0
    later = NOW + dt.timedelta(days=40)
    assert prune_verification_log(db, None, later, retention=RETENTION) == 3
    assert db.scalar(select(func.count()).select_from(VerificationLog)) == 0
    assert [verification_count(db, c.id) for c in certificates] == counts
    assert dashboard(db, entes, NOW).verifications == before.verifications


@pytest.mark.parametrize(
    ("retention", "limit"), [(dt.timedelta(0), 10), (dt.timedelta(days=-1), 10), (RETENTION, 0)]
)
def test_a_retention_or_batch_that_is_not_positive_is_refused(
    db: Session, retention: dt.timedelta, limit: int
) -> None:
    with pytest.raises(ValueError, match="positive"):
        prune_verification_log(db, None, NOW, retention=retention, limit=limit)
