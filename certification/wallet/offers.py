"""One-time credential offers (OpenID4VCI 1.0 §4, pre-authorized code flow), the token
endpoint's exchange and the nonce endpoint's nonces.

- The holder of an issued certificate makes an offer (:func:`create_offer`): a pre-authorized
  code (in the offer, given to the wallet by QR code or link) and a 6-digit PIN shown on the
  holder's page only (the ``tx_code``): someone who sees the QR code over the holder's shoulder
  gets nothing without it. A new offer ends the holder's earlier open ones.
- :func:`redeem_code` trades code and PIN for an access token, once, before the offer expires
  (:data:`OFFER_MINUTES`); a wrong PIN counts, and after :data:`PIN_ATTEMPTS` the offer is dead
  (the caller commits the count even though the answer is a refusal).
- :func:`new_nonce` gives a ``c_nonce`` for the key proof; :func:`take_nonce` uses it up.

Refusals are :class:`WalletProtocolError` with the OAuth 2.0 / OpenID4VCI error code the
protocol endpoints answer with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import InvalidInput, NotPermitted
from certification.models import (
    Certificate,
    CertificateStatus,
    UserAccount,
    WalletIssuance,
    WalletNonce,
    WalletOffer,
)
from certification.policy import can_offer_to_wallet

#: How long an offer's pre-authorized code can be exchanged.
OFFER_MINUTES: Final = 10
#: Wrong PINs before the offer dies.
PIN_ATTEMPTS: Final = 3
PIN_DIGITS: Final = 6
#: How long the access token lets the wallet ask for its credential.
TOKEN_SECONDS: Final = 300
#: How long a ``c_nonce`` is good for a key proof.
NONCE_SECONDS: Final = 300

PRE_AUTHORIZED_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION_ID: Final = "attesta_certificate_sd_jwt"


class WalletProtocolError(InvalidInput):
    """A refusal of a protocol endpoint: ``error`` is the specification's code
    (``invalid_grant``, ``invalid_proof``, ``invalid_nonce``, ``invalid_request``...),
    ``status`` the HTTP status the specification gives it."""

    code = "wallet_protocol_error"

    def __init__(self, error: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.error = error
        self.status = status


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewOffer:
    """An offer just made: the secrets exist only here (the database keeps their digests)."""

    offer: WalletOffer
    pre_authorized_code: str
    pin: str


def create_offer(
    session: Session, actor: UserAccount, certificate: Certificate, now: dt.datetime
) -> NewOffer:
    """A one-time offer of ``certificate`` to a wallet, by its holder, while it is issued."""
    if not can_offer_to_wallet(actor, certificate):
        raise NotPermitted("only the holder of an issued certificate adds it to a wallet")
    session.execute(
        update(WalletOffer)
        .where(
            WalletOffer.certificate_id == certificate.id,
            WalletOffer.redeemed_at.is_(None),
            WalletOffer.dead_at.is_(None),
        )
        .values(dead_at=now)
    )
    code = secrets.token_urlsafe(32)
    pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
    offer = WalletOffer(
        certificate_id=certificate.id,
        created_by_id=actor.id,
        code_sha256=digest(code),
        pin_sha256=digest(pin),
        pin_failures=0,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=OFFER_MINUTES),
    )
    session.add(offer)
    session.flush()
    record_event(
        session,
        actor,
        "wallet.offer_created",
        "certificate",
        str(certificate.id),
        now,
        offer=str(offer.id),
    )
    return NewOffer(offer, code, pin)


def offer_document(issuer: str, code: str) -> dict[str, Any]:
    """The credential offer (OpenID4VCI 1.0 §4.1.1), passed by value."""
    return {
        "credential_issuer": issuer,
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": PIN_DIGITS,
                    "description": "PIN shown on your Attesta certificate page / "
                    "PIN mostrato sulla pagina del certificato in Attesta",
                },
            }
        },
    }


def offer_link(issuer: str, code: str) -> str:
    """``openid-credential-offer://?credential_offer=...``: the QR code's text and the
    same-device link."""
    document = json.dumps(offer_document(issuer, code), separators=(",", ":"))
    return "openid-credential-offer://?credential_offer=" + quote(document, safe="")


def _same(secret: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_digest)


def redeem_code(
    session: Session, code: str, pin: str | None, now: dt.datetime
) -> tuple[WalletOffer, str]:
    """The token endpoint's exchange: the offer and a new access token.

    ``invalid_grant`` for an unknown, expired, used or dead code and for a wrong PIN (which
    counts: the caller commits, then refuses); ``invalid_request`` when the PIN is missing.
    """
    if not code:
        raise WalletProtocolError("invalid_request", "pre-authorized_code is missing")
    offer = session.scalar(select(WalletOffer).where(WalletOffer.code_sha256 == digest(code)))
    if offer is None or offer.pin_sha256 is None:  # (an authorization code is not one)
        raise WalletProtocolError("invalid_grant", "unknown pre-authorized code")
    if offer.dead_at is not None or offer.redeemed_at is not None:
        raise WalletProtocolError("invalid_grant", "the pre-authorized code was already used")
    if offer.expires_at <= now:
        raise WalletProtocolError("invalid_grant", "the pre-authorized code has expired")
    if offer.certificate.status != CertificateStatus.ISSUED:
        raise WalletProtocolError("invalid_grant", "the certificate is no longer issued")
    if not pin:
        raise WalletProtocolError("invalid_request", "tx_code is missing")
    if not _same(pin, offer.pin_sha256):
        # Counted in the database (not read, then written), so that wrong PINs sent at the
        # same time all count.
        session.execute(
            update(WalletOffer)
            .where(WalletOffer.id == offer.id)
            .values(pin_failures=WalletOffer.pin_failures + 1)
        )
        session.refresh(offer)
        if offer.pin_failures >= PIN_ATTEMPTS:
            offer.dead_at = now
        session.flush()
        raise WalletProtocolError("invalid_grant", "wrong tx_code")
    token = grant_access_token(
        session,
        offer,
        now,
        WalletProtocolError("invalid_grant", "the pre-authorized code was already used"),
    )
    return offer, token


def grant_access_token(
    session: Session, offer: WalletOffer, now: dt.datetime, refusal: WalletProtocolError
) -> str:
    """The offer's code is redeemed, once: a new access token for its one credential (of two
    requests racing with the same code, the second gets ``refusal``)."""
    token = secrets.token_urlsafe(32)
    _once(
        session,
        update(WalletOffer)
        .where(
            WalletOffer.id == offer.id,
            WalletOffer.redeemed_at.is_(None),
            WalletOffer.dead_at.is_(None),
        )
        .values(
            redeemed_at=now,
            token_sha256=digest(token),
            token_expires_at=now + dt.timedelta(seconds=TOKEN_SECONDS),
        ),
        refusal,
    )
    session.refresh(offer)
    return token


def _once(session: Session, statement: Any, refusal: WalletProtocolError) -> None:
    """Run a conditional UPDATE that must change exactly one row: of two requests racing for
    a one-time code, token or nonce, one wins and the other is refused."""
    if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
        raise refusal


def offer_for_token(session: Session, token: str, now: dt.datetime) -> WalletOffer:
    """The offer whose access token this is, while it is good for its one credential
    (``invalid_token``, 401, otherwise)."""
    offer = (
        session.scalar(select(WalletOffer).where(WalletOffer.token_sha256 == digest(token)))
        if token
        else None
    )
    if (
        offer is None
        or offer.used_at is not None
        or offer.token_expires_at is None
        or offer.token_expires_at <= now
    ):
        raise WalletProtocolError("invalid_token", "the access token is not valid", 401)
    if offer.certificate.status != CertificateStatus.ISSUED:
        raise WalletProtocolError("invalid_token", "the certificate is no longer issued", 401)
    return offer


def new_nonce(session: Session, now: dt.datetime) -> str:
    """A fresh ``c_nonce`` (the nonce endpoint); expired ones are swept on the way."""
    session.execute(delete(WalletNonce).where(WalletNonce.expires_at <= now))
    nonce = secrets.token_urlsafe(24)
    session.add(
        WalletNonce(
            nonce_sha256=digest(nonce),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=NONCE_SECONDS),
        )
    )
    session.flush()
    return nonce


def take_nonce(session: Session, nonce: object, now: dt.datetime) -> None:
    """Use up a nonce; ``invalid_nonce`` if it is unknown, expired or already used."""
    refusal = WalletProtocolError("invalid_nonce", "the key proof's nonce is unknown or used")
    if not isinstance(nonce, str) or not nonce:
        raise refusal
    _once(
        session,
        update(WalletNonce)
        .where(
            WalletNonce.nonce_sha256 == digest(nonce),
            WalletNonce.used_at.is_(None),
            WalletNonce.expires_at > now,
        )
        .values(used_at=now),
        refusal,
    )


def use_token(session: Session, offer: WalletOffer, now: dt.datetime) -> None:
    """The access token gives its one credential (``invalid_token`` to a second, racing
    request)."""
    _once(
        session,
        update(WalletOffer)
        .where(WalletOffer.id == offer.id, WalletOffer.used_at.is_(None))
        .values(used_at=now),
        WalletProtocolError("invalid_token", "the access token was already used", 401),
    )
    session.refresh(offer)


def wallets_of(session: Session, certificate: Certificate) -> Sequence[WalletIssuance]:
    """The wallets that took ``certificate``, newest first (the holder's page)."""
    return session.scalars(
        select(WalletIssuance)
        .where(WalletIssuance.certificate_id == certificate.id)
        .order_by(WalletIssuance.issued_at.desc())
    ).all()
