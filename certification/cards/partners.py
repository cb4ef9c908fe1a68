"""Partner businesses of an ente's card programme, their conventions (the offers a card
unlocks) and the uses recorded at their counters (domain.md §2, §7.7).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.cards.lifecycle import (
    CardNotValid,
    ConventionNotForCard,
    is_usable,
    may_manage_cards,
    today,
)
from certification.errors import InvalidInput, NotFound, NotPermitted, clean_text
from certification.models import (
    CardUse,
    ConventionCategory,
    Organisation,
    PartnerConvention,
    TalentCard,
    UserAccount,
)
from certification.people.roles import OrganisationKind, Role

# --- partners and conventions -----------------------------------------------------------------


def partners_of(session: Session, actor: UserAccount, ente: Organisation) -> Sequence[Organisation]:
    """The partner businesses of an ente's programme."""
    if not may_manage_cards(actor, ente.id):
        raise NotFound("no such organisation")
    return session.scalars(
        select(Organisation)
        .where(
            Organisation.kind == OrganisationKind.PARTNER_BUSINESS,
            Organisation.managed_by_id == ente.id,
        )
        .order_by(Organisation.short_name)
    ).all()


def get_managed_partner(
    session: Session, actor: UserAccount, partner_id: uuid.UUID
) -> Organisation:
    """A partner business whose programme ``actor`` runs; :class:`NotFound` otherwise."""
    partner = session.get(Organisation, partner_id)
    if (
        partner is None
        or partner.kind != OrganisationKind.PARTNER_BUSINESS
        or partner.managed_by_id is None
        or not may_manage_cards(actor, partner.managed_by_id)
    ):
        raise NotFound("no such partner")
    return partner


def _optional(value: str | None, name: str, max_len: int) -> str | None:
    return clean_text(value, name, max_len=max_len, required=False) or None


def create_partner(
    session: Session,
    actor: UserAccount,
    ente: Organisation,
    now: dt.datetime,
    *,
    legal_name: str,
    short_name: str,
    tax_code: str | None,
    city: str | None,
    address: str | None,
    website: str | None,
) -> Organisation:
    """Add a partner business to the ente's programme."""
    if not may_manage_cards(actor, ente.id):
        raise NotPermitted("only the ente's operators add partners")
    tax_code = _optional(tax_code, "tax_code", 20)
    if tax_code and session.scalar(
        select(Organisation.id).where(Organisation.tax_code == tax_code)
    ):
        raise InvalidInput("tax code", errors={"tax_code": ["tax_code_taken"]})
    partner = Organisation(
        kind=OrganisationKind.PARTNER_BUSINESS,
        legal_name=clean_text(legal_name, "legal_name", max_len=200),
        short_name=clean_text(short_name, "short_name", max_len=80),
        tax_code=tax_code,
        city=_optional(city, "city", 100),
        address=_optional(address, "address", 300),
        website=_optional(website, "website", 300),
        managed_by_id=ente.id,
        created_at=now,
    )
    session.add(partner)
    session.flush()
    record_event(
        session,
        actor,
        "partner.created",
        "organisation",
        partner.id,
        now,
        organisation_id=ente.id,
    )
    return partner


@dataclass(frozen=True)
class ConventionFields:
    """What staff type about a convention (validated by :func:`save_convention`)."""

    title: str
    benefit: str
    category: str
    valid_from: dt.date | None
    discount_pct: int | None = None
    conditions: str | None = None
    location: str | None = None
    valid_to: dt.date | None = None
    active: bool = True


def save_convention(
    session: Session,
    actor: UserAccount,
    partner: Organisation,
    fields: ConventionFields,
    now: dt.datetime,
    convention: PartnerConvention | None = None,
) -> PartnerConvention:
    """Create a convention of a partner, or change one; staff of the managing ente only."""
    if partner.managed_by_id is None or not may_manage_cards(actor, partner.managed_by_id):
        raise NotPermitted("only the ente's operators manage conventions")
    if convention is not None and convention.partner_id != partner.id:
        raise NotFound("no such convention")
    errors: dict[str, list[str]] = {}
    if fields.category not in ConventionCategory.__members__.values():
        errors["category"] = ["invalid_choice"]
    if fields.discount_pct is not None and not 1 <= fields.discount_pct <= 100:
        errors["discount_pct"] = ["percent_range"]
    if fields.valid_from is None:
        errors["valid_from"] = ["required"]
    elif fields.valid_to is not None and fields.valid_to < fields.valid_from:
        errors["valid_to"] = ["before_start"]
    if errors:
        raise InvalidInput("convention", errors=errors)
    values: dict[str, Any] = {
        "title": clean_text(fields.title, "title", max_len=200),
        "benefit": clean_text(fields.benefit, "benefit", max_len=2000),
        "conditions": _optional(fields.conditions, "conditions", 2000),
        "location": _optional(fields.location, "location", 200),
        "category": ConventionCategory(fields.category),
        "discount_pct": fields.discount_pct,
        "valid_from": fields.valid_from,
        "valid_to": fields.valid_to,
        "active": fields.active,
        "updated_at": now,
    }
    if convention is None:
        convention = PartnerConvention(
            partner_id=partner.id, organisation_id=partner.managed_by_id, created_at=now, **values
        )
        session.add(convention)
    else:
        for name, value in values.items():
            setattr(convention, name, value)
    session.flush()
    record_event(
        session,
        actor,
        "convention.saved",
        "partner_convention",
        convention.id,
        now,
        organisation_id=partner.managed_by_id,
    )
    return convention


