"""Assessment of a case: the frozen rubric, panels, ratings per criterion, outcomes per
competence, and appeals (domain.md §6.4, §7.2 transitions 9-24)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import Person, UserAccount, _enum


class AssessmentMethod(enum.StrEnum):
    """How the panel checks the competences (D.Lgs. 13/2013 art. 5)."""

    ESAME_DOSSIER = "esame_dossier"
    COLLOQUIO_TECNICO = "colloquio_tecnico"
    PROVA_PRATICA = "prova_pratica"
    SIMULAZIONE = "simulazione"
    OSSERVAZIONE = "osservazione"


class PanelFunction(enum.StrEnum):
    PRESIDENTE = "presidente"
    CERTIFICATORE = "certificatore"
    ASSESSOR = "assessor"


class Outcome(enum.StrEnum):
    """Per competence: validated, not validated, or more evidence needed."""

    VALIDATA = "validata"
    NON_VALIDATA = "non_validata"
    INTEGRAZIONE_RICHIESTA = "integrazione_richiesta"


class AppealStatus(enum.StrEnum):
    FILED = "filed"
    UPHELD = "upheld"
    REJECTED = "rejected"


class RubricSnapshot(UUIDPrimaryKey, ModelBase):
    """The rubric a case is assessed against, frozen when the dossier review starts: outcomes
    and certificates refer to it, never to the live catalogue (domain.md §6.6 rule 2)."""

    __tablename__ = "rubric_snapshots"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), unique=True
    )
    content: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class AssessmentSession(UUIDPrimaryKey, ModelBase):
    """A planned assessment (colloquio, prova, osservazione...) with its panel."""

    __tablename__ = "assessment_sessions"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    methods: Mapped[list[str]]
    scheduled_at: Mapped[dt.datetime]
    location: Mapped[str] = mapped_column(String(300))
    planned_at: Mapped[dt.datetime]
    opened_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    members: Mapped[list[PanelMember]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="PanelMember.function"
    )


class PanelMember(UUIDPrimaryKey, ModelBase):
    """A member of a session's panel, and their declaration of (no) conflict of interest."""

    __tablename__ = "panel_members"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessment_sessions.id", ondelete="CASCADE")
    )
    #: Indexed: an assessor's cases are found by their panel seats (certification/policy.py).
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    function: Mapped[PanelFunction] = mapped_column(_enum(PanelFunction))
    declared_at: Mapped[dt.datetime | None]
    has_conflict: Mapped[bool | None]
    declaration_note: Mapped[str | None] = mapped_column(Text)

    session: Mapped[AssessmentSession] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class CriterionRating(UUIDPrimaryKey, ModelBase):
    """The level a criterion reached in the review of the dossier or the assessment."""

    __tablename__ = "criterion_ratings"
    __table_args__ = (UniqueConstraint("case_id", "round", "criterion_code"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    competence_code: Mapped[str] = mapped_column(String(60))
    criterion_code: Mapped[str] = mapped_column(String(60))
    level_code: Mapped[str] = mapped_column(String(10))
    passing: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")
    rated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    rated_at: Mapped[dt.datetime]

    rated_by: Mapped[UserAccount | None] = relationship()


class CompetenceOutcome(UUIDPrimaryKey, ModelBase):
    """The esito for one requested competence: decided collegially, with its reasons."""

    __tablename__ = "competence_outcomes"
    __table_args__ = (UniqueConstraint("case_id", "round", "competence_code"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    competence_code: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    rationale: Mapped[str] = mapped_column(Text)
    feedback: Mapped[str] = mapped_column(Text, default="")
    methods: Mapped[list[str]]
    evidence_ids: Mapped[list[str]]
    decided_by: Mapped[list[str]]
    decided_at: Mapped[dt.datetime]
    #: Set when an upheld appeal led to a new assessment that replaced this outcome.
    superseded_at: Mapped[dt.datetime | None]


class Appeal(UUIDPrimaryKey, ModelBase):
    """A richiesta di riesame, decided by someone who was not on the original panel."""

    __tablename__ = "appeals"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certification_cases.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(40))
    grounds: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[dt.datetime]
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus))
    decided_at: Mapped[dt.datetime | None]
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
