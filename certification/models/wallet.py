"""Wallet issuance (OpenID4VCI 1.0, issue 23): the holder's one-time credential offers, the
nonces of key proofs, and which wallets took a certificate and when.

Codes, PINs and access tokens are kept as sha256 digests: a copy of the database does not give
a code that works (they are random, 128 bits or more, so a plain digest suffices; the PIN is
short, but it is worth nothing without its pre-authorized code and dies after a few tries).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import UserAccount
from certification.models.certificates import Certificate


class WalletOffer(UUIDPrimaryKey, ModelBase):
    """A credential offer with a pre-authorized code and its transaction code (PIN), or a
    grant of the authorization code flow (the holder logged in from the wallet and consented):
    then ``code_sha256`` is the authorization code's, bound to the wallet's PKCE
    ``code_challenge`` (S256), its ``redirect_uri`` and ``client_id``, and there is no PIN.

    Lives a few minutes; the code is exchanged once for an access token (``redeemed_at``), the
    token is good for one credential (``used_at``); too many wrong PINs, or an authorization
    code presented twice, kill it (``dead_at``).
    """

    __tablename__ = "wallet_offers"

    certificate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: None for an authorization code (no PIN: the holder logged in).
    pin_sha256: Mapped[str | None] = mapped_column(String(64))
    pin_failures: Mapped[int] = mapped_column(default=0)
    #: The authorization code flow's PKCE challenge (S256), exact redirect_uri and client_id.
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    redirect_uri: Mapped[str | None] = mapped_column(String(2000))
    client_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    redeemed_at: Mapped[dt.datetime | None]
    dead_at: Mapped[dt.datetime | None]
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]

    certificate: Mapped[Certificate] = relationship()
    created_by: Mapped[UserAccount | None] = relationship()


class WalletNonce(ModelBase):
    """A ``c_nonce`` from the nonce endpoint: a key proof carries it once, before it expires."""

    __tablename__ = "wallet_nonces"

    nonce_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class WalletIssuance(UUIDPrimaryKey, ModelBase):
    """A certificate taken by a wallet: which wallet (its client id, when it gave one), bound
    to which key (RFC 7638 thumbprint), when."""

    __tablename__ = "wallet_issuances"

    certificate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    offer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wallet_offers.id", ondelete="CASCADE"), unique=True
    )
    wallet: Mapped[str | None] = mapped_column(String(200))
    key_thumbprint: Mapped[str] = mapped_column(String(64))
    signing_kid: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime]


class WalletPresentationRequest(UUIDPrimaryKey, ModelBase):
    """An employer's request for a wallet presentation (OpenID4VP 1.0), alive a few minutes.

    ``id`` is public (in the request the wallet reads: the response address and ``state``);
    the employer's page is found by a second secret, kept as its sha256 (``page_sha256``). The
    wallet answers once (``answered_at``); ``result`` holds the verdicts and what the holder
    disclosed until the row expires and is deleted (nothing else of the presentation is kept).
    """

    __tablename__ = "wallet_presentation_requests"

    page_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    claims: Mapped[list[str]] = mapped_column(JSON())
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    answered_at: Mapped[dt.datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON())
