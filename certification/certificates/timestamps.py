"""Keeping seals verifiable for life: renewing the document time-stamp of stored certificates
(PAdES B-LTA) before the last time-stamp's TSA certificate expires.

Each renewal is an incremental update of the stored PDF (the DSS with the validation data of
the last time-stamp, then a new document time-stamp over the whole file); the seal and
everything it covers stay as issued. The register then serves the renewed bytes and
recognises both them and every earlier version's digest (``CertificatePdfVersion``): a
holder's earlier download is bytes we served for the same certificate, the beginning of the
file we keep, so its upload verifies as it did (by the register, not by its last time-stamp,
which may have expired since).

Renewing is idempotent: a certificate whose latest time-stamp is by a TSA certificate that
lives longer than the margin is left alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.certificates.sealing import add_document_timestamp, last_timestamp_certificate
from certification.certificates.tsa import DemoTimestampAuthority, TimestampSource
from certification.errors import Conflict
from certification.models import Certificate, CertificatePdfVersion, UserAccount
from certification.portfolio.operations import store_file
from certification.storage.blobs import BlobStorage


class TimestampKeyExpiring(Conflict):
    """The time-stamping authority's own certificate expires within the margin: a renewal with
    it would need renewing again at once (run ``keys init`` to renew Attesta's TSA)."""

    code = "timestamp_key_expiring"


@dataclass(frozen=True)
class Renewal:
    """One certificate whose stored PDF got a new document time-stamp."""

    number: str
    old_sha256: str
    new_sha256: str
    expiring: dt.datetime  # when the previous latest time-stamp's TSA certificate expires


def refresh_timestamps(
    session: Session,
    actor: UserAccount | None,
    storage: BlobStorage,
    timestamps: TimestampSource,
    root_pem: str,
    crl: bytes | None,
    now: dt.datetime,
    *,
    within: dt.timedelta,
    tsa_ends: dt.datetime | None = None,
) -> list[Renewal]:
    """Add a document time-stamp to each issued (public) certificate whose latest time-stamp's
    TSA certificate expires before ``now + within``; ``tsa_ends``: when the TSA that stamps now
    stops being valid (Attesta's own; :class:`TimestampKeyExpiring` when it is within the
    margin as well). Certificates sealed without a time-stamp are left as they are."""
    limit = now + within
    if tsa_ends is not None and tsa_ends <= limit:
        raise TimestampKeyExpiring("the time-stamping key expires within the margin")
    renewed = []
    certificates = session.scalars(
        select(Certificate)
        .where(Certificate.status.in_(PUBLIC_STATES), Certificate.pdf_sha256.is_not(None))
        .order_by(Certificate.issued_at, Certificate.id)
    )
    for certificate in certificates:
        old = str(certificate.pdf_sha256)
        pdf = storage.get(old)
        tsa = last_timestamp_certificate(pdf)
        if tsa is None or tsa.not_valid_after_utc > limit:
            continue
        renewed_pdf = add_document_timestamp(pdf, timestamps, root_pem, crl, now)
        after = last_timestamp_certificate(renewed_pdf)
        if after is None or after.not_valid_after_utc <= limit:
            raise TimestampKeyExpiring("the time-stamping authority's certificate expires soon")
        # The holder's earlier download is still ours: its digest keeps finding the certificate.
        session.add(
            CertificatePdfVersion(sha256=old, certificate_id=certificate.id, replaced_at=now)
        )
        certificate.pdf_sha256 = store_file(session, storage, renewed_pdf, "application/pdf", now)
        certificate.pdf_size = len(renewed_pdf)
        record_event(
            session,
            actor,
            "certificate.timestamp_renewed",
            "certificate",
            str(certificate.id),
            now,
            organisation_id=certificate.organisation_id,
            previous_pdf_sha256=old,
        )
        renewed.append(
            Renewal(certificate.number or "", old, certificate.pdf_sha256, tsa.not_valid_after_utc)
        )
    session.flush()
    return renewed


def local_tsa_ends(timestamps: TimestampSource) -> dt.datetime | None:
    """When Attesta's own TSA certificate expires (None for another source)."""
    return timestamps.ends if isinstance(timestamps, DemoTimestampAuthority) else None
