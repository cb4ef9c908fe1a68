"""Talent cards: numbers, request, issue, lifecycle and photo (domain.md §2, §6.5, §7.6).

The TALENT-CARD of the project documents is given to young people of the programme who ask for
it (certified competences, enrolment, a start-up) and unlocks conventions with partner
businesses. It is a membership artefact, never a certification: the card says so.

- A holder with an issued certificate of the ente gets an ACTIVE card at once (the rule checks
  eligibility); other bases wait, REQUESTED, for an operator to check them.
- Cards expire on their date: a daily job marks them EXPIRED and every check compares the date
  anyway. Revoking the certificate a card rests on revokes the card.
- The check at a partner's counter is in :mod:`certification.cards.counter`, partners and their
  conventions in :mod:`certification.cards.partners`.

One module over 600 lines because numbers, validity dates, who may manage, issuing and the
table of changes all decide the same card's state, and each operation reads several of them.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.cards import payload as card_payload
from certification.clock import ROME
from certification.errors import Conflict, InvalidInput, NotFound, NotPermitted, clean_text
from certification.models import (
    CardStatus,
    Certificate,
    CertificateStatus,
    Consent,
    ConsentPurpose,
    EligibilityBasis,
    Organisation,
    Person,
    TalentCard,
    UserAccount,
)
from certification.numbering.codes import card_check_character, clean, is_symbols, random_symbols
from certification.people.privacy import current_notice
from certification.people.roles import OrganisationKind
from certification.policy import CARD_PROGRAMME_ROLES
from certification.portfolio.operations import store_file
from certification.storage.blobs import BlobStorage
from certification.transitions import Transition, allowed_events, table

DEFAULT_PROGRAMME: Final = "Talenti Diffusi"
VALIDITY_MONTHS: Final = 12
CONSENT_TEXT_VERSION: Final = "card-2026-11"
#: Cards that still count: a holder has at most one of these per ente.
CURRENT_STATES: Final = frozenset({CardStatus.REQUESTED, CardStatus.ACTIVE, CardStatus.SUSPENDED})
SUSPENSION_REASONS: Final = ("abuse_report", "other")
REVOCATION_REASONS: Final = ("not_eligible", "abuse", "holder_request", "other")
MAX_PHOTO_BYTES: Final = 5 * 1024 * 1024


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


def new_card_number() -> str:
    """TC-XXXX-XXXX-C: 40 random bits in Crockford base32 and a check character."""
    body = random_symbols(8)
    return f"TC-{body[:4]}-{body[4:]}-{card_check_character(body)}"


def normalise_card_number(text: str) -> str | None:
    """A typed card number made canonical; None if it cannot be one (wrong length, letters or
    check character: a typing mistake). The TC prefix may be left out."""
    cleaned = clean(text)
    if len(cleaned) == 11 and cleaned.startswith("TC"):  # a body may start with TC too
        cleaned = cleaned[2:]
    if len(cleaned) != 9 or not is_symbols(cleaned):
        return None
    body, check = cleaned[:8], cleaned[8]
    if card_check_character(body) != check:
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


def _grant_consent(
    session: Session, person: Person, organisation: Organisation, now: dt.datetime
) -> None:
    # Sharing the first name and initial with partners needs its own consent (domain.md §6.6 #9).
    existing = session.scalar(
        select(Consent).where(
            Consent.person_id == person.id,
            Consent.purpose == ConsentPurpose.SHARE_WITH_PARTNERS,
            Consent.withdrawn_at.is_(None),
        )
    )
    if existing is None:
        notice = current_notice(session, organisation)
        session.add(
            Consent(
                person_id=person.id,
                purpose=ConsentPurpose.SHARE_WITH_PARTNERS,
                text_version=CONSENT_TEXT_VERSION,
                granted_at=now,
                privacy_notice_id=notice.id if notice else None,
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
    _grant_consent(session, person, organisation, now)
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


class CardChange(enum.StrEnum):
    """What an operator does to a card. The values are the words of the audit log
    (``card.<change>``) and of the change's address."""

    ACTIVATED = "activated"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REVOKED = "revoked"
    RENEWED = "renewed"


