"""Talent cards: request, issue, lifecycle, the check at the counter, and partner conventions
(domain.md §2, §6.5, §7.6, §7.7).

The TALENT-CARD of the project documents is given to young people of the programme who ask for
it (certified competences, enrolment, a start-up) and unlocks conventions with partner
businesses. It is a membership artefact, never a certification: the card says so.

- A holder with an issued certificate of the ente gets an ACTIVE card at once (the rule checks
  eligibility); other bases wait, REQUESTED, for an operator to check them.
- Cards expire on their date: a daily job marks them EXPIRED and every check compares the date
  anyway. Revoking the certificate a card rests on revokes the card.
- Partners see only: valid or not, first name and initial, expiry (:func:`check_card`).
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from certification import card_payload
from certification.audit import record_event
from certification.certificates import CODE_ALPHABET
from certification.clock import ROME
from certification.errors import Conflict, InvalidInput, NotFound, NotPermitted, clean_text
from certification.keys import active_key, ed25519_public_key, load_private_key
from certification.models import (
    CardStatus,
    CardUse,
    Certificate,
    CertificateStatus,
    Consent,
    ConsentPurpose,
    ConventionCategory,
    EligibilityBasis,
    KeyPurpose,
    Organisation,
    PartnerConvention,
    Person,
    SigningKey,
    TalentCard,
    UserAccount,
)
from certification.policy import CARD_PROGRAMME_ROLES
from certification.portfolio import store_file
from certification.roles import OrganisationKind, Role
from certification.storage import BlobStorage

DEFAULT_PROGRAMME: Final = "Talenti Diffusi"
VALIDITY_MONTHS: Final = 12
CONSENT_TEXT_VERSION: Final = "card-2026-11"
#: Cards that still count: a holder has at most one of these per ente.
CURRENT_STATES: Final = frozenset({CardStatus.REQUESTED, CardStatus.ACTIVE, CardStatus.SUSPENDED})
SUSPENSION_REASONS: Final = ("abuse_report", "other")
REVOCATION_REASONS: Final = ("not_eligible", "abuse", "holder_request", "other")
MAX_PHOTO_BYTES: Final = 5 * 1024 * 1024
_CHECK_WEIGHTS: Final = (1, 3, 5, 7, 9, 11, 13, 15)
_CONFUSABLE: Final = str.maketrans("OILU", "011V")


class CardNotValid(Conflict):
    """The card cannot be used: it is not active, has expired, or was suspended or revoked."""

    code = "card_not_valid"


class CardExists(Conflict):
    """The holder already has a card (requested, active or suspended) of this ente."""

    code = "card_exists"


class ConventionNotForCard(Conflict):
    """The convention belongs to another programme, or is not on offer today."""

    code = "convention_not_for_card"


# --- numbers ----------------------------------------------------------------------------------


def _check_character(body: str) -> str:
    # Odd weights are invertible mod 32: every single mistyped character changes the check.
    total = sum(w * CODE_ALPHABET.index(ch) for w, ch in zip(_CHECK_WEIGHTS, body, strict=True))
    return CODE_ALPHABET[total % 32]


def new_card_number() -> str:
    """TC-XXXX-XXXX-C: 40 random bits in Crockford base32 and a check character."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"TC-{body[:4]}-{body[4:]}-{_check_character(body)}"


