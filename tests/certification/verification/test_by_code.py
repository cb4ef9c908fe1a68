"""certification.verification.by_code: the public check by code on a plain connection gives the
verdict and the view that verify_code and public_view give, through every status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from certification.certificates.lifecycle import PUBLIC_STATES
from certification.models import Certificate, CertificateStatus
from certification.verification.by_code import answer_by_code
from certification.verification.checks import (
    verify_code,
)
from certification.verification.public import (
    public_view,
    set_public_consents,
)
from tests.support.certificates import ISSUE_TIME, certificate_world, issue
from tests.support.worlds import assessment_world

NOW = ISSUE_TIME + dt.timedelta(days=3)
_NOT_PUBLIC = next(s for s in CertificateStatus if s not in PUBLIC_STATES)


def _same_as_the_orm(db: Session, code: str) -> dict[str, Any] | None:
    db.flush()
    fast = answer_by_code(db.connection(), code, NOW)
    assert fast is not None
    slow = verify_code(db, code, NOW)
    assert fast.verification == slow  # verdict, reason, method and the five dimensions
    if slow.certificate is None:
        assert fast.view is None and fast.certificate_id is None
        return None
    assert fast.certificate_id == slow.certificate.id
    assert fast.view == public_view(db, slow.certificate, slow.consents)
    # The API's brief view: the same, each competence down to what the API's answer shows.
    brief = answer_by_code(db.connection(), code, NOW, details=False)
    assert brief is not None and brief.verification == slow
    summary = ("code", "title_it", "title_en", "eqf_level")
    competences = [{k: c[k] for k in summary} for c in fast.view["competences"]]
    assert brief.view == {**fast.view, "competences": competences}
    return fast.view


@pytest.mark.slow
def test_every_status_and_choice_reads_as_the_orm_reads_it(
    db: Session, connection: Connection, storage: Any, renderer: Any
) -> None:
    world = certificate_world(db, connection, assessment_world(db), storage, renderer)
    certificate: Certificate = issue(db, world)
    code = certificate.verification_code
    successor = Certificate(
        **{
            column: getattr(certificate, column)
            for column in (
                *("case_id", "organisation_id", "kind", "locale", "content"),
                *("holder_person_id", "issued_at", "reserved_at"),
            )
        },
        status_index=certificate.status_index + 1,
        generation=certificate.generation + 1,
        number=certificate.number + "-2",
        verification_code=code[:-4] + "ZZZZ",
        status=CertificateStatus.ISSUED,
    )
    db.add(successor)
    changed = ISSUE_TIME + dt.timedelta(days=1)
    table: list[tuple[CertificateStatus, Certificate | None, CertificateStatus]] = [
        (CertificateStatus.ISSUED, None, CertificateStatus.ISSUED),
        (CertificateStatus.SUSPENDED, None, CertificateStatus.ISSUED),
        (CertificateStatus.REVOKED, None, CertificateStatus.ISSUED),
        (CertificateStatus.SUPERSEDED, successor, CertificateStatus.ISSUED),
        (CertificateStatus.SUPERSEDED, successor, CertificateStatus.REVOKED),
        (CertificateStatus.SUPERSEDED, successor, _NOT_PUBLIC),  # the correction not issued
        (CertificateStatus.ISSUED, None, CertificateStatus.ISSUED),  # reinstated
    ]
    seen = set()
    for shown in (False, True):
        set_public_consents(
            db,
            world.candidate,
            certificate,
            show_name=shown,
            show_evidence=shown,
            text_version="t",
            now=NOW,
        )
        for status, superseded_by, successor_status in table:
            certificate.status = status
            certificate.status_changed_at = None if status == CertificateStatus.ISSUED else changed
            certificate.superseded_by_id = superseded_by.id if superseded_by else None
            successor.status = successor_status
            view = _same_as_the_orm(db, code)
            assert view is not None and view["status"] == status.value
            assert ("evidence" in view) is shown
            seen.add((status, view["superseded_by"] is not None))
    assert (CertificateStatus.SUPERSEDED, True) in seen  # a public successor is named
    assert (CertificateStatus.SUPERSEDED, False) in seen  # one not in the register is not
    for status in set(CertificateStatus) - set(PUBLIC_STATES):
        certificate.status = status
        assert _same_as_the_orm(db, code) is None  # not in the public register
    certificate.status = CertificateStatus.ISSUED
    assert _same_as_the_orm(db, "0" * 26) is None  # unknown
    assert _same_as_the_orm(db, code[:-1] + ("0" if code[-1] != "0" else "1")) is None
    # Issued before the content listed the profile's competences: the ORM path decides.
    standard = dict(certificate.content["standard"])
    standard.pop("profile_competences", None)
    certificate.content = {**certificate.content, "standard": standard}
    db.flush()
    assert answer_by_code(db.connection(), code, NOW) is None
