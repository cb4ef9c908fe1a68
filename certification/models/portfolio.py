"""The candidate's portfolio: experiences, evidence, links to criteria, self-assessment.

The portfolio belongs to the person, not to a case: it stays theirs and can feed later cases
(domain.md §6.4). Evidence becomes append-only (``locked_at``) once a Documento di trasparenza
lists it.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import Organisation, Person, UserAccount, _enum
from certification.models.standards import Competence, Criterion, Profile


class ExperienceKind(enum.StrEnum):
    """What the candidate did (domain.md §6.4)."""

    VOLONTARIATO = "volontariato"
    TIROCINIO = "tirocinio"
    ORGANIZZAZIONE_EVENTO = "organizzazione_evento"
    ANIMAZIONE_COWORKING = "animazione_coworking"
    PROGETTO_STARTUP = "progetto_startup"
    LAVORO = "lavoro"
    SERVIZIO_CIVILE = "servizio_civile"
    FORMAZIONE_NON_FORMALE = "formazione_non_formale"
    ALTRO = "altro"


class LearningContext(enum.StrEnum):
    """Formal, non-formal or informal learning (D.Lgs. 13/2013 art. 2)."""

    FORMALE = "formale"
    NON_FORMALE = "non_formale"
    INFORMALE = "informale"


class EvidenceType(enum.StrEnum):
    """Kinds of evidence (domain.md §6.4 Evidence.type)."""

    DOCUMENTO_ATTESTAZIONE = "documento_attestazione"
    PRODOTTO = "prodotto"
    FOTO_VIDEO = "foto_video"
    TESTIMONIANZA_TERZI = "testimonianza_terzi"
    AUTODICHIARAZIONE_DPR445 = "autodichiarazione_dpr445"
    LINK = "link"


#: Evidence types that carry an uploaded file.
FILE_EVIDENCE = frozenset(
    {EvidenceType.DOCUMENTO_ATTESTAZIONE, EvidenceType.PRODOTTO, EvidenceType.FOTO_VIDEO}
)


class StoredFile(ModelBase):
    """A content-addressed blob (the bytes live in the storage, named by their sha256)."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]


class Experience(UUIDPrimaryKey, ModelBase):
    """A learning experience (esperienza): volunteering, an internship, running events..."""

    __tablename__ = "experiences"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ExperienceKind] = mapped_column(_enum(ExperienceKind))
    learning_context: Mapped[LearningContext] = mapped_column(_enum(LearningContext))
    host_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    #: The host as typed, when it is not one of the known organisations.
    host_name: Mapped[str | None] = mapped_column(String(200))
    role_title: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]
    hours_estimate: Mapped[int | None]
    description: Mapped[str] = mapped_column(Text)
    referee_name: Mapped[str | None] = mapped_column(String(200))
    referee_contact: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    person: Mapped[Person] = relationship()
    host_organisation: Mapped[Organisation | None] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="experience", order_by="Evidence.created_at", cascade="all, delete-orphan"
    )

    @property
    def host_display(self) -> str:
        if self.host_organisation is not None:
            return self.host_organisation.short_name
        return self.host_name or ""


class Evidence(UUIDPrimaryKey, ModelBase):
    """One piece of evidence (evidenza) for an experience."""

    __tablename__ = "evidence"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    experience_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiences.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[EvidenceType] = mapped_column(_enum(EvidenceType))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    issued_on: Mapped[dt.date | None]
    # a file
    file_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_files.sha256"))
    file_name: Mapped[str | None] = mapped_column(String(200))
    # a link (never fetched by Attesta)
    url: Mapped[str | None] = mapped_column(String(1000))
    # a testimonial or a self-declaration
    text: Mapped[str | None] = mapped_column(Text)
    referee_name: Mapped[str | None] = mapped_column(String(200))
    referee_email: Mapped[str | None] = mapped_column(String(254))
    referee_confirmed_at: Mapped[dt.datetime | None]
    referee_declined_at: Mapped[dt.datetime | None]
    declared_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    #: Set when a Documento di trasparenza lists this evidence: from then on it never changes.
    locked_at: Mapped[dt.datetime | None]

    experience: Mapped[Experience] = relationship(back_populates="evidence")
    file: Mapped[StoredFile | None] = relationship()
    links: Mapped[list[EvidenceLink]] = relationship(
        back_populates="evidence", cascade="all, delete-orphan"
    )
    created_by: Mapped[UserAccount | None] = relationship()


class EvidenceLink(UUIDPrimaryKey, ModelBase):
    """Evidence mapped to a competence, and to one of its criteria, with a note on why."""

    __tablename__ = "evidence_links"
    __table_args__ = (UniqueConstraint("evidence_id", "competence_id", "criterion_id"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence.id", ondelete="CASCADE"), index=True
    )
    competence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competences.id", ondelete="RESTRICT"), index=True
    )
    criterion_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("criteria.id", ondelete="RESTRICT")
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]

    evidence: Mapped[Evidence] = relationship(back_populates="links")
    competence: Mapped[Competence] = relationship()
    criterion: Mapped[Criterion | None] = relationship()


class SelfAssessment(ModelBase):
    """The candidate's own rating of a competence on its rubric scale."""

    __tablename__ = "self_assessments"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    competence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competences.id", ondelete="RESTRICT"), primary_key=True
    )
    level_code: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime]


class PortfolioTarget(ModelBase):
    """The profile a person is mapping their evidence to (a table of its own: persons must not
    reference the catalogue, which references accounts)."""

    __tablename__ = "portfolio_targets"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))

    profile: Mapped[Profile] = relationship()


class PortfolioComment(UUIDPrimaryKey, ModelBase):
    """A tutor's (or the candidate's) comment on the portfolio or one experience."""

    __tablename__ = "portfolio_comments"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    experience_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("experiences.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]

    author: Mapped[UserAccount | None] = relationship()