@dataclass(frozen=True)
class CardTransition(Transition[CardChange, CardStatus]):
    """A row of :data:`CARD_CHANGES`: besides the states and who, the reason codes the change
    takes (none: it takes no reason)."""

    target: CardStatus
    reasons: tuple[str, ...]


def _r(
    change: CardChange, sources: set[CardStatus], target: CardStatus, reasons: tuple[str, ...] = ()
) -> CardTransition:
    return CardTransition(change, frozenset(sources), target, CARD_PROGRAMME_ROLES, reasons)


#: The card's lifecycle, run by the operators and administrators of its ente. A renewal needs
#: the basis to still hold; a card reinstated past its last day is EXPIRED (in change_card).
CARD_CHANGES: Final[Mapping[CardChange, CardTransition]] = table(
    CardChange,
    (
        _r(CardChange.ACTIVATED, {CardStatus.REQUESTED}, CardStatus.ACTIVE),
        _r(CardChange.SUSPENDED, {CardStatus.ACTIVE}, CardStatus.SUSPENDED, SUSPENSION_REASONS),
        _r(CardChange.REINSTATED, {CardStatus.SUSPENDED}, CardStatus.ACTIVE),
        _r(
            CardChange.REVOKED,
            set(CardStatus) - {CardStatus.REVOKED},
            CardStatus.REVOKED,
            REVOCATION_REASONS,
        ),
        _r(CardChange.RENEWED, {CardStatus.ACTIVE, CardStatus.EXPIRED}, CardStatus.ACTIVE),
    ),
)


def allowed_changes(card: TalentCard, now: dt.datetime) -> list[CardChange]:
    """The changes an operator may make to the card now (for the buttons)."""
    return [
        change
        for change in allowed_events(CARD_CHANGES, effective_status(card, now))
        if change != CardChange.RENEWED or _basis_holds(card)
    ]


def _basis_holds(card: TalentCard) -> bool:
    basis = card.basis_certificate
    return basis is None or basis.status in (CertificateStatus.ISSUED, CertificateStatus.SUPERSEDED)


def change_card(
    session: Session,
    actor: UserAccount,
    card: TalentCard,
    change: CardChange,
    now: dt.datetime,
    reason_code: str | None = None,
) -> TalentCard:
    """Activate a request, suspend, reinstate, revoke or renew a card (operators of its ente).

    Renewing starts a new validity period and rotates the QR token, so the old printed card no
    longer checks as valid; it needs the basis to still hold.
    """
    rule = CARD_CHANGES.get(change)
    if rule is None:
        raise InvalidInput("change", errors={"change": ["invalid_choice"]})
    if not (actor.is_active and actor.roles_in(card.organisation_id) & rule.actors):
        raise NotPermitted("only the ente's operators change talent cards")
    if rule.reasons and reason_code not in rule.reasons:
        raise InvalidInput("reason", errors={"reason_code": ["invalid_choice"]})
    status = effective_status(card, now)
    if not rule.allows(status) or (change == CardChange.RENEWED and not _basis_holds(card)):
        raise Conflict(f"not possible for a {status.value} card")
    if change in (CardChange.ACTIVATED, CardChange.RENEWED):
        if change == CardChange.RENEWED:
            card.qr_token = secrets.token_hex(card_payload.TOKEN_BYTES)
            card.activated_at = None
        _activate(card, now)
    elif (
        change == CardChange.REINSTATED
        and card.valid_until is not None
        and card.valid_until < today(now)
    ):
        card.status, card.status_changed_at = CardStatus.EXPIRED, now
    else:
        card.status = rule.target
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
    :func:`certification.certificates.lifecycle.revoke_certificate`, in the same transaction)."""
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
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415 - heavy

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