def conventions_of_partner(session: Session, partner: Organisation) -> Sequence[PartnerConvention]:
    """All of a partner's conventions, current or not."""
    return session.scalars(
        select(PartnerConvention)
        .where(PartnerConvention.partner_id == partner.id)
        .order_by(PartnerConvention.title)
    ).all()


def _on_offer(day: dt.date) -> Any:
    return (
        PartnerConvention.active.is_(True),
        PartnerConvention.valid_from <= day,
        or_(PartnerConvention.valid_to.is_(None), PartnerConvention.valid_to >= day),
    )


def convention_directory(
    session: Session,
    now: dt.datetime,
    *,
    text: str = "",
    category: str = "",
    organisation_id: uuid.UUID | None = None,
) -> Sequence[PartnerConvention]:
    """The conventions on offer today (the public directory), optionally filtered by words
    (title, benefit, partner, place), category and programme."""
    query = (
        select(PartnerConvention)
        .join(Organisation, Organisation.id == PartnerConvention.partner_id)
        .where(*_on_offer(today(now)))
    )
    words = text.strip()[:100]
    if words:
        like = f"%{words.lower()}%"
        query = query.where(
            or_(
                func.lower(PartnerConvention.title).like(like),
                func.lower(PartnerConvention.benefit).like(like),
                func.lower(PartnerConvention.location).like(like),
                func.lower(Organisation.short_name).like(like),
                func.lower(Organisation.city).like(like),
            )
        )
    if category in ConventionCategory.__members__.values():
        query = query.where(PartnerConvention.category == ConventionCategory(category))
    if organisation_id is not None:
        query = query.where(PartnerConvention.organisation_id == organisation_id)
    return session.scalars(
        query.order_by(PartnerConvention.category, Organisation.short_name, PartnerConvention.title)
    ).all()


def partner_organisations(actor: UserAccount) -> list[uuid.UUID]:
    """The partner businesses ``actor`` works for (as partner user or its administrator)."""
    return [
        r.organisation_id
        for r in actor.person.staff_roles
        if r.role in (Role.PARTNER, Role.ADMIN)
        and r.organisation.kind == OrganisationKind.PARTNER_BUSINESS
    ]


def conventions_for_counter(
    session: Session, actor: UserAccount, card: TalentCard, now: dt.datetime
) -> Sequence[PartnerConvention]:
    """The conventions of ``actor``'s businesses that ``card`` can be used for today."""
    partners = partner_organisations(actor)
    if not partners:
        return []
    return session.scalars(
        select(PartnerConvention)
        .where(
            PartnerConvention.partner_id.in_(partners),
            PartnerConvention.organisation_id == card.organisation_id,
            *_on_offer(today(now)),
        )
        .order_by(PartnerConvention.title)
    ).all()


def record_card_use(
    session: Session,
    actor: UserAccount,
    card: TalentCard,
    convention_id: uuid.UUID,
    now: dt.datetime,
) -> CardUse:
    """A partner user records that the card was used for one of their business's conventions:
    the card, the convention, the time and who recorded it, nothing else."""
    convention = session.get(PartnerConvention, convention_id)
    if convention is None or convention.partner_id not in partner_organisations(actor):
        raise NotFound("no such convention")
    if not is_usable(card, now):
        raise CardNotValid("the card is not valid")
    if convention not in conventions_for_counter(session, actor, card, now):
        raise ConventionNotForCard("the convention is not on offer for this card")
    use = CardUse(
        card_id=card.id, convention_id=convention.id, used_at=now, recorded_by_id=actor.id
    )
    session.add(use)
    session.flush()
    return use


def uses_recorded_by_partners(
    session: Session, partner_ids: Sequence[uuid.UUID], limit: int = 50
) -> Sequence[CardUse]:
    """The latest uses recorded for the conventions of these partner businesses."""
    return session.scalars(
        select(CardUse)
        .join(PartnerConvention, PartnerConvention.id == CardUse.convention_id)
        .where(PartnerConvention.partner_id.in_(partner_ids))
        .order_by(CardUse.used_at.desc())
        .limit(limit)
    ).all()


def uses_of_card(session: Session, card: TalentCard) -> Sequence[CardUse]:
    """A card's recorded uses, newest first (shown to its holder)."""
    return session.scalars(
        select(CardUse).where(CardUse.card_id == card.id).order_by(CardUse.used_at.desc())
    ).all()
