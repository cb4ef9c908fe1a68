"""Competence standards imported from rubric files (domain.md §6.2).

A :class:`Framework` is one published version of a repertory (code + version); everything below
it belongs to that version and is never changed after import: a change is a new version. Texts
are stored in Italian and English (``*_it`` / ``*_en``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey


class Framework(UUIDPrimaryKey, ModelBase):
    """One published version of a competence repertory (e.g. a QRSP release)."""

    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("code", "version"),)

    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))
    title_it: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    publisher_it: Mapped[str] = mapped_column(String(300))
    publisher_en: Mapped[str] = mapped_column(String(300))
    legal_reference_it: Mapped[str] = mapped_column(Text)
    legal_reference_en: Mapped[str] = mapped_column(Text)
    notice_it: Mapped[str | None] = mapped_column(Text)
    notice_en: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(500))
    illustrative: Mapped[bool]
    valid_from: Mapped[dt.date | None]
    #: sha256 of the canonical JSON of the validated file: the identity of this version's content.
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: The validated content itself, as imported (what a case's rubric snapshot is cut from).
    content: Mapped[dict[str, Any]]
    source_name: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[dt.datetime]
    imported_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )

    profiles: Mapped[list[Profile]] = relationship(
        back_populates="framework", order_by="Profile.code", cascade="all, delete-orphan"
    )
    competences: Mapped[list[Competence]] = relationship(
        back_populates="framework", order_by="Competence.code", cascade="all, delete-orphan"
    )


class Profile(UUIDPrimaryKey, ModelBase):
    """A professional profile or qualification: an ordered set of competences."""

    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)

    framework_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    title_it: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    description_it: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    eqf_level: Mapped[int | None] = mapped_column(index=True)
    sep_code: Mapped[str | None] = mapped_column(String(10))
    illustrative: Mapped[bool]
    alignments: Mapped[list[Any]] = mapped_column(default=list)

    framework: Mapped[Framework] = relationship(back_populates="profiles")
    competence_links: Mapped[list[ProfileCompetence]] = relationship(
        back_populates="profile",
        order_by="ProfileCompetence.position",
        cascade="all, delete-orphan",
    )


class Competence(UUIDPrimaryKey, ModelBase):
    """A competenza: abilità, conoscenze and the criteria it is assessed by."""

    __tablename__ = "competences"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)

    framework_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    title_it: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    description_it: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    eqf_level: Mapped[int | None] = mapped_column(index=True)
    #: False for regulated or enabling figures, which Lombardy does not certify (domain.md §6.6).
    certifiable: Mapped[bool]
    ada_codes: Mapped[list[str]] = mapped_column(default=list)
    alignments: Mapped[list[Any]] = mapped_column(default=list)

    framework: Mapped[Framework] = relationship(back_populates="competences")
    statements: Mapped[list[CompetenceStatement]] = relationship(
        back_populates="competence",
        order_by="(CompetenceStatement.kind, CompetenceStatement.position)",
        cascade="all, delete-orphan",
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="competence", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    profile_links: Mapped[list[ProfileCompetence]] = relationship(back_populates="competence")

    @property
    def abilita(self) -> list[CompetenceStatement]:
        """The abilità ("saper fare"): what the person can do."""
        return [s for s in self.statements if s.kind == "abilita"]

    @property
    def conoscenze(self) -> list[CompetenceStatement]:
        """The conoscenze ("sapere"): what the person knows."""
        return [s for s in self.statements if s.kind == "conoscenza"]


class ProfileCompetence(ModelBase):
    """A competence's place in a profile, and whether the profile requires it."""

    __tablename__ = "profile_competences"

    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    competence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competences.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int]
    mandatory: Mapped[bool]

    profile: Mapped[Profile] = relationship(back_populates="competence_links")
    competence: Mapped[Competence] = relationship(back_populates="profile_links")


class CompetenceStatement(UUIDPrimaryKey, ModelBase):
    """One abilità (``kind='abilita'``) or conoscenza (``kind='conoscenza'``) of a competence."""

    __tablename__ = "competence_statements"

    competence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competences.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    position: Mapped[int]
    text_it: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)

    competence: Mapped[Competence] = relationship(back_populates="statements")


class Criterion(UUIDPrimaryKey, ModelBase):
    """An indicatore (assessment criterion): one row of the rubric, with its own scale."""

    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("competence_id", "code"),)

    competence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competences.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(60))
    position: Mapped[int]
    text_it: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    expected_evidence: Mapped[list[str]] = mapped_column(default=list)
    scale_code: Mapped[str] = mapped_column(String(40))

    competence: Mapped[Competence] = relationship(back_populates="criteria")
    levels: Mapped[list[RubricLevel]] = relationship(
        back_populates="criterion", order_by="RubricLevel.position", cascade="all, delete-orphan"
    )

    @property
    def passing_level(self) -> RubricLevel | None:
        """The lowest level that passes (the threshold)."""
        return next((lvl for lvl in self.levels if lvl.passing), None)


class RubricLevel(UUIDPrimaryKey, ModelBase):
    """One level of a criterion's scale (e.g. L2 "Dimostrato"), and whether it passes."""

    __tablename__ = "rubric_levels"
    __table_args__ = (UniqueConstraint("criterion_id", "code"),)

    criterion_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("criteria.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(10))
    position: Mapped[int]
    label_it: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    descriptor_it: Mapped[str] = mapped_column(Text)
    descriptor_en: Mapped[str] = mapped_column(Text)
    passing: Mapped[bool]

    criterion: Mapped[Criterion] = relationship(back_populates="levels")
