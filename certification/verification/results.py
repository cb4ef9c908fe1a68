"""Verification results kept for a while (issue 19): a verifier who checked a file gets an
address to keep or share (``/verify/r/<id>``) and a printable report, for 30 days. What is kept
is the verdict and its dimensions, and which certificate was found: never the file."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Final

from sqlalchemy import delete
from sqlalchemy.orm import Session

from certification.models import Certificate, VerificationResult
from certification.verification.checks import Dimension, Method, Outcome, Verdict, Verification

KEPT_FOR: Final = dt.timedelta(days=30)


def keep(
    session: Session, result: Verification, certificate: Certificate | None, checked_at: dt.datetime
) -> VerificationResult:
    """Keep ``result`` (checked at ``checked_at``) for :data:`KEPT_FOR`; flushed."""
    kept = VerificationResult(
        id=secrets.token_urlsafe(16),
        certificate_id=certificate.id if certificate is not None else None,
        checked_at=checked_at,
        expires_at=checked_at + KEPT_FOR,
        method=result.method.value,
        verdict=result.verdict.value,
        reason=result.reason,
        dimensions=[
            {"name": d.name, "state": d.state, "outcome": d.outcome.value, "detail": d.detail}
            for d in result.dimensions
        ],
    )
    session.add(kept)
    session.flush()
    return kept


def kept_result(session: Session, result_id: str, now: dt.datetime) -> VerificationResult | None:
    """The kept result at this address, None when there is none or it has expired."""
    if not 10 <= len(result_id) <= 32:
        return None
    found = session.get(VerificationResult, result_id)
    if found is None or found.expires_at <= now:
        return None
    return found


def as_verification(kept: VerificationResult) -> Verification:
    """The kept result as the check answered it."""
    return Verification(
        method=Method(kept.method),
        verdict=Verdict(kept.verdict),
        reason=kept.reason,
        dimensions=tuple(
            Dimension(d["name"], d["state"], Outcome(d["outcome"]), d.get("detail"))
            for d in kept.dimensions
        ),
        certificate=kept.certificate,
    )


def purge_expired(session: Session, now: dt.datetime) -> int:
    """Delete the results whose 30 days are over; how many."""
    gone = session.execute(delete(VerificationResult).where(VerificationResult.expires_at <= now))
    return int(getattr(gone, "rowcount", 0) or 0)
