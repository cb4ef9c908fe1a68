"""Key material: reading the stored keys and their public forms.

- Private keys are PKCS#8, encrypted with the service's key passphrase; a wrong passphrase is a
  clear error (:class:`KeyPassphraseWrong`), never a half-done operation.
- ``kid`` = sha256 of the SubjectPublicKeyInfo: stable, recomputable by anyone.
- A retired or compromised key never signs again (:class:`KeyNotUsable`); it keeps verifying.
- Public forms for credentials: Multikey, ``did:web`` verification methods.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.errors import Conflict, InvalidInput, Unavailable
from certification.models import KeyPurpose, SigningKey

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


class KeyPassphraseWrong(Unavailable):
    """The key passphrase does not open the stored private key."""

    code = "key_passphrase_wrong"


class KeyNotUsable(Conflict):
    """The key is retired or compromised: it verifies, it never signs again."""

    code = "key_not_usable"


class NoActiveKey(Unavailable):
    """The organisation has no active key for this purpose (run ``keys init``)."""

    code = "no_active_key"


def key_id(
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey,
) -> str:
    """sha256 (hex) of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def encrypt_private_key(private_key: PrivateKey, passphrase: bytes) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    ).decode()


def public_pem(private_key: PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class KeyLike(Protocol):
    """What signing needs of a key: a stored :class:`SigningKey` or a :class:`KeyMaterial`."""

    @property
    def kid(self) -> str: ...
    @property
    def private_key_pem(self) -> str: ...
    @property
    def certificate_pem(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class KeyMaterial:
    """A key's stored (still encrypted) parts, detached from the database so that worker
    processes can sign with it."""

    kid: str
    private_key_pem: str
    certificate_pem: str | None
    active: bool = True

    @classmethod
    def of(cls, key: SigningKey) -> KeyMaterial:
        return cls(key.kid, key.private_key_pem, key.certificate_pem, key.active)


def load_private_key(key: KeyLike, passphrase: bytes) -> PrivateKey:
    """The private key of an *active* key; :class:`KeyNotUsable` or
    :class:`KeyPassphraseWrong` otherwise."""
    if not key.active:
        raise KeyNotUsable(f"key {key.kid[:12]} is retired or compromised", kid=key.kid)
    try:
        loaded = serialization.load_pem_private_key(key.private_key_pem.encode(), passphrase)
    except (ValueError, TypeError):
        raise KeyPassphraseWrong("the key passphrase is wrong") from None
    if not isinstance(
        loaded, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyPassphraseWrong("unsupported key type")
    return loaded


def check_passphrase(session: Session, passphrase: bytes) -> None:
    """Fail early (before generating anything) if existing keys do not open with it."""
    existing = session.scalar(select(SigningKey).limit(1))
    if existing is not None:
        try:
            serialization.load_pem_private_key(existing.private_key_pem.encode(), passphrase)
        except (ValueError, TypeError):
            raise KeyPassphraseWrong("the key passphrase is wrong") from None


def active_key(session: Session, organisation_id: object | None, purpose: KeyPurpose) -> SigningKey:
    """The active key of an organisation (or the root CA) for a purpose."""
    query = select(SigningKey).where(
        SigningKey.purpose == purpose,
        SigningKey.retired_at.is_(None),
        SigningKey.compromised_at.is_(None),
    )
    query = query.where(
        SigningKey.organisation_id.is_(None)
        if organisation_id is None
        else SigningKey.organisation_id == organisation_id
    )
    key = session.scalar(query.order_by(SigningKey.activated_at.desc()))
    if key is None:
        raise NoActiveKey(f"no active {purpose.value} key", purpose=purpose.value)
    return key


def all_keys(session: Session) -> Sequence[SigningKey]:
    """Every key ever made, for listing and publication (public parts only are published)."""
    return session.scalars(
        select(SigningKey).order_by(
            SigningKey.organisation_id, SigningKey.purpose, SigningKey.activated_at
        )
    ).all()


_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc(data: bytes) -> str:
    """Bitcoin base58 (the alphabet of multibase 'z')."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, remainder = divmod(number, 58)
        out = _B58[remainder] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def ed25519_public_key(key: SigningKey) -> ed25519.Ed25519PublicKey:
    """The public half of an Ed25519 key (:class:`InvalidInput` for another algorithm)."""
    public = serialization.load_pem_public_key(key.public_key_pem.encode())
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise InvalidInput("not an Ed25519 key", errors={"kid": ["invalid_choice"]})
    return public


def raw_public_key(key: SigningKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return ed25519_public_key(key).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def multikey(key: SigningKey) -> str:
    """publicKeyMultibase of an Ed25519 key: 'z' + base58btc(0xed01 + raw key) (W3C Multikey)."""
    return "z" + base58btc(b"\xed\x01" + raw_public_key(key))


def fingerprint(key: SigningKey) -> str:
    """The kid, grouped for people to compare by eye."""
    return ":".join(key.kid[i : i + 4] for i in range(0, 32, 4))


def xsd_datetime(value: dt.datetime) -> str:
    """An XML Schema ``dateTimeStamp`` in UTC, to the second: ``2026-11-02T09:30:00Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def multikey_method(key: SigningKey, controller: str) -> dict[str, Any]:
    """A credential key as a W3C Multikey verification method of ``controller`` (the issuer
    profile), with its lifetime in the two properties the Multikey context defines (both
    ``xsd:dateTime``) and W3C Controlled Identifiers 1.0 gives a meaning: ``expires``, when it
    was retired (it signs nothing after), and ``revoked``, when it was reported compromised
    (nothing made with it from then on is to be trusted). A compromised key stays published:
    what it signed before can still be checked against it."""
    method: dict[str, Any] = {
        "id": f"{controller}#{key.kid}",
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": multikey(key),
    }
    if key.retired_at is not None:
        method["expires"] = xsd_datetime(key.retired_at)
    if key.compromised_at is not None:
        method["revoked"] = xsd_datetime(key.compromised_at)
    return method


def credential_key_relationships(
    keys: Sequence[SigningKey], controller: str
) -> dict[str, list[Any]]:
    """``verificationMethod`` (every credential key ever used, oldest first) and
    ``assertionMethod`` (those not compromised) of an issuer profile.

    A retired key keeps asserting: what it signed while active must keep verifying offline,
    and its ``expires`` tells a verifier that applies it that nothing it signed after is ours.
    A compromised key asserts nothing: verifiers that ignore ``revoked`` (digitalbazaar's
    among them, tools/vc-verify/README.md) would otherwise accept whatever a thief signs with
    it, back-dated or not; its certificates are checked against the register, which knows
    when each was made."""
    methods = [multikey_method(key, controller) for key in keys]
    return {
        "verificationMethod": methods,
        "assertionMethod": [
            method["id"]
            for key, method in zip(keys, methods, strict=True)
            if key.compromised_at is None
        ],
    }
