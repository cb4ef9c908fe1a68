"""Talent cards, the partner conventions they unlock, and the record of their use (domain.md §6.5,
§7.7). A talent card is a membership artefact of the programme, never a certification."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import Organisation, Person, UserAccount, _enum
from certification.models.certificates import Certificate


class CardStatus(enum.StrEnum):
    """REQUESTED waits for an operator; ACTIVE unlocks the conventions until ``valid_until``;
    EXPIRED, SUSPENDED (abuse report, reversible) and REVOKED (eligibility lost) do not."""

    REQUESTED = "requested"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class EligibilityBasis(enum.StrEnum):
    """Why the holder may have a card: a certificate issued in the programme, enrolment in the
    programme, or a start-up they registered."""

    CERTIFICATE = "certificate"
    PROGRAMME_ENROLMENT = "programme_enrolment"
    STARTUP_REGISTERED = "startup_registered"


class ConventionCategory(enum.StrEnum):
    """The kinds of convention of the TALENT-CARD (seed 002, "Sensibili al Talento")."""

    PRINTING = "printing"
    OFFICE_SUPPLIES = "office_supplies"
    TELEPHONY = "telephony"
    INSURANCE = "insurance"
    ACCOUNTING = "accounting"
    LABOUR_CONSULTING = "labour_consulting"
    LEGAL = "legal"
    HARDWARE = "hardware"
    SOFTWARE = "software"
    VEHICLES = "vehicles"
    WEB_DOMAINS = "web_domains"
    TECHNOLOGY_SERVICES = "technology_services"
    COWORKING = "coworking"
    OTHER = "other"


class TalentCard(UUIDPrimaryKey, ModelBase):
    """A holder's talent card, issued by an ente titolato for its programme.

    ``qr_token`` is random and goes into the signed QR payload; renewing the card rotates it, so
    an old printed card stops checking as valid.
    """

    __tablename__ = "talent_cards"

    #: TC-XXXX-XXXX-C: eight random Crockford base32 characters and a check character.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    holder_person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    programme: Mapped[str] = mapped_column(String(120))
    eligibility_basis: Mapped[EligibilityBasis] = mapped_column(_enum(EligibilityBasis))
    basis_certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT"), index=True
    )
    #: Enrolment number or the start-up's registration (REA / partita IVA), as declared.
    basis_reference: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[CardStatus] = mapped_column(_enum(CardStatus), index=True)
    valid_from: Mapped[dt.date | None]
    valid_until: Mapped[dt.date | None]
    #: 20 hex characters (80 random bits).
    qr_token: Mapped[str] = mapped_column(String(32), unique=True)
    #: The holder's photo in storage (a re-encoded JPEG, no metadata), if they added one.
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime]
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    activated_at: Mapped[dt.datetime | None]
    status_changed_at: Mapped[dt.datetime]
    status_reason_code: Mapped[str | None] = mapped_column(String(40))

    organisation: Mapped[Organisation] = relationship()
    holder: Mapped[Person] = relationship()
    basis_certificate: Mapped[Certificate | None] = relationship()


class CardDocument(ModelBase):
    """A card's PDF (and, once asked for, its PNG) as last rendered in one language, kept in
    storage and served as stored while ``fingerprint`` (the sha256 of everything printed on it
    and of its layout) stays the same: a card is rendered once per version, not per download."""

    __tablename__ = "card_documents"

    card_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("talent_cards.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(5), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    png_sha256: Mapped[str | None] = mapped_column(String(64))
    rendered_at: Mapped[dt.datetime]


class PartnerConvention(UUIDPrimaryKey, ModelBase):
    """A benefit a partner business offers to the holders of an ente's talent cards."""

    __tablename__ = "partner_conventions"

    partner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: The ente titolato whose programme (and cards) the convention belongs to.
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    benefit: Mapped[str] = mapped_column(Text)
    discount_pct: Mapped[int | None]
    conditions: Mapped[str | None] = mapped_column(Text)
    category: Mapped[ConventionCategory] = mapped_column(_enum(ConventionCategory))
    location: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    partner: Mapped[Organisation] = relationship(foreign_keys=[partner_id])
    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])


class CardUse(UUIDPrimaryKey, ModelBase):
    """That a card was used for a convention: when, and which partner user recorded it. Nothing
    else (data minimisation, domain.md §6.5)."""

    __tablename__ = "card_uses"

    card_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("talent_cards.id", ondelete="CASCADE"), index=True
    )
    convention_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_conventions.id", ondelete="RESTRICT"), index=True
    )
    used_at: Mapped[dt.datetime]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )

    convention: Mapped[PartnerConvention] = relationship()
    recorded_by: Mapped[UserAccount | None] = relationship()
