"""The talent card at a partner's counter: the signed QR payload and the check of a card
by its QR or its number (domain.md §7.7).

Partners see only: valid or not, first name and initial, expiry (:func:`check_card`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cards import payload as card_payload
from certification.cards.lifecycle import (
    CardNotValid,
    card_by_number,
    effective_status,
    is_usable,
    normalise_card_number,
)
from certification.errors import Conflict
from certification.keys.material import active_key, ed25519_public_key, load_private_key
from certification.models import (
    CardStatus,
    KeyPurpose,
    SigningKey,
    TalentCard,
)

# --- the QR payload and the check at the counter ----------------------------------------------


def card_keys(session: Session, kid_prefix: str = "") -> list[SigningKey]:
    """The keys that sign card payloads (those whose kid starts with ``kid_prefix``): every
    ente's credential keys, retired ones included (they keep verifying what they signed);
    compromised ones are published as such."""
    return list(
        session.scalars(
            select(SigningKey)
            .where(
                SigningKey.purpose == KeyPurpose.CREDENTIAL,
                SigningKey.algorithm == "Ed25519",
                SigningKey.kid.startswith(kid_prefix, autoescape=True),
            )
            .order_by(SigningKey.activated_at)
        )
    )


def has_printable_form(card: TalentCard) -> bool:
    """Issued once (it has validity dates) and not revoked: it can be printed, with its QR."""
    return card.valid_from is not None and card.status not in (
        CardStatus.REQUESTED,
        CardStatus.REVOKED,
    )


def qr_payload(session: Session, card: TalentCard, passphrase: bytes) -> str:
    """The card's signed QR payload, with the ente's active credential key (Ed25519 signatures
    are deterministic: the same card and key always give the same text)."""
    start, end = card.valid_from, card.valid_until
    if start is None or end is None or not has_printable_form(card):
        raise CardNotValid("only an issued card has a QR code")
    key = active_key(session, card.organisation_id, KeyPurpose.CREDENTIAL)
    private = load_private_key(key, passphrase)
    if not isinstance(private, Ed25519PrivateKey):  # pragma: no cover - keys init makes Ed25519
        raise Conflict("the credential key is not Ed25519")
    return card_payload.encode(
        private,
        key.kid,
        card.qr_token,
        start,
        end,
        card_payload.initials_of(card.holder.given_name, card.holder.family_name),
    )


@dataclass(frozen=True)
class CardCheck:
    """What the counter page may show: the verdict, and for an identified card only the first
    name and initial and the last day. ``reason`` is a stable code (``valid``, ``unreadable``,
    ``unknown_key``, ``bad_signature``, ``key_compromised``, ``unknown_card``, ``outdated``,
    ``mistyped``, ``not_active``, ``not_yet_valid``, ``expired``, ``suspended``, ``revoked``)."""

    valid: bool
    reason: str
    holder: str | None = None
    valid_until: dt.date | None = None
    card: TalentCard | None = None


def holder_label(card: TalentCard) -> str:
    """First name and the initial of the family name ("Giulia R.")."""
    return f"{card.holder.given_name} {card.holder.family_name[:1].upper()}."


def _card_verdict(card: TalentCard, now: dt.datetime) -> CardCheck:
    status = effective_status(card, now)
    reason = {
        CardStatus.REQUESTED: "not_active",
        CardStatus.EXPIRED: "expired",
        CardStatus.SUSPENDED: "suspended",
        CardStatus.REVOKED: "revoked",
    }.get(status)
    if reason is None and not is_usable(card, now):
        reason = "not_yet_valid"
    return CardCheck(
        valid=reason is None,
        reason=reason or "valid",
        holder=holder_label(card),
        valid_until=card.valid_until,
        card=card,
    )


def check_card(session: Session, text: str, now: dt.datetime) -> CardCheck:
    """Check a scanned QR (the URL or just its payload) against the published keys and the
    register. Never raises on bad input."""
    try:
        payload = card_payload.decode(card_payload.payload_from_url(text))
    except card_payload.PayloadUnreadable:
        return CardCheck(False, "unreadable")
    keys = card_keys(session, payload.kid_prefix)
    if not keys:
        return CardCheck(False, "unknown_key")
    key = keys[0]
    if not card_payload.verify(payload, {payload.kid_prefix: ed25519_public_key(key)}):
        return CardCheck(False, "bad_signature")
    card = session.scalar(select(TalentCard).where(TalentCard.qr_token == payload.token))
    if card is None or card.organisation_id != key.organisation_id:
        return CardCheck(False, "unknown_card")
    if key.compromised_at is not None:
        return CardCheck(False, "key_compromised")
    if (payload.valid_from, payload.valid_until) != (card.valid_from, card.valid_until):
        return CardCheck(False, "outdated")
    return _card_verdict(card, now)


def check_card_number(session: Session, text: str, now: dt.datetime) -> CardCheck:
    """Check a card by its typed number; a typing mistake is told apart by the check character."""
    number = normalise_card_number(text)
    if number is None:
        return CardCheck(False, "mistyped")
    card = card_by_number(session, number)
    if card is None:
        return CardCheck(False, "unknown_card")
    return _card_verdict(card, now)