def normalise_card_number(text: str) -> str | None:
    """A typed card number made canonical; None if it cannot be one (wrong length, letters or
    check character: a typing mistake). The TC prefix may be left out."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) == 11 and cleaned.startswith("TC"):  # a body may start with TC too
        cleaned = cleaned[2:]
    cleaned = cleaned.translate(_CONFUSABLE)
    if len(cleaned) != 9 or any(ch not in CODE_ALPHABET for ch in cleaned):
        return None
    body, check = cleaned[:8], cleaned[8]
    if _check_character(body) != check:
        return None
    return f"TC-{body[:4]}-{body[4:]}-{check}"


# --- dates ------------------------------------------------------------------------------------


def today(now: dt.datetime) -> dt.date:
    """The date in Lombardy: cards are valid up to and including their last day, Rome time."""
    return now.astimezone(ROME).date()


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def effective_status(card: TalentCard, now: dt.datetime) -> CardStatus:
    """The status as of ``now``: an ACTIVE card past its date is EXPIRED even before the daily
    job marks it, and a card whose certificate was revoked is REVOKED."""
    if card.status == CardStatus.ACTIVE:
        if card.valid_until is None or card.valid_until < today(now):
            return CardStatus.EXPIRED
        basis = card.basis_certificate
        if basis is not None and basis.status == CertificateStatus.REVOKED:
            return CardStatus.REVOKED
    return card.status


def is_usable(card: TalentCard, now: dt.datetime) -> bool:
    """Active, started and not past its last day."""
    return (
        effective_status(card, now) == CardStatus.ACTIVE
        and card.valid_from is not None
        and card.valid_from <= today(now)
    )


# --- permissions ------------------------------------------------------------------------------


def may_manage_cards(actor: UserAccount, organisation_id: uuid.UUID) -> bool:
    """Operators and administrators of the ente run its cards, partners and conventions."""
    return actor.is_active and bool(actor.roles_in(organisation_id) & CARD_PROGRAMME_ROLES)


def card_programmes(session: Session, actor: UserAccount) -> list[Organisation]:
    """The enti titolati whose card programme ``actor`` runs."""
    return [
        org
        for org in session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.ENTE_TITOLATO)
            .order_by(Organisation.short_name)
        )
        if may_manage_cards(actor, org.id)
    ]


def get_managed_card(session: Session, actor: UserAccount, card_id: uuid.UUID) -> TalentCard:
    """A card of an ente ``actor`` runs the programme of; :class:`NotFound` otherwise."""
    card = session.get(TalentCard, card_id)
    if card is None or not may_manage_cards(actor, card.organisation_id):
        raise NotFound("no such card")
    return card


def get_card(session: Session, actor: UserAccount, card_id: uuid.UUID) -> TalentCard:
    """A card ``actor`` may see: their own, or one of an ente they run cards for."""
    card = session.get(TalentCard, card_id)
    if card is None or not (
        card.holder_person_id == actor.person_id or may_manage_cards(actor, card.organisation_id)
    ):
        raise NotFound("no such card")
    return card


def cards_of_holder(session: Session, person_id: uuid.UUID) -> Sequence[TalentCard]:
    """The holder's cards, newest first."""
    return session.scalars(
        select(TalentCard)
        .where(TalentCard.holder_person_id == person_id)
        .order_by(TalentCard.requested_at.desc())
    ).all()


def cards_of_organisation(
    session: Session, actor: UserAccount, organisation: Organisation
) -> Sequence[TalentCard]:
    """An ente's cards, requests first, then newest first."""
    if not may_manage_cards(actor, organisation.id):
        raise NotFound("no such organisation")
    return session.scalars(
        select(TalentCard)
        .where(TalentCard.organisation_id == organisation.id)
        .order_by(
            (TalentCard.status == CardStatus.REQUESTED).desc(), TalentCard.requested_at.desc()
        )
    ).all()


def card_by_number(session: Session, number: str) -> TalentCard | None:
    """The card with this (canonical) number, if any."""
    return session.scalar(select(TalentCard).where(TalentCard.number == number))


# --- issuing ----------------------------------------------------------------------------------


def eligible_certificates(session: Session, person_id: uuid.UUID) -> Sequence[Certificate]:
    """The holder's issued (live, not revoked or suspended) certificates: each makes its ente's
    card available at once."""
    return session.scalars(
        select(Certificate)
        .where(
            Certificate.holder_person_id == person_id,
            Certificate.status == CertificateStatus.ISSUED,
        )
        .order_by(Certificate.issued_at.desc())
    ).all()


