"""Certificates (Certificato / attestato di competenza), their frozen competences, the status
lists that publish revocation and suspension, and bulk issuance requests (domain.md §6.5).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.certificates.content import CertificateContent
from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import Organisation, UserAccount, _enum
from certification.models.cases import CertificationCase


class CertificateStatus(enum.StrEnum):
    """PENDING is reserved, not issued: it is never shown, served or verified. ABANDONED is a
    reservation that could not be completed; its number and status index stay burnt."""

    PENDING = "pending"
    ISSUED = "issued"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    ABANDONED = "abandoned"


class CertificateKind(enum.StrEnum):
    COMPETENZE_SINGOLE = "competenze_singole"
    PROFILO_COMPLETO = "profilo_completo"


class StatusPurpose(enum.StrEnum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class Certificate(UUIDPrimaryKey, ModelBase):
    """An issued (or reserved) certificate; immutable once ISSUED but for its status.

    ``content`` is the frozen snapshot everything is made from (holder, issuer, rubric,
    competences, learning context, assessment): the PDF and the credential are rendered from it
    once, and the stored bytes (``pdf_sha256``, ``credential_sha256``) are what is served.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("case_id", "generation"),
        UniqueConstraint("organisation_id", "status_index"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="RESTRICT"), index=True
    )
    #: 1 for the first certificate of a case; a correction (rettifica) issues generation + 1.
    generation: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    number: Mapped[str] = mapped_column(String(40), unique=True)
    #: 27 Crockford base32 characters, 130 random bits and a check character
    #: (certification.numbering.codes; 26, no check character, on certificates issued before
    #: it): the public look-up key.
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    #: Position in the ente's revocation and suspension status lists; random, never reused.
    status_index: Mapped[int]
    kind: Mapped[CertificateKind] = mapped_column(_enum(CertificateKind))
    locale: Mapped[str] = mapped_column(String(5))
    status: Mapped[CertificateStatus] = mapped_column(_enum(CertificateStatus), index=True)
    #: Typed by :mod:`certification.certificates.content` (stored as JSON, as always).
    content: Mapped[CertificateContent] = mapped_column(JSON())
    holder_person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    issued_at: Mapped[dt.datetime]
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    reserved_at: Mapped[dt.datetime]
    completed_at: Mapped[dt.datetime | None]
    #: Indexed: an uploaded PDF is first looked up by its hash (make bench: scale).
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int | None]
    credential_sha256: Mapped[str | None] = mapped_column(String(64))
    seal_kid: Mapped[str | None] = mapped_column(ForeignKey("signing_keys.kid"))
    credential_kid: Mapped[str | None] = mapped_column(ForeignKey("signing_keys.kid"))
    status_changed_at: Mapped[dt.datetime | None]
    status_reason_code: Mapped[str | None] = mapped_column(String(40))
    #: Internal: never shown to verifiers (security.md, issue 6).
    status_reason: Mapped[str | None] = mapped_column(Text)
    #: The regional register's acknowledgement (domain.md §7.2 #21), once received.
    registry_ref: Mapped[str | None] = mapped_column(String(60))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT")
    )
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL")
    )

    case: Mapped[CertificationCase] = relationship()
    organisation: Mapped[Organisation] = relationship()
    issued_by: Mapped[UserAccount | None] = relationship()
    competences: Mapped[list[CertificateCompetence]] = relationship(
        back_populates="certificate",
        cascade="all, delete-orphan",
        order_by="CertificateCompetence.position",
    )
    evidence_commitments: Mapped[list[CertificateEvidence]] = relationship(
        back_populates="certificate",
        cascade="all, delete-orphan",
        order_by="CertificateEvidence.position",
    )


class CertificateCompetence(ModelBase):
    """A certified competence as printed: frozen copies, so a later QRSP change alters nothing."""

    __tablename__ = "certificate_competences"

    certificate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    title_it: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    eqf_level: Mapped[int | None]
    ada_codes: Mapped[list[str]]
    achieved_level: Mapped[str | None] = mapped_column(String(10))

    certificate: Mapped[Certificate] = relationship(back_populates="competences")


class CertificateEvidence(ModelBase):
    """One evidence item of a certificate in the salted-commitment format (content
    ``evidence_format`` 2, :mod:`certification.certificates.commitments`): the secret salt, kept by
    Attesta and given only to the holder (data export), and what the commitment was computed over.
    The credential carries only the commitment and the indicators."""

    __tablename__ = "certificate_evidence"

    certificate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    #: The item's position in the certificate's (and the credential's) evidence list.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The portfolio item; None once erased (the salt and hashes stay with the certificate).
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evidence.id", ondelete="SET NULL"), index=True
    )
    #: Hex of the random salt (32 bytes): the secret that makes the commitment unguessable.
    salt: Mapped[str] = mapped_column(String(64))
    #: sha256 of the evidence content (the file's bytes, or a link's or text's UTF-8).
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: The file's name (None for a link or a text).
    file_name: Mapped[str | None] = mapped_column(String(200))
    #: The resultDescription ids of the indicators the item supports, as committed.
    indicators: Mapped[list[str]]
    commitment: Mapped[str] = mapped_column(String(64))

    certificate: Mapped[Certificate] = relationship(back_populates="evidence_commitments")


