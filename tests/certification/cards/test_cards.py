"""Talent cards: eligibility, the lifecycle, expiry, revocation with the certificate, the check
at the counter, partner conventions and card uses."""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import cards as C
from certification.cards import payload as card_payload
from certification.certificates.lifecycle import revoke_certificate
from certification.errors import Conflict, InvalidInput, NotFound, NotPermitted
from certification.keys.management import init_keys
from certification.models import (
    CardStatus,
    Consent,
    ConsentPurpose,
    EligibilityBasis,
    KeyPurpose,
    SigningKey,
    StatusList,
)
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import (
    make_account,
    make_candidate,
    make_card,
    make_case,
    make_certificate,
    make_convention,
    make_organisation,
)

PASSPHRASE = b"test passphrase"
TODAY = C.today(NOW)


@pytest.fixture
def w(db: Session) -> dict[str, Any]:
    ente = make_organisation(db, code="CT1")
    other_ente = make_organisation(db, code="CT2")
    partner = make_organisation(db, OrganisationKind.PARTNER_BUSINESS, managed_by_id=ente.id)
    other_partner = make_organisation(db, OrganisationKind.PARTNER_BUSINESS, managed_by_id=ente.id)
    holder = make_candidate(db, given_name="Giulia", family_name="Rossi")
    init_keys(db, None, PASSPHRASE, NOW)
    return {
        "ente": ente,
        "other_ente": other_ente,
        "partner": partner,
        "other_partner": other_partner,
        "holder": holder,
        "certificate": make_certificate(db, make_case(db, candidate=holder, ente=ente)),
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=ente),
        "partner_user": make_account(db, roles=(Role.PARTNER,), organisation=partner),
        "other_partner_user": make_account(db, roles=(Role.PARTNER,), organisation=other_partner),
        "convention": make_convention(db, partner),
        "other_convention": make_convention(db, other_partner, title="Altro"),
    }


def _card(db: Session, w: dict[str, Any]) -> Any:
    return C.request_card(
        db,
        w["holder"],
        EligibilityBasis.CERTIFICATE,
        NOW,
        certificate_id=w["certificate"].id,
        consent=True,
    )


# --- numbers ----------------------------------------------------------------------------------


def test_card_numbers_carry_a_check_character() -> None:
    for _ in range(200):
        number = C.new_card_number()
        assert C.normalise_card_number(number) == number
        assert C.normalise_card_number(number.lower().replace("-", " ")) == number
        body = number.replace("-", "")[2:]
        for position in range(len(body)):
            wrong = "0" if body[position] != "0" else "1"
            typo = body[:position] + wrong + body[position + 1 :]
            assert C.normalise_card_number("TC" + typo) is None
    assert C.normalise_card_number("TC-0000-0000") is None
    assert C.normalise_card_number("") is None


# --- requesting and issuing -------------------------------------------------------------------


def test_a_certificate_makes_the_card_active_at_once(db: Session, w: dict[str, Any]) -> None:
    card = _card(db, w)
    assert card.status == CardStatus.ACTIVE
    assert (card.valid_from, card.valid_until) == (TODAY, dt.date(2027, 11, 1))
    assert card.organisation_id == w["ente"].id
    consent = db.scalar(select(Consent).where(Consent.person_id == w["holder"].person_id))
    assert consent is not None and consent.purpose == ConsentPurpose.SHARE_WITH_PARTNERS
    with pytest.raises(C.CardExists):
        _card(db, w)


