"""Key management: the service root CA, the audit key (it signs the history's chain heads and
checkpoints) and, per ente titolato, a PDF seal and a credential key.

- Private keys are PKCS#8, encrypted with the service's key passphrase; a wrong passphrase is a
  clear error, never a half-done operation.
- ``kid`` = sha256 of the SubjectPublicKeyInfo: stable, recomputable by anyone.
- Rotation retires the active key (it stays published and keeps verifying what it signed) and
  activates a new one; a retired or compromised key never signs again.
- Seal certificates are issued by the root CA: ECDSA P-256 (twice RSA-2048's signing speed,
  architecture.md), key usage digitalSignature + nonRepudiation; a real qualified seal can be
  imported from PKCS#12 instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit import record_event
from certification.errors import Conflict, DomainError, InvalidInput, NotFound
from certification.models import KeyPurpose, Organisation, SigningKey, UserAccount
from certification.roles import OrganisationKind

ROOT_CA_YEARS: Final = 15
SEAL_YEARS: Final = 3
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


class KeyPassphraseWrong(DomainError):
    """The key passphrase does not open the stored private key."""

    code = "key_passphrase_wrong"


class KeyNotUsable(Conflict):
    """The key is retired or compromised: it verifies, it never signs again."""

    code = "key_not_usable"


class NoActiveKey(NotFound):
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


def _encrypt(private_key: PrivateKey, passphrase: bytes) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    ).decode()


def _public_pem(private_key: PrivateKey) -> str:
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


def _name(common_name: str, organisation: str, tax_code: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
    ]
    if tax_code:
        # eIDAS seals name the legal person by a national identifier (ETSI EN 319 412-1).
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"VATIT-{tax_code}"[:64])
        )
    return x509.Name(attributes)


def _store(
    session: Session,
    private_key: PrivateKey,
    purpose: KeyPurpose,
    organisation: Organisation | None,
    certificate: x509.Certificate | None,
    passphrase: bytes,
    now: dt.datetime,
    source: str = "generated",
) -> SigningKey:
    algorithm = (
        "Ed25519"
        if isinstance(private_key, ed25519.Ed25519PrivateKey)
        else "ECDSA-P256"
        if isinstance(private_key, ec.EllipticCurvePrivateKey)
        else f"RSA-{private_key.key_size}"
    )
    key = SigningKey(
        kid=key_id(private_key.public_key()),
        organisation_id=organisation.id if organisation else None,
        purpose=purpose,
        algorithm=algorithm,
        public_key_pem=_public_pem(private_key),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode()
        if certificate
        else None,
        private_key_pem=_encrypt(private_key, passphrase),
        source=source,
        created_at=now,
        activated_at=now,
    )
    session.add(key)
    session.flush()
    return key


def _root_ca(session: Session, passphrase: bytes, now: dt.datetime) -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Attesta Root CA", "Attesta")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * ROOT_CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
        .sign(private_key, hashes.SHA256())
    )
    return _store(session, private_key, KeyPurpose.ROOT_CA, None, certificate, passphrase, now)


def _seal(
    session: Session,
    organisation: Organisation,
    root: SigningKey,
    passphrase: bytes,
    now: dt.datetime,
) -> SigningKey:
    root_private = load_private_key(root, passphrase)
    root_certificate = x509.load_pem_x509_certificate((root.certificate_pem or "").encode())
    private_key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(
            _name(organisation.legal_name, organisation.legal_name, organisation.tax_code)
        )
        .issuer_name(root_certificate.subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * SEAL_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_private.public_key()),
            critical=False,
        )
        .sign(root_private, hashes.SHA256())
    )
    return _store(
        session, private_key, KeyPurpose.PDF_SEAL, organisation, certificate, passphrase, now
    )


def _credential(
    session: Session, organisation: Organisation, passphrase: bytes, now: dt.datetime
) -> SigningKey:
    return _store(
        session,
        ed25519.Ed25519PrivateKey.generate(),
        KeyPurpose.CREDENTIAL,
        organisation,
        None,
        passphrase,
        now,
    )


def init_keys(
    session: Session, actor: UserAccount | None, passphrase: bytes, now: dt.datetime
) -> list[SigningKey]:
    """Create what is missing: the root CA, the audit key, and per ente titolato a seal and a
    credential key.

    Idempotent; returns the keys created.
    """
    check_passphrase(session, passphrase)
    created = []
    try:
        root = active_key(session, None, KeyPurpose.ROOT_CA)
    except NoActiveKey:
        root = _root_ca(session, passphrase, now)
        created.append(root)
    try:
        active_key(session, None, KeyPurpose.AUDIT)
    except NoActiveKey:
        # One key for one purpose: the audit history's heads and checkpoints (chains.py).
        audit = ed25519.Ed25519PrivateKey.generate()
        created.append(_store(session, audit, KeyPurpose.AUDIT, None, None, passphrase, now))
    entes = session.scalars(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.ENTE_TITOLATO)
        .order_by(Organisation.short_name)
    )
    for organisation in entes:
        for purpose in (KeyPurpose.PDF_SEAL, KeyPurpose.CREDENTIAL):
            try:
                active_key(session, organisation.id, purpose)
            except NoActiveKey:
                make = _seal if purpose == KeyPurpose.PDF_SEAL else None
                key = (
                    make(session, organisation, root, passphrase, now)
                    if make
                    else _credential(session, organisation, passphrase, now)
                )
                created.append(key)
    for key in created:
        record_event(
            session,
            actor,
            "key.created",
            "signing_key",
            key.kid,
            now,
            organisation_id=key.organisation_id,
            purpose=key.purpose.value,
        )
    return created


def rotate_key(
    session: Session,
    actor: UserAccount | None,
    organisation: Organisation,
    purpose: KeyPurpose,
    passphrase: bytes,
    now: dt.datetime,
) -> SigningKey:
    """Retire the active key (it keeps verifying what it signed) and activate a new one."""
    if purpose == KeyPurpose.ROOT_CA:
        raise InvalidInput(
            "the root CA is not rotated this way", errors={"purpose": ["invalid_choice"]}
        )
    check_passphrase(session, passphrase)
    old = active_key(session, organisation.id, purpose)
    new = (
        _seal(session, organisation, active_key(session, None, KeyPurpose.ROOT_CA), passphrase, now)
        if purpose == KeyPurpose.PDF_SEAL
        else _credential(session, organisation, passphrase, now)
    )
    old.retired_at = now
    record_event(
        session,
        actor,
        "key.rotated",
        "signing_key",
        new.kid,
        now,
        organisation_id=organisation.id,
        retired=old.kid,
    )
    session.flush()
    return new


def mark_compromised(
    session: Session, actor: UserAccount | None, kid: str, at: dt.datetime, now: dt.datetime
) -> SigningKey:
    """From ``at`` on, nothing signed with the key verifies; it never signs again."""
    key = session.get(SigningKey, kid)
    if key is None:
        raise NotFound("no such key")
    key.compromised_at = at
    key.retired_at = key.retired_at or at
    record_event(
        session,
        actor,
        "key.compromised",
        "signing_key",
        kid,
        now,
        organisation_id=key.organisation_id,
        at=at.isoformat(),
    )
    session.flush()
    return key


def import_p12(
    session: Session,
    actor: UserAccount | None,
    organisation: Organisation,
    data: bytes,
    password: bytes | None,
    passphrase: bytes,
    now: dt.datetime,
) -> SigningKey:
    """Import a real (qualified) seal from PKCS#12; it replaces the active generated seal."""
    check_passphrase(session, passphrase)
    try:
        private_key, certificate, _chain = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError):
        raise InvalidInput(
            "cannot open the PKCS#12 file", errors={"file": ["p12_unreadable"]}
        ) from None
    if certificate is None or not isinstance(
        private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise InvalidInput("no usable key and certificate", errors={"file": ["p12_unusable"]})
    if key_id(certificate.public_key()) != key_id(private_key.public_key()):  # type: ignore[arg-type]
        raise InvalidInput("certificate and key differ", errors={"file": ["p12_unusable"]})
    if session.get(SigningKey, key_id(private_key.public_key())) is not None:
        raise Conflict("this key is already imported")
    try:
        old: SigningKey | None = active_key(session, organisation.id, KeyPurpose.PDF_SEAL)
    except NoActiveKey:
        old = None
    key = _store(
        session,
        private_key,
        KeyPurpose.PDF_SEAL,
        organisation,
        certificate,
        passphrase,
        now,
        source="imported",
    )
    if old is not None:
        old.retired_at = now
    record_event(
        session, actor, "key.imported", "signing_key", key.kid, now, organisation_id=organisation.id
    )
    session.flush()
    return key


def all_keys(session: Session) -> Sequence[SigningKey]:
    """Every key ever made, for listing and publication (public parts only are published)."""
    return session.scalars(
        select(SigningKey).order_by(
            SigningKey.organisation_id, SigningKey.purpose, SigningKey.activated_at
        )
    ).all()


# --- public representations -------------------------------------------------------------------

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
