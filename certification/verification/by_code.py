"""The public check by code on a plain connection: the hot path of ``/verify/<code>`` and
``GET /api/v1/verify/<code>`` (issue 22).

:func:`certification.verification.checks.verify_code` loads the ORM certificate in a session,
then :func:`~certification.verification.public.public_view` reads its successor with a second
query: the session's start and end and the ORM's loading were two fifths of the request. Here
one Core statement reads only the columns the answer shows or judges by (with the two signing
keys, the holder's two public choices and the successor's code and status beside them), on a
connection, and builds the same verdict and the same view from them
(:func:`~certification.verification.checks.register_dimensions`,
:func:`~certification.verification.public.shown`). Everything is read live: a status change
shows at the next check.

A certificate issued before its content listed the profile's competences measures its coverage
against the register's profile through the ORM: :func:`answer_by_code` gives None for it and
the caller takes the ORM path.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, select
from sqlalchemy.orm import aliased

from certification.certificates.coverage import coverage, frozen_required
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.models import Certificate, CertificateKind
from certification.numbering.codes import Mistyped, read_code
from certification.verification.checks import (
    REGISTER_FACTS_WIDTH,
    Dimension,
    Method,
    Outcome,
    RegisterFacts,
    Verification,
    _mistyped,
    _not_found,
    _verdict,
    register_dimensions,
    register_facts,
    with_register_facts,
)
from certification.verification.public import PublicFacts, shown


@dataclass(frozen=True)
class PublicAnswer:
    """A check by code: the verdict, and for a certificate found its id (for the log) and what
    the verifier sees of it (:func:`~certification.verification.public.public_view`)."""

    verification: Verification
    certificate_id: uuid.UUID | None = None
    view: dict[str, Any] | None = None


_CERTIFICATE = (
    Certificate.id,
    Certificate.status,
    Certificate.content,
    Certificate.issued_at,
    Certificate.completed_at,
    Certificate.organisation_id,
    Certificate.number,
    Certificate.verification_code,
    Certificate.locale,
    Certificate.kind,
    Certificate.status_changed_at,
)


@functools.cache
def _statement() -> Executable:
    """Built once, on first use (building it configures the mappers)."""
    successor = aliased(Certificate)
    return (
        with_register_facts(select(*_CERTIFICATE))
        .add_columns(successor.verification_code, successor.status)
        .outerjoin(successor, successor.id == Certificate.superseded_by_id)
        .where(Certificate.verification_code == bindparam("code"))
    )


def answer_by_code(
    connection: Connection, code: str, now: dt.datetime, *, details: bool = True
) -> PublicAnswer | None:
    """The check of ``code`` as :func:`~certification.verification.checks.verify_code` and
    ``public_view`` give it (``details``: see :func:`~certification.verification.public.shown`);
    None for a certificate whose coverage needs the ORM (see above).
    One statement, no more: the caller runs it without a transaction (``ONE_STATEMENT``)."""
    normal = read_code(code)
    if isinstance(normal, Mistyped):
        return PublicAnswer(_mistyped())
    row = connection.execute(_statement(), {"code": normal}).first() if normal else None
    if row is None or row.status not in PUBLIC_STATES:
        return PublicAnswer(_not_found(Method.CODE))
    required = frozen_required(row.content)
    if required is None:
        return None
    start = len(_CERTIFICATE)
    keys, consents = register_facts(row[start : start + REGISTER_FACTS_WIDTH])
    successor_code, successor_status = row[-2], row[-1]
    facts = RegisterFacts(
        row.status, row.content, row.issued_at, row.completed_at, row.organisation_id
    )
    dimensions = register_dimensions(facts, keys, now)
    dimensions["identical"] = Dimension("identical", "register_record", Outcome.NOT_APPLICABLE)
    found = coverage(row.content, required)
    view = shown(
        PublicFacts(
            *(row.number, row.verification_code, row.issued_at, row.locale, row.kind),
            *(row.status, row.status_changed_at, row.content),
            # As certificate_coverage: partial exactly when its kind says so.
            replace(found, partial=row.kind == CertificateKind.COMPETENZE_SINGOLE),
            successor_code if successor_status in PUBLIC_STATES else None,
        ),
        consents,
        details=details,
    )
    return PublicAnswer(_verdict(Method.CODE, dimensions, None), row.id, view)