def _current_card(
    session: Session, person_id: uuid.UUID, organisation_id: uuid.UUID
) -> TalentCard | None:
    return session.scalar(
        select(TalentCard).where(
            TalentCard.holder_person_id == person_id,
            TalentCard.organisation_id == organisation_id,
            TalentCard.status.in_(CURRENT_STATES),
        )
    )


def _grant_consent(session: Session, person: Person, now: dt.datetime) -> None:
    # Sharing the first name and initial with partners needs its own consent (domain.md §6.6 #9).
    existing = session.scalar(
        select(Consent).where(
            Consent.person_id == person.id,
            Consent.purpose == ConsentPurpose.SHARE_WITH_PARTNERS,
            Consent.withdrawn_at.is_(None),
        )
    )
    if existing is None:
        session.add(
            Consent(
                person_id=person.id,
                purpose=ConsentPurpose.SHARE_WITH_PARTNERS,
                text_version=CONSENT_TEXT_VERSION,
                granted_at=now,
            )
        )


def _activate(card: TalentCard, now: dt.datetime) -> None:
    start = today(now)
    card.status = CardStatus.ACTIVE
    card.valid_from = start
    card.valid_until = _add_months(start, VALIDITY_MONTHS) - dt.timedelta(days=1)
    card.activated_at = card.activated_at or now
    card.status_changed_at = now
    card.status_reason_code = None


def _basis(
    session: Session,
    person: Person,
    organisation: Organisation | None,
    basis: EligibilityBasis,
    certificate_id: uuid.UUID | None,
    reference: str | None,
) -> tuple[Organisation, Certificate | None, str | None]:
    if basis == EligibilityBasis.CERTIFICATE:
        certificate = session.get(Certificate, certificate_id) if certificate_id else None
        if (
            certificate is None
            or certificate.holder_person_id != person.id
            or certificate.status != CertificateStatus.ISSUED
            or (organisation is not None and certificate.organisation_id != organisation.id)
        ):
            raise InvalidInput("certificate", errors={"certificate_id": ["invalid_choice"]})
        return certificate.organisation, certificate, None
    if organisation is None or organisation.kind != OrganisationKind.ENTE_TITOLATO:
        raise InvalidInput("organisation", errors={"organisation_id": ["invalid_choice"]})
    cleaned = clean_text(reference, "basis_reference", max_len=120)
    return organisation, None, cleaned


def _new_card(
    session: Session,
    actor: UserAccount,
    person: Person,
    organisation: Organisation,
    basis: EligibilityBasis,
    certificate: Certificate | None,
    reference: str | None,
    programme: str,
    now: dt.datetime,
) -> TalentCard:
    if _current_card(session, person.id, organisation.id) is not None:
        raise CardExists("the holder already has a card of this ente")
    card = TalentCard(
        number=new_card_number(),
        organisation_id=organisation.id,
        holder_person_id=person.id,
        programme=programme,
        eligibility_basis=basis,
        basis_certificate_id=certificate.id if certificate else None,
        basis_reference=reference,
        status=CardStatus.REQUESTED,
        qr_token=secrets.token_hex(card_payload.TOKEN_BYTES),
        requested_at=now,
        requested_by_id=actor.id,
        status_changed_at=now,
    )
    session.add(card)
    _grant_consent(session, person, now)
    return card


def request_card(
    session: Session,
    actor: UserAccount,
    basis: EligibilityBasis,
    now: dt.datetime,
    *,
    certificate_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    reference: str | None = None,
    consent: bool,
) -> TalentCard:
    """The holder asks for a card. With an issued certificate as basis the rule finds them
    eligible and the card is ACTIVE at once; otherwise it waits, REQUESTED, for an operator."""
    if not consent:
        raise InvalidInput("consent", errors={"consent": ["required"]})
    person = actor.person
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    organisation, certificate, reference = _basis(
        session, person, organisation, basis, certificate_id, reference
    )
    card = _new_card(
        session,
        actor,
        person,
        organisation,
        basis,
        certificate,
        reference,
        DEFAULT_PROGRAMME,
        now,
    )
    if certificate is not None:
        _activate(card, now)
    session.flush()
    record_event(
        session,
        actor,
        "card.requested",
        "talent_card",
        card.id,
        now,
        organisation_id=organisation.id,
        basis=basis.value,
        status=card.status.value,
    )
    return card