class CertificatePdfVersion(ModelBase):
    """A sealed PDF that Attesta served for a certificate before it was replaced by a later
    revision of the same file: ``certificates refresh-timestamps`` appends a document
    time-stamp (an incremental update), so the stored bytes, and their digest, change, while a
    holder's earlier download stays what we issued. Verification by upload finds a certificate
    by its current digest or by one of these (the digest is enough: those bytes are the
    current file's beginning)."""

    __tablename__ = "certificate_pdf_versions"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    certificate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    #: When a later revision replaced it.
    replaced_at: Mapped[dt.datetime]


class StatusList(UUIDPrimaryKey, ModelBase):
    """One ente's W3C Bitstring Status List for a purpose; ``credential`` is the signed list as
    published (re-signed on every change), ``version`` guards concurrent updates."""

    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("organisation_id", "purpose"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    purpose: Mapped[StatusPurpose] = mapped_column(_enum(StatusPurpose))
    size_bits: Mapped[int]
    bitstring: Mapped[bytes] = mapped_column(LargeBinary)
    credential: Mapped[dict[str, Any] | None]
    updated_at: Mapped[dt.datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class BulkIssuance(UUIDPrimaryKey, ModelBase):
    """A bulk issuance request; its idempotency key makes a repeated request return this one."""

    __tablename__ = "bulk_issuances"
    __table_args__ = (UniqueConstraint("requested_by_id", "idempotency_key"),)

    idempotency_key: Mapped[str] = mapped_column(String(100))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="RESTRICT")
    )
    case_ids: Mapped[list[str]]
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]

    #: One row per case, in the request's order: each written alone, in the transaction that
    #: issues its certificate (a list in one column would be rewritten whole for every item).
    entries: Mapped[list[BulkIssuanceItem]] = relationship(
        order_by="BulkIssuanceItem.position",
        cascade="all, delete-orphan",
        lazy="selectin",
        back_populates="bulk",
    )

    @property
    def items(self) -> list[dict[str, Any]]:
        """The items as the API gives them: {"case_id", "status", "certificate_id"?,
        "number"?, "verification_code"?, "error"?}, in the request's order."""
        return [entry.as_dict() for entry in self.entries]


class BulkIssuanceItem(ModelBase):
    """One case of a bulk request and how it went: pending, issued (with its certificate) or
    failed (with the error's code)."""

    __tablename__ = "bulk_issuance_items"
    __table_args__ = (Index("ix_bulk_issuance_items_bulk_id_status", "bulk_id", "status"),)

    bulk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bulk_issuances.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36))
    #: pending, issued or failed
    status: Mapped[str] = mapped_column(String(10))
    certificate_id: Mapped[str | None] = mapped_column(String(36))
    number: Mapped[str | None] = mapped_column(String(40))
    verification_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(100))

    bulk: Mapped[BulkIssuance] = relationship(back_populates="entries")

    def as_dict(self) -> dict[str, Any]:
        found = {
            "case_id": self.case_id,
            "status": self.status,
            "certificate_id": self.certificate_id,
            "number": self.number,
            "verification_code": self.verification_code,
            "error": self.error,
        }
        return {k: v for k, v in found.items() if v is not None}


class VerificationChannel(enum.StrEnum):
    """How a verifier reached us: the QR code's link, the web page, the API, or a wallet's
    presentation (OpenID4VP ``direct_post`` to the employer's request on /verify/wallet)."""

    QR = "qr"
    WEB = "web"
    API = "api"
    WALLET = "wallet"


class VerificationLog(UUIDPrimaryKey, ModelBase):
    """One verification: what was checked, how, and the verdict. Nothing about the verifier
    (no address, no agent): the holder sees how often their certificate was checked."""

    __tablename__ = "verification_logs"

    certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    #: Indexed: the retention job takes the oldest rows first.
    at: Mapped[dt.datetime] = mapped_column(index=True)
    channel: Mapped[VerificationChannel] = mapped_column(_enum(VerificationChannel))
    #: code, pdf, json, file or sd-jwt (a wallet's presentation)
    method: Mapped[str] = mapped_column(String(10))
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))


class VerificationCount(UUIDPrimaryKey, ModelBase):
    """Verifications of one day (Rome's calendar) counted together, once their log rows are
    past the retention period: per certificate, channel, method and verdict. Every figure the
    log gives (the holder's count, the Region's statistics) adds these in."""

    __tablename__ = "verification_counts"
    __table_args__ = (
        Index(
            "ix_verification_counts_key", "day", "certificate_id", "channel", "method", "verdict"
        ),
    )

    #: The day in Rome (so Rome's months, which the statistics count, are whole days).
    day: Mapped[dt.date] = mapped_column(Date)
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[VerificationChannel] = mapped_column(_enum(VerificationChannel))
    method: Mapped[str] = mapped_column(String(10))
    verdict: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)


class VerificationResult(ModelBase):
    """The verdict of a file checked online, kept for 30 days at an address the verifier can
    share or keep (``/verify/r/<id>``): the verdict, its dimensions and the certificate found;
    nothing from the file itself."""

    __tablename__ = "verification_results"

    #: Random, URL-safe, unguessable: the address is the only key to the result.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE")
    )
    checked_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: code, pdf or json
    method: Mapped[str] = mapped_column(String(10))
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    #: [{"name", "state", "outcome", "detail"}] as the check answered them.
    dimensions: Mapped[list[Any]]

    certificate: Mapped[Certificate | None] = relationship()
