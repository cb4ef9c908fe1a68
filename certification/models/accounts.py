"""Organisations, people, accounts, staff roles, login sessions and API tokens (domain.md §6.3)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey
from certification.people.roles import OrganisationKind, Role


def _enum(cls: type[Any]) -> Enum:
    # Stored as the value in a VARCHAR: portable, readable in SQL, no native ENUM migrations.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Organisation(UUIDPrimaryKey, ModelBase):
    """An ente titolare, ente titolato, host organisation or partner business."""

    __tablename__ = "organisations"

    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind))
    legal_name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(80))
    #: Short code used in protocol and document numbers (e.g. "CML").
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    tax_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    accreditation_number: Mapped[str | None] = mapped_column(String(60))
    accreditation_register: Mapped[str | None] = mapped_column(String(200))
    accredited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    pec: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    #: The organisation's LinkedIn company id (digits): LinkedIn's add-to-profile link names the
    #: issuer by it, with its logo, instead of by name alone.
    linkedin_organization_id: Mapped[str | None] = mapped_column(String(20))
    #: A partner business: the ente titolato whose programme staff manage it (its conventions,
    #: its users).
    managed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: True for the demo organisations: names are real, their data here is not.
    illustrative: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]

    accredited_by: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[accredited_by_id]
    )
    managed_by: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[managed_by_id]
    )
    staff_roles: Mapped[list[StaffRole]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )


class Person(UUIDPrimaryKey, ModelBase):
    """A natural person: candidate, staff member, referee. Identity data, no credentials."""

    __tablename__ = "persons"

    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    codice_fiscale: Mapped[str | None] = mapped_column(String(16), unique=True)
    birth_date: Mapped[dt.date | None]
    birth_place: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: Signed up to build a portfolio and apply for certification.
    is_candidate: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]

    account: Mapped[UserAccount | None] = relationship(back_populates="person")
    staff_roles: Mapped[list[StaffRole]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class UserAccount(UUIDPrimaryKey, ModelBase):
    """A login for a person: e-mail and an argon2id password hash."""

    __tablename__ = "user_accounts"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), unique=True
    )
    #: Stored lower-cased and stripped; unique.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: None until an invited staff member sets a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="it")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]
    password_changed_at: Mapped[dt.datetime | None]
    #: When the holder followed the confirmation link sent to ``email`` (None: not yet). An
    #: application cannot be submitted before; a new address would be unconfirmed again.
    email_confirmed_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship(back_populates="account", lazy="joined")

    def roles_in(self, organisation_id: uuid.UUID) -> frozenset[Role]:
        """The roles this account's person holds in one organisation."""
        return frozenset(
            r.role for r in self.person.staff_roles if r.organisation_id == organisation_id
        )

    def has_role(self, *roles: Role) -> bool:
        """Whether the person holds any of ``roles`` in any organisation."""
        return any(r.role in roles for r in self.person.staff_roles)


class StaffRole(UUIDPrimaryKey, ModelBase):
    """A role a person holds in an organisation (domain.md §6.3 StaffRole)."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("person_id", "organisation_id", "role"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role))
    #: Atlante SEP codes of the sectors the person works in (assessors).
    sectors: Mapped[list[str]] = mapped_column(default=list)
    years_experience: Mapped[int | None]
    created_at: Mapped[dt.datetime]

    person: Mapped[Person] = relationship(back_populates="staff_roles")
    organisation: Mapped[Organisation] = relationship(back_populates="staff_roles")


class UserSession(ModelBase):
    """A server-side login session: logging out deletes the row, so a copied cookie dies too."""

    __tablename__ = "user_sessions"

    #: sha256 of the random token kept in the (signed) session cookie.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    #: When the second factor was last verified in this session (login or step-up); None for
    #: an account that logs in with its password alone.
    second_factor_at: Mapped[dt.datetime | None]

    user: Mapped[UserAccount] = relationship()


class ApiToken(UUIDPrimaryKey, ModelBase):
    """A personal access token for the REST API, stored as a sha256 hash only."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, shown so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[UserAccount] = relationship()


#: The ``scope`` of the platform's own notice (Attesta's processing before an ente is chosen).
PLATFORM_SCOPE = "platform"


class PrivacyNotice(UUIDPrimaryKey, ModelBase):
    """One published version of a privacy notice (informativa, art. 13 GDPR): an ente's, or the
    platform's (``organisation_id`` None). Kept as written: never edited after publication, a
    new version is published instead (certification.people.privacy refuses any update)."""

    __tablename__ = "privacy_notices"
    __table_args__ = (UniqueConstraint("scope", "version"),)

    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: ``platform`` or the organisation's id: one numbering per notice, unique with ``version``
    #: (a NULL organisation would not make the pair unique in SQL).
    scope: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    #: The text as written (Markdown or plain text), shown as plain text.
    body: Mapped[str] = mapped_column(Text)
    #: The language the text is written in ("it" for the legal text).
    language: Mapped[str] = mapped_column(String(5), default="it")
    published_at: Mapped[dt.datetime]
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )

    organisation: Mapped[Organisation | None] = relationship()