def issue_card(
    session: Session,
    actor: UserAccount,
    organisation: Organisation,
    holder: Person,
    basis: EligibilityBasis,
    now: dt.datetime,
    *,
    certificate_id: uuid.UUID | None = None,
    reference: str | None = None,
    programme: str = DEFAULT_PROGRAMME,
    consent_confirmed: bool,
) -> TalentCard:
    """An operator issues an ACTIVE card, having checked the basis and collected the holder's
    consent to share their first name and initial with partners."""
    if not may_manage_cards(actor, organisation.id):
        raise NotPermitted("only the ente's operators issue talent cards")
    if not consent_confirmed:
        raise InvalidInput("consent", errors={"consent": ["required"]})
    programme = clean_text(programme, "programme", max_len=120)
    organisation, certificate, reference = _basis(
        session, holder, organisation, basis, certificate_id, reference
    )
    card = _new_card(
        session, actor, holder, organisation, basis, certificate, reference, programme, now
    )
    _activate(card, now)
    session.flush()
    record_event(
        session,
        actor,
        "card.issued",
        "talent_card",
        card.id,
        now,
        organisation_id=organisation.id,
        basis=basis.value,
    )
    return card


# --- lifecycle --------------------------------------------------------------------------------

#: change -> (allowed from, to, reason codes it takes)
_CHANGES: Final[dict[str, tuple[frozenset[CardStatus], CardStatus, tuple[str, ...]]]] = {
    "activated": (frozenset({CardStatus.REQUESTED}), CardStatus.ACTIVE, ()),
    "suspended": (frozenset({CardStatus.ACTIVE}), CardStatus.SUSPENDED, SUSPENSION_REASONS),
    "reinstated": (frozenset({CardStatus.SUSPENDED}), CardStatus.ACTIVE, ()),
    "revoked": (
        frozenset(CardStatus) - {CardStatus.REVOKED},
        CardStatus.REVOKED,
        REVOCATION_REASONS,
    ),
    "renewed": (frozenset({CardStatus.ACTIVE, CardStatus.EXPIRED}), CardStatus.ACTIVE, ()),
}
CARD_CHANGES: Final = tuple(_CHANGES)


def allowed_changes(card: TalentCard, now: dt.datetime) -> list[str]:
    """The changes an operator may make to the card now (for the buttons)."""
    status = effective_status(card, now)
    return [
        change
        for change, (allowed, _to, _reasons) in _CHANGES.items()
        if status in allowed and (change != "renewed" or _basis_holds(card))
    ]


def _basis_holds(card: TalentCard) -> bool:
    basis = card.basis_certificate
    return basis is None or basis.status in (CertificateStatus.ISSUED, CertificateStatus.SUPERSEDED)