def test_requests_need_consent_and_a_basis_of_ones_own(db: Session, w: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as refused:
        C.request_card(
            db, w["holder"], EligibilityBasis.CERTIFICATE, NOW,
            certificate_id=w["certificate"].id, consent=False,
        )  # fmt: skip
    assert refused.value.errors == {"consent": ["required"]}
    someone_else = make_candidate(db)
    with pytest.raises(InvalidInput) as refused:
        C.request_card(
            db, someone_else, EligibilityBasis.CERTIFICATE, NOW,
            certificate_id=w["certificate"].id, consent=True,
        )  # fmt: skip
    assert refused.value.errors == {"certificate_id": ["invalid_choice"]}
    with pytest.raises(InvalidInput):
        C.request_card(
            db, someone_else, EligibilityBasis.STARTUP_REGISTERED, NOW,
            organisation_id=w["ente"].id, reference="  ", consent=True,
        )  # fmt: skip


def test_other_bases_wait_for_an_operator(db: Session, w: dict[str, Any]) -> None:
    candidate = make_candidate(db)
    card = C.request_card(
        db, candidate, EligibilityBasis.STARTUP_REGISTERED, NOW,
        organisation_id=w["ente"].id, reference="REA CR-1", consent=True,
    )  # fmt: skip
    assert card.status == CardStatus.REQUESTED and card.valid_from is None
    with pytest.raises(NotPermitted):
        C.change_card(db, candidate, card, "activated", NOW)
    with pytest.raises(NotPermitted):
        C.change_card(db, w["tutor"], card, "activated", NOW)
    C.change_card(db, w["operator"], card, "activated", NOW)
    assert card.status == CardStatus.ACTIVE and card.valid_until == dt.date(2027, 11, 1)


def test_an_operator_issues_only_for_their_ente(db: Session, w: dict[str, Any]) -> None:
    candidate = make_candidate(db)
    with pytest.raises(NotPermitted):
        C.issue_card(
            db, w["operator"], w["other_ente"], candidate.person,
            EligibilityBasis.PROGRAMME_ENROLMENT, NOW, reference="ISCR-9", consent_confirmed=True,
        )  # fmt: skip
    card = C.issue_card(
        db, w["operator"], w["ente"], candidate.person,
        EligibilityBasis.PROGRAMME_ENROLMENT, NOW, reference="ISCR-9", consent_confirmed=True,
    )  # fmt: skip
    assert card.status == CardStatus.ACTIVE and card.programme == C.DEFAULT_PROGRAMME


# --- lifecycle --------------------------------------------------------------------------------

TRANSITIONS = [
    # (from, change, reason, to or None if refused)
    (CardStatus.REQUESTED, "activated", None, CardStatus.ACTIVE),
    (CardStatus.REQUESTED, "suspended", "abuse_report", None),
    (CardStatus.REQUESTED, "revoked", "not_eligible", CardStatus.REVOKED),
    (CardStatus.ACTIVE, "suspended", "abuse_report", CardStatus.SUSPENDED),
    (CardStatus.ACTIVE, "suspended", "made_up", None),
    (CardStatus.ACTIVE, "activated", None, None),
    (CardStatus.ACTIVE, "renewed", None, CardStatus.ACTIVE),
    (CardStatus.ACTIVE, "revoked", "abuse", CardStatus.REVOKED),
    (CardStatus.SUSPENDED, "reinstated", None, CardStatus.ACTIVE),
    (CardStatus.SUSPENDED, "renewed", None, None),
    (CardStatus.EXPIRED, "renewed", None, CardStatus.ACTIVE),
    (CardStatus.EXPIRED, "reinstated", None, None),
    (CardStatus.REVOKED, "reinstated", None, None),
    (CardStatus.REVOKED, "renewed", None, None),
    (CardStatus.REVOKED, "revoked", "other", None),
]


@pytest.mark.parametrize(("start", "change", "reason", "to"), TRANSITIONS)
def test_card_transitions(
    db: Session, w: dict[str, Any], start: CardStatus, change: str, reason: str | None, to: Any
) -> None:
    card = make_card(db, w["holder"].person, w["ente"], status=start, valid_from=TODAY)
    token = card.qr_token
    if to is None:
        with pytest.raises((InvalidInput, Conflict)):
            C.change_card(db, w["operator"], card, change, NOW, reason)
        assert card.status == start
        return
    C.change_card(db, w["operator"], card, change, NOW, reason)
    assert card.status == to
    assert (card.qr_token != token) == (change == "renewed")


def test_cards_expire_on_their_date(db: Session, w: dict[str, Any]) -> None:
    card = make_card(
        db, w["holder"].person, w["ente"], valid_from=TODAY - dt.timedelta(days=365),
        valid_until=TODAY - dt.timedelta(days=1),
    )  # fmt: skip
    still = make_card(
        db, make_candidate(db).person, w["ente"], valid_from=TODAY - dt.timedelta(days=30),
        valid_until=TODAY,
    )  # fmt: skip
    assert C.effective_status(card, NOW) == CardStatus.EXPIRED  # before the job runs
    assert C.expire_cards(db, NOW) == [card]
    assert card.status == CardStatus.EXPIRED and still.status == CardStatus.ACTIVE
    assert C.is_usable(still, NOW)
    assert not C.is_usable(still, NOW + dt.timedelta(days=1))


def test_revoking_the_certificate_revokes_the_card(db: Session, w: dict[str, Any]) -> None:
    card = _card(db, w)
    signatory = make_account(db, roles=(Role.SIGNATORY,), organisation=w["ente"])
    for purpose in ("revocation", "suspension"):
        db.add(
            StatusList(
                organisation_id=w["ente"].id, purpose=purpose, size_bits=131072,
                bitstring=bytes(16384), updated_at=NOW,
            )
        )  # fmt: skip
    db.flush()
    revoke_certificate(db, signatory, w["certificate"], "false_evidence", "prova falsa", NOW)
    assert card.status == CardStatus.REVOKED and card.status_reason_code == "basis_revoked"
    assert C.allowed_changes(card, NOW) == []


# --- the check at the counter -----------------------------------------------------------------


def test_the_counter_sees_the_verdict_first_name_initial_and_expiry(
    db: Session, w: dict[str, Any]
) -> None:
    card = _card(db, w)
    payload = C.qr_payload(db, card, PASSPHRASE)
    result = C.check_card(db, f"https://attesta.example/card/verify/{payload}", NOW)
    assert (result.valid, result.reason, result.holder) == (True, "valid", "Giulia R.")
    assert result.valid_until == card.valid_until
    by_number = C.check_card_number(db, card.number.lower(), NOW)
    assert (by_number.valid, by_number.holder) == (True, "Giulia R.")


def _tampered(payload: str, position: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(payload + "=="))
    raw[position] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_bad_codes_never_check_as_valid(db: Session, w: dict[str, Any]) -> None:
    card = _card(db, w)
    payload = C.qr_payload(db, card, PASSPHRASE)
    attacker = card_payload.encode(
        Ed25519PrivateKey.generate(), card_payload_kid(db, w), card.qr_token,
        card.valid_from, card.valid_until, "GR",
    )  # fmt: skip
    cases = {
        "garbage": ("%%%", "unreadable"),
        "longer validity": (_tampered(payload, 18), "bad_signature"),
        "another card's token": (_tampered(payload, 6), "bad_signature"),
        "attacker key, our key id": (attacker, "bad_signature"),
        "unknown key id": (_tampered(payload, 1), "unknown_key"),
    }
    for name, (text, reason) in cases.items():
        result = C.check_card(db, text, NOW)
        assert (result.valid, result.reason, result.holder) == (False, reason, None), name
    assert C.check_card_number(db, "TC-0000-0000-0", NOW).reason == "unknown_card"
    wrong = "Z" if card.number[-1] != "Z" else "Y"  # any check character but the right one
    assert C.check_card_number(db, card.number[:-1] + wrong, NOW).reason == "mistyped"


def card_payload_kid(db: Session, w: dict[str, Any]) -> str:
    key = db.scalar(
        select(SigningKey).where(
            SigningKey.organisation_id == w["ente"].id,
            SigningKey.purpose == KeyPurpose.CREDENTIAL,
        )
    )
    assert key is not None
    return key.kid


@pytest.mark.parametrize(
    ("change", "reason_code", "verdict"),
    [("suspended", "abuse_report", "suspended"), ("revoked", "abuse", "revoked")],
)
def test_suspended_and_revoked_cards_are_not_valid(
    db: Session, w: dict[str, Any], change: str, reason_code: str, verdict: str
) -> None:
    card = _card(db, w)
    payload = C.qr_payload(db, card, PASSPHRASE)
    C.change_card(db, w["operator"], card, change, NOW, reason_code)
    result = C.check_card(db, payload, NOW)
    assert (result.valid, result.reason, result.holder) == (False, verdict, "Giulia R.")


def test_expired_renewed_and_compromised(db: Session, w: dict[str, Any]) -> None:
    card = _card(db, w)
    payload = C.qr_payload(db, card, PASSPHRASE)
    later = NOW + dt.timedelta(days=400)
    assert C.check_card(db, payload, later).reason == "expired"
    C.change_card(db, w["operator"], card, "renewed", later)
    assert C.check_card(db, payload, later).reason == "unknown_card"  # the old print
    fresh = C.qr_payload(db, card, PASSPHRASE)
    assert C.check_card(db, fresh, later).valid
    key = db.get(SigningKey, card_payload_kid(db, w))
    assert key is not None
    key.compromised_at = later
    assert C.check_card(db, fresh, later).reason == "key_compromised"


def test_no_qr_for_a_card_that_is_not_issued(db: Session, w: dict[str, Any]) -> None:
    card = make_card(db, w["holder"].person, w["ente"], status=CardStatus.REQUESTED)
    card.valid_from = None
    with pytest.raises(C.CardNotValid):
        C.qr_payload(db, card, PASSPHRASE)


# --- conventions and uses ---------------------------------------------------------------------


def test_partners_record_uses_of_their_own_conventions_only(db: Session, w: dict[str, Any]) -> None:
    card = make_card(db, w["holder"].person, w["ente"], valid_from=TODAY)
    use = C.record_card_use(db, w["partner_user"], card, w["convention"].id, NOW)
    assert (use.card_id, use.recorded_by_id) == (card.id, w["partner_user"].id)
    assert list(C.uses_of_card(db, card)) == [use]
    with pytest.raises(NotFound):
        C.record_card_use(db, w["partner_user"], card, w["other_convention"].id, NOW)
    with pytest.raises(NotFound):
        C.record_card_use(db, w["operator"], card, w["convention"].id, NOW)
    elsewhere = make_card(db, make_candidate(db).person, w["other_ente"], valid_from=TODAY)
    with pytest.raises(C.ConventionNotForCard):
        C.record_card_use(db, w["partner_user"], elsewhere, w["convention"].id, NOW)
    card.status = CardStatus.SUSPENDED
    with pytest.raises(C.CardNotValid):
        C.record_card_use(db, w["partner_user"], card, w["convention"].id, NOW)
    assert C.conventions_for_counter(db, w["partner_user"], elsewhere, NOW) == []


def _fields(**changes: Any) -> C.ConventionFields:
    values: dict[str, Any] = {
        "title": "Domini web",
        "benefit": "Dominio .it gratuito",
        "category": "web_domains",
        "valid_from": dt.date(2026, 1, 1),
        "location": "Cremona",
    }
    return C.ConventionFields(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"discount_pct": 0}, {"discount_pct": ["percent_range"]}),
        ({"discount_pct": 101}, {"discount_pct": ["percent_range"]}),
        ({"valid_to": dt.date(2025, 1, 1)}, {"valid_to": ["before_start"]}),
        ({"category": "casino"}, {"category": ["invalid_choice"]}),
        ({"valid_from": None}, {"valid_from": ["required"]}),
    ],
)
def test_convention_fields_are_checked(
    db: Session, w: dict[str, Any], changes: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        C.save_convention(db, w["operator"], w["partner"], _fields(**changes), NOW)
    assert refused.value.errors == errors


def test_the_directory_lists_what_is_on_offer(db: Session, w: dict[str, Any]) -> None:
    saved = C.save_convention(db, w["operator"], w["partner"], _fields(discount_pct=30), NOW)
    with pytest.raises(NotPermitted):
        C.save_convention(db, w["partner_user"], w["partner"], _fields(), NOW)
    C.save_convention(db, w["operator"], w["partner"], _fields(title="Ritirata", active=False), NOW)
    C.save_convention(
        db, w["operator"], w["partner"],
        _fields(title="Finita", valid_to=dt.date(2026, 6, 30)), NOW,
    )  # fmt: skip
    titles = {c.title for c in C.convention_directory(db, NOW)}
    assert "Domini web" in titles and not {"Ritirata", "Finita"} & titles
    assert [c.id for c in C.convention_directory(db, NOW, text="DOMINIO")] == [saved.id]
    assert [c.id for c in C.convention_directory(db, NOW, category="web_domains")] == [saved.id]


def test_partners_belong_to_the_ente_that_added_them(db: Session, w: dict[str, Any]) -> None:
    partner = C.create_partner(
        db, w["operator"], w["ente"], NOW, legal_name="Tipografia S.r.l.",
        short_name="Tipografia", tax_code="01234567890", city="Crema", address=None, website=None,
    )  # fmt: skip
    assert partner.managed_by_id == w["ente"].id
    assert partner in C.partners_of(db, w["operator"], w["ente"])
    with pytest.raises(InvalidInput):
        C.create_partner(
            db, w["operator"], w["ente"], NOW, legal_name="Copia", short_name="Copia",
            tax_code="01234567890", city=None, address=None, website=None,
        )  # fmt: skip
    other_operator = make_account(
        db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=w["other_ente"]
    )
    with pytest.raises(NotFound):
        C.get_managed_partner(db, other_operator, partner.id)


# --- photo ------------------------------------------------------------------------------------


def _image(kind: str, size: tuple[int, int] = (600, 800)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 80)).save(out, kind)
    return out.getvalue()


def test_the_photo_is_re_encoded(db: Session, w: dict[str, Any], storage: Any) -> None:
    card = _card(db, w)
    C.set_card_photo(db, storage, w["holder"], card, _image("PNG"), NOW)
    assert card.photo_sha256 is not None
    with Image.open(io.BytesIO(storage.get(card.photo_sha256))) as stored:
        assert (stored.format, stored.size) == ("JPEG", (300, 400))
    for bad in (b"", b"GIF89a not really", _image("GIF")):
        with pytest.raises(InvalidInput):
            C.set_card_photo(db, storage, w["holder"], card, bad, NOW)
    with pytest.raises(NotPermitted):
        C.set_card_photo(db, storage, w["operator"], card, _image("JPEG"), NOW)
