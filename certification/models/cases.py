"""Certification cases (pratiche), their requested competences, consents, transitions and the
documents rendered for them (domain.md §6.4)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.cases.states import CaseStatus
from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import (
    Organisation,
    Person,
    PrivacyNotice,
    UserAccount,
    _enum,
)
from certification.models.assessment import (
    Appeal,
    AssessmentSession,
    CompetenceOutcome,
    CriterionRating,
    RubricSnapshot,
)
from certification.models.portfolio import StoredFile
from certification.models.standards import Competence, Profile


class WorkflowProfile(enum.StrEnum):
    """National IVC (validation, then certification) or Lombardy's continuous procedure."""

    NATIONAL_IVC_PLUS_CERT = "national_ivc_plus_cert"
    LOMBARDIA_9380 = "lombardia_9380"


class TargetScope(enum.StrEnum):
    FULL_PROFILE = "full_profile"
    SINGLE_COMPETENCES = "single_competences"


class ConsentPurpose(enum.StrEnum):
    PROCESSING_IVC = "processing_ivc"
    PUBLIC_VERIFICATION_PAGE = "public_verification_page"
    #: The holder's choice to show the learning context and evidence list on the public check.
    PUBLIC_EVIDENCE = "public_evidence"
    GUARDIAN = "guardian"
    #: Showing the talent card's first name and initial to partner businesses (domain.md §6.6 #9).
    SHARE_WITH_PARTNERS = "share_with_partners"
    #: Read the platform's privacy notice at sign-up (an acknowledgement, kept with its version).
    PRIVACY_NOTICE = "privacy_notice"


class DocumentKind(enum.StrEnum):
    DOMANDA = "domanda"
    DOCUMENTO_TRASPARENZA = "documento_trasparenza"
    VERBALE = "verbale"
    DOCUMENTO_VALIDAZIONE = "documento_validazione"


class NumberSequence(ModelBase):
    """Counters for protocol and document numbers: unique, never reused (gaps allowed)."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int]


class CertificationCase(UUIDPrimaryKey, ModelBase):
    """A pratica: one candidate's application to one ente titolato for a profile or competences."""

    __tablename__ = "certification_cases"
    #: The staff's lists (certification/cases/worklist.py) read an ente's open cases by state, then
    #: sort the few hundred found; an index by (ente, deadline) led the planner to walk the
    #: ente's whole closed history in deadline order instead (issue 18).
    __table_args__ = (Index("ix_certification_cases_ente_status", "ente_titolato_id", "status"),)

    protocol_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    ente_titolato_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    workflow_profile: Mapped[WorkflowProfile] = mapped_column(_enum(WorkflowProfile))
    target_profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.id", ondelete="RESTRICT")
    )
    target_scope: Mapped[TargetScope] = mapped_column(_enum(TargetScope))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), index=True)
    status_changed_at: Mapped[dt.datetime]
    opened_at: Mapped[dt.datetime]
    submitted_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    assigned_operator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    assigned_tutor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    #: Set when an assessor asks for more evidence (integrazione) or a deadline applies.
    integration_note: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[dt.datetime | None]
    #: The state a case was in before it was suspended for inactivity (reactivation returns).
    suspended_from: Mapped[str | None] = mapped_column(String(40))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: 1 for the first assessment; each upheld appeal starts a new round with a new panel.
    assessment_round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    rejection_reason: Mapped[str | None] = mapped_column(String(40))
    rejection_note: Mapped[str | None] = mapped_column(Text)
    previous_case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="SET NULL")
    )
    #: Optimistic lock: a form posted against an older version is refused, not applied.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    candidate: Mapped[Person] = relationship(foreign_keys=[candidate_id])
    ente_titolato: Mapped[Organisation] = relationship()
    target_profile: Mapped[Profile] = relationship()
    assigned_tutor: Mapped[Person | None] = relationship(foreign_keys=[assigned_tutor_id])
    assigned_operator: Mapped[Person | None] = relationship(foreign_keys=[assigned_operator_id])
    competences: Mapped[list[CaseCompetence]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseCompetence.position"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    transitions: Mapped[list[CaseTransition]] = relationship(
        back_populates="case", order_by="CaseTransition.sequence", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="case", order_by="Document.issued_at", cascade="all, delete-orphan"
    )
    snapshot: Mapped[RubricSnapshot | None] = relationship(cascade="all, delete-orphan")
    sessions: Mapped[list[AssessmentSession]] = relationship(
        cascade="all, delete-orphan", order_by="AssessmentSession.planned_at"
    )
    ratings: Mapped[list[CriterionRating]] = relationship(cascade="all, delete-orphan")
    outcomes: Mapped[list[CompetenceOutcome]] = relationship(
        cascade="all, delete-orphan", order_by="CompetenceOutcome.competence_code"
    )
    appeals: Mapped[list[Appeal]] = relationship(
        cascade="all, delete-orphan", order_by="Appeal.filed_at"
    )


class CaseCompetence(ModelBase):
    """A competence the candidate asks to have recognised in a case."""

    __tablename__ = "case_competences"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), primary_key=True
    )
    competence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competences.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int]

    case: Mapped[CertificationCase] = relationship(back_populates="competences")
    competence: Mapped[Competence] = relationship()


class Consent(UUIDPrimaryKey, ModelBase):
    """A consent given (and possibly withdrawn) for a purpose, by the person or a guardian."""

    __tablename__ = "consents"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE")
    )
    purpose: Mapped[ConsentPurpose] = mapped_column(_enum(ConsentPurpose))
    text_version: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    #: The version of the privacy notice (informativa) shown beside the checkbox when the
    #: consent was given; None for consents given before notices were versioned (or where the
    #: ente had published none).
    privacy_notice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("privacy_notices.id", ondelete="RESTRICT"), index=True
    )

    case: Mapped[CertificationCase | None] = relationship(back_populates="consents")
    privacy_notice: Mapped[PrivacyNotice | None] = relationship()


class CaseTransition(UUIDPrimaryKey, ModelBase):
    """One state change of a case, chained to the previous one by hash (tamper evidence)."""

    __tablename__ = "case_transitions"
    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int]
    event: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    case: Mapped[CertificationCase] = relationship(back_populates="transitions")
    actor: Mapped[UserAccount | None] = relationship()


class Document(UUIDPrimaryKey, ModelBase):
    """A rendered document of a case: the stored PDF bytes and the data they were made from."""

    __tablename__ = "documents"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    locale: Mapped[str] = mapped_column(String(5))
    content: Mapped[dict[str, Any]]
    pdf_sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))
    issued_at: Mapped[dt.datetime]
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )

    case: Mapped[CertificationCase] = relationship(back_populates="documents")
    issued_by: Mapped[UserAccount | None] = relationship()
    pdf: Mapped[StoredFile] = relationship()