def change_card(
    session: Session,
    actor: UserAccount,
    card: TalentCard,
    change: str,
    now: dt.datetime,
    reason_code: str | None = None,
) -> TalentCard:
    """Activate a request, suspend, reinstate, revoke or renew a card (operators of its ente).

    Renewing starts a new validity period and rotates the QR token, so the old printed card no
    longer checks as valid; it needs the basis to still hold.
    """
    if change not in _CHANGES:
        raise InvalidInput("change", errors={"change": ["invalid_choice"]})
    allowed, to, reasons = _CHANGES[change]
    if not may_manage_cards(actor, card.organisation_id):
        raise NotPermitted("only the ente's operators change talent cards")
    if reasons and reason_code not in reasons:
        raise InvalidInput("reason", errors={"reason_code": ["invalid_choice"]})
    status = effective_status(card, now)
    if status not in allowed or (change == "renewed" and not _basis_holds(card)):
        raise Conflict(f"not possible for a {status.value} card")
    if change in ("activated", "renewed"):
        if change == "renewed":
            card.qr_token = secrets.token_hex(card_payload.TOKEN_BYTES)
            card.activated_at = None
        _activate(card, now)
    elif change == "reinstated" and card.valid_until is not None and card.valid_until < today(now):
        card.status, card.status_changed_at = CardStatus.EXPIRED, now
    else:
        card.status = to
        card.status_changed_at = now
        card.status_reason_code = reason_code
    session.flush()
    record_event(
        session,
        actor,
        f"card.{change}",
        "talent_card",
        card.id,
        now,
        organisation_id=card.organisation_id,
        reason=reason_code,
    )
    return card


def expire_cards(session: Session, now: dt.datetime) -> list[TalentCard]:
    """Mark ACTIVE cards past their last day EXPIRED (the daily job)."""
    expired = list(
        session.scalars(
            select(TalentCard).where(
                TalentCard.status == CardStatus.ACTIVE, TalentCard.valid_until < today(now)
            )
        )
    )
    for card in expired:
        card.status = CardStatus.EXPIRED
        card.status_changed_at = now
        record_event(
            session,
            None,
            "card.expired",
            "talent_card",
            card.id,
            now,
            organisation_id=card.organisation_id,
        )
    session.flush()
    return expired


def revoke_cards_resting_on(session: Session, certificate: Certificate, now: dt.datetime) -> int:
    """The certificate was revoked: every card that rests on it loses its basis (called by
    :func:`certification.certificates.revoke_certificate`, in the same transaction)."""
    cards = session.scalars(
        select(TalentCard).where(
            TalentCard.basis_certificate_id == certificate.id,
            TalentCard.status != CardStatus.REVOKED,
        )
    ).all()
    for card in cards:
        card.status = CardStatus.REVOKED
        card.status_changed_at = now
        card.status_reason_code = "basis_revoked"
        record_event(
            session,
            None,
            "card.revoked",
            "talent_card",
            card.id,
            now,
            organisation_id=card.organisation_id,
            reason="basis_revoked",
        )
    return len(cards)


def rebase_cards(session: Session, old: Certificate, new: Certificate) -> None:
    """A correction superseded the certificate: its cards now rest on the new one."""
    for card in session.scalars(
        select(TalentCard).where(TalentCard.basis_certificate_id == old.id)
    ):
        card.basis_certificate_id = new.id


# --- photo ------------------------------------------------------------------------------------


def set_card_photo(
    session: Session,
    storage: BlobStorage,
    actor: UserAccount,
    card: TalentCard,
    data: bytes,
    now: dt.datetime,
) -> None:
    """The holder's photo for the card: decoded, re-encoded as a small JPEG without metadata
    (so nothing but pixels from the upload reaches the card)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if card.holder_person_id != actor.person_id:
        raise NotPermitted("only the holder sets the card's photo")
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput("photo", errors={"photo": ["photo_invalid"]})
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG") or image.width * image.height > 40_000_000:
                raise InvalidInput("photo", errors={"photo": ["photo_invalid"]})
            picture = ImageOps.exif_transpose(image).convert("RGB")
            picture = ImageOps.fit(picture, (300, 400))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise InvalidInput("photo", errors={"photo": ["photo_invalid"]}) from None
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    # Recorded as a stored file like every other blob, so backups and erasure find it.
    card.photo_sha256 = store_file(session, storage, out.getvalue(), "image/jpeg", now)
    record_event(
        session,
        actor,
        "card.photo_set",
        "talent_card",
        card.id,
        now,
        organisation_id=card.organisation_id,
    )
    session.flush()


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
