"""Offers, the token exchange and nonces: one-time, short-lived, PIN-protected."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from certification.errors import NotPermitted
from certification.models import CertificateStatus, WalletOffer
from certification.wallet.offers import (
    OFFER_MINUTES,
    PIN_ATTEMPTS,
    WalletProtocolError,
    create_offer,
    new_nonce,
    offer_document,
    offer_for_token,
    offer_link,
    redeem_code,
    take_nonce,
    use_token,
)
from tests.support.certificates import PASS
from tests.support.clock import NOW
from tests.support.factories import make_account
from tests.support.wallet import wallet_certificate

ISSUER = "https://attesta.test"


@pytest.fixture
def offered(db: Session) -> tuple[object, object]:
    certificate, holder = wallet_certificate(db, PASS)
    return certificate, create_offer(db, holder, certificate, NOW)


def _refused(error: str, call: object, *args: object) -> WalletProtocolError:
    with pytest.raises(WalletProtocolError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.error == error
    return caught.value


def test_the_offer_keeps_only_digests_and_names_the_pin(db: Session, offered: tuple) -> None:
    _certificate, made = offered
    assert made.offer.code_sha256 != made.pre_authorized_code
    assert made.pre_authorized_code not in made.offer.pin_sha256
    assert len(made.pin) == 6 and made.pin.isdigit()
    assert made.offer.expires_at == NOW + dt.timedelta(minutes=OFFER_MINUTES)
    grant = offer_document(ISSUER, "abc")["grants"][
        "urn:ietf:params:oauth:grant-type:pre-authorized_code"
    ]
    assert grant["tx_code"]["length"] == 6 and grant["tx_code"]["input_mode"] == "numeric"
    assert offer_link(ISSUER, "abc").startswith("openid-credential-offer://?credential_offer=%7B")


def test_only_the_holder_of_an_issued_certificate_offers_it(db: Session) -> None:
    certificate, holder = wallet_certificate(db, PASS)
    with pytest.raises(NotPermitted):
        create_offer(db, make_account(db), certificate, NOW)
    certificate.status = CertificateStatus.SUSPENDED
    with pytest.raises(NotPermitted):
        create_offer(db, holder, certificate, NOW)


def test_a_code_and_its_pin_give_one_token_once(db: Session, offered: tuple) -> None:
    _certificate, made = offered
    offer, token = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    assert offer_for_token(db, token, NOW) is offer
    _refused("invalid_grant", redeem_code, db, made.pre_authorized_code, made.pin, NOW)
    _refused("invalid_token", offer_for_token, db, token, NOW + dt.timedelta(minutes=6))
    _refused("invalid_token", offer_for_token, db, "not-a-token", NOW)


def test_an_expired_code_is_refused(db: Session, offered: tuple) -> None:
    _certificate, made = offered
    later = NOW + dt.timedelta(minutes=OFFER_MINUTES)
    _refused("invalid_grant", redeem_code, db, made.pre_authorized_code, made.pin, later)


def test_unknown_code_and_missing_pin(db: Session, offered: tuple) -> None:
    _certificate, made = offered
    _refused("invalid_grant", redeem_code, db, "forged", made.pin, NOW)
    _refused("invalid_request", redeem_code, db, "", made.pin, NOW)
    _refused("invalid_request", redeem_code, db, made.pre_authorized_code, None, NOW)


def test_wrong_pins_kill_the_offer(db: Session, offered: tuple) -> None:
    _certificate, made = offered
    wrong = "000000" if made.pin != "000000" else "111111"
    for _ in range(PIN_ATTEMPTS):
        _refused("invalid_grant", redeem_code, db, made.pre_authorized_code, wrong, NOW)
    assert made.offer.dead_at == NOW and made.offer.pin_failures == PIN_ATTEMPTS
    # Dead: even the right PIN no longer works.
    _refused("invalid_grant", redeem_code, db, made.pre_authorized_code, made.pin, NOW)


def test_a_new_offer_ends_the_open_ones(db: Session, offered: tuple) -> None:
    certificate, made = offered
    holder = made.offer.created_by
    newer = create_offer(db, holder, certificate, NOW + dt.timedelta(minutes=1))
    db.refresh(made.offer)
    assert made.offer.dead_at is not None and newer.offer.dead_at is None
    _refused("invalid_grant", redeem_code, db, made.pre_authorized_code, made.pin, NOW)


def test_a_revoked_certificate_is_no_longer_given(db: Session, offered: tuple) -> None:
    certificate, made = offered
    _offer, token = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    certificate.status = CertificateStatus.REVOKED
    _refused("invalid_token", offer_for_token, db, token, NOW)


def test_a_nonce_works_once_and_not_after_it_expires(db: Session) -> None:
    nonce = new_nonce(db, NOW)
    take_nonce(db, nonce, NOW)
    _refused("invalid_nonce", take_nonce, db, nonce, NOW)
    old = new_nonce(db, NOW)
    _refused("invalid_nonce", take_nonce, db, old, NOW + dt.timedelta(minutes=6))
    _refused("invalid_nonce", take_nonce, db, None, NOW)
    _refused("invalid_nonce", take_nonce, db, "never-given", NOW)
    assert db.query(WalletOffer).count() == 0


def test_a_token_gives_one_credential_even_to_racing_requests(db: Session, offered: tuple) -> None:
    _certificate, made = offered
    offer, _token = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    use_token(db, offer, NOW)
    # A second request that had read the offer before the first used it (its copy says unused,
    # the database says used): the update finds no unused token and refuses.
    set_committed_value(offer, "used_at", None)
    _refused("invalid_token", use_token, db, offer, NOW)
