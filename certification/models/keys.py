"""Signing keys: the service root CA, and per ente titolato a PDF seal and a credential key."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase
from certification.models.accounts import Organisation, _enum


class KeyPurpose(enum.StrEnum):
    """What a key signs: certificates of seals (root CA), PDF seals, credentials, the audit
    history (chain heads and checkpoints), or time-stamp tokens (RFC 3161)."""

    ROOT_CA = "root_ca"
    PDF_SEAL = "pdf_seal"
    CREDENTIAL = "credential"
    #: Signs the heads of the audit chains and the daily checkpoints (one key, no organisation).
    AUDIT = "audit"
    #: Signs the SD-JWT VCs that wallets take (OpenID4VCI): ECDSA P-256 under the root CA, one
    #: per ente, made when first needed (certification/wallet/keys.py).
    WALLET_CREDENTIAL = "wallet_credential"
    #: Attesta's own RFC 3161 time-stamping authority under the root CA (the demo's, and
    #: tests'; production may use ``ATTESTA_TIMESTAMP_URL`` instead). One key, no organisation;
    #: stored as a VARCHAR, so the new value needs no migration.
    TIMESTAMP = "timestamp"
    #: Signs Attesta's OpenID4VP request objects (JAR, client_id ``x509_san_dns:<host>``):
    #: ECDSA P-256 under the root CA with the service's host as DNS name; one key, no
    #: organisation, made when first needed (certification/keys/management.py, verifier_key).
    WALLET_VERIFIER = "wallet_verifier"


class SigningKey(ModelBase):
    """A key pair; the private half encrypted at rest, the public half published forever.

    ``kid`` is derived from the public key (sha256 of its SubjectPublicKeyInfo), so it is
    stable and anyone can recompute it.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    purpose: Mapped[KeyPurpose] = mapped_column(_enum(KeyPurpose))
    algorithm: Mapped[str] = mapped_column(String(20))
    public_key_pem: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    #: PKCS#8, encrypted with the service's key passphrase.
    private_key_pem: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    activated_at: Mapped[dt.datetime]
    retired_at: Mapped[dt.datetime | None]
    compromised_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def active(self) -> bool:
        return self.retired_at is None and self.compromised_at is None
