"""Second factors of an account: a TOTP authenticator app, passkeys (WebAuthn) and recovery
codes (security.md §3.1)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey
from certification.models.accounts import UserAccount


class TotpCredential(UUIDPrimaryKey, ModelBase):
    """An authenticator app (RFC 6238, 6 digits, 30 s). At most one per account.

    The shared secret is kept encrypted (AES-GCM under a key derived from the instance secret):
    a copy of the database alone does not give the codes. ``confirmed_at`` is None while the
    person is still enrolling (the secret has been shown, no code typed yet).
    """

    __tablename__ = "totp_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]
    confirmed_at: Mapped[dt.datetime | None]
    #: The last 30-second time step whose code was accepted: a code of that step or an earlier
    #: one is refused (no replay inside its window).
    last_used_step: Mapped[int | None]

    user: Mapped[UserAccount] = relationship()


class RecoveryCode(UUIDPrimaryKey, ModelBase):
    """A single-use recovery code, stored as an argon2id hash like a password."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class SecondFactorThrottle(ModelBase):
    """Failed second-factor attempts of an account, for the back-off (per account, not per IP:
    an attacker who has the password may use many addresses)."""

    __tablename__ = "second_factor_throttles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[dt.datetime | None]


class PasskeyCredential(UUIDPrimaryKey, ModelBase):
    """A passkey (a WebAuthn public-key credential) registered by an account, as a second factor.

    Only public data is kept: the credential id the authenticator gives back, its COSE public
    key, and the signature counter, which must grow at every use when the authenticator keeps
    one (a counter that goes back reveals a cloned authenticator: the login is refused).
    """

    __tablename__ = "passkey_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(80))
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]


class PasskeyChallenge(UUIDPrimaryKey, ModelBase):
    """The challenge of one WebAuthn ceremony, kept on the server: used once, then deleted, and
    refused after ``expires_at``. The cookie session only names the row."""

    __tablename__ = "passkey_challenges"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime]
