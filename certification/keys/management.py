"""Key management: the service root CA, the audit key (it signs the history's chain heads and
checkpoints) and, per ente titolato, a PDF seal and a credential key. Every change is audited.

- Rotation retires the active key (it stays published and keeps verifying what it signed) and
  activates a new one.
- Seal certificates are issued by the root CA: ECDSA P-256 (twice RSA-2048's signing speed,
  architecture.md), key usage digitalSignature + nonRepudiation; a real qualified seal can be
  imported from PKCS#12 instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import Conflict, InvalidInput, NotFound
from certification.keys.material import (
    NoActiveKey,
    PrivateKey,
    active_key,
    check_passphrase,
    encrypt_private_key,
    key_id,
    load_private_key,
    public_pem,
)
from certification.models import KeyPurpose, Organisation, SigningKey, UserAccount
from certification.people.roles import OrganisationKind

ROOT_CA_YEARS: Final = 15


SEAL_YEARS: Final = 3
#: Attesta's own time-stamping authority (the demo's): its certificate lives longer than the
#: seals it stamps, and ``keys init`` replaces it when it has less than a year left, so that
#: ``certificates refresh-timestamps`` always has a TSA that outlives the stamps it renews.
TIMESTAMP_YEARS: Final = 6
TIMESTAMP_RENEW_BEFORE: Final = dt.timedelta(days=365)
TIMESTAMP_NAME: Final = "Attesta DEMO timestamping authority"
TIMESTAMP_RSA_BITS: Final = 3072
#: Where the root CA's CRL is published (app/pki); seal certificates name it (CRL distribution
#: point) when ``init_keys`` or ``rotate_key`` is given the service's base URL.
CRL_PATH: Final = "/pki/root.crl"


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
        public_key_pem=public_pem(private_key),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode()
        if certificate
        else None,
        private_key_pem=encrypt_private_key(private_key, passphrase),
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


def _crl_points(crl_url: str | None) -> x509.CRLDistributionPoints | None:
    if not crl_url:
        return None
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _seal(
    session: Session,
    organisation: Organisation,
    root: SigningKey,
    passphrase: bytes,
    now: dt.datetime,
    purpose: KeyPurpose = KeyPurpose.PDF_SEAL,
    crl_url: str | None = None,
) -> SigningKey:
    """An ente's ECDSA P-256 key with a certificate from the root CA: its PDF seal, or (with
    ``purpose`` WALLET_CREDENTIAL) the key of its wallet credentials, which signs but makes no
    commitment of its own (no nonRepudiation)."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    certificate = _leaf_certificate(
        root,
        passphrase,
        _name(organisation.legal_name, organisation.legal_name, organisation.tax_code),
        private_key.public_key(),
        now,
        SEAL_YEARS,
        commitment=purpose == KeyPurpose.PDF_SEAL,
        crl_url=crl_url,
    )
    return _store(session, private_key, purpose, organisation, certificate, passphrase, now)


def _timestamping(
    session: Session,
    root: SigningKey,
    passphrase: bytes,
    now: dt.datetime,
    crl_url: str | None = None,
) -> SigningKey:
    """Attesta's own time-stamping authority, under the root CA: extended key usage
    timeStamping only, critical (RFC 3161 §2.3), and named as the demo's (RSA: pyHanko's
    in-process TSA signs with RSA only)."""
    # RSA: pyHanko's in-process TSA signs tokens with RSA only; 3072 bits for stamps meant to
    # be checked for decades (renewed by document time-stamps all the same).
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=TIMESTAMP_RSA_BITS)
    certificate = _leaf_certificate(
        root,
        passphrase,
        _name(TIMESTAMP_NAME, "Attesta"),
        private_key.public_key(),
        now,
        TIMESTAMP_YEARS,
        commitment=True,
        crl_url=crl_url,
        usage=x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
    )
    return _store(session, private_key, KeyPurpose.TIMESTAMP, None, certificate, passphrase, now)


def _leaf_certificate(
    root: SigningKey,
    passphrase: bytes,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    now: dt.datetime,
    years: int,
    *,
    commitment: bool,
    crl_url: str | None,
    usage: x509.ExtendedKeyUsage | None = None,
    names: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    """An end-entity certificate signed by the root CA: signing only (nonRepudiation when
    ``commitment``), the extended ``usage`` if any (critical), its alternative ``names`` if
    any, and the CRL's address."""
    root_private = load_private_key(root, passphrase)
    root_certificate = x509.load_pem_x509_certificate((root.certificate_pem or "").encode())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=commitment,
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
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
    ).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(root_private.public_key()),
        critical=False,
    )
    points = _crl_points(crl_url)
    if points is not None:
        builder = builder.add_extension(points, critical=False)
    return builder.sign(root_private, hashes.SHA256())


def certificate_ends(key: SigningKey) -> dt.datetime | None:
    """When the key's certificate stops being valid (None for a key without one)."""
    if not key.certificate_pem:
        return None
    return x509.load_pem_x509_certificate(key.certificate_pem.encode()).not_valid_after_utc


def _ensure_timestamping(
    session: Session, root: SigningKey, passphrase: bytes, now: dt.datetime, crl_url: str | None
) -> SigningKey | None:
    """A new TSA key when there is none or the active one has less than
    :data:`TIMESTAMP_RENEW_BEFORE` left (the old one is retired: it keeps verifying)."""
    try:
        current: SigningKey | None = active_key(session, None, KeyPurpose.TIMESTAMP)
    except NoActiveKey:
        current = None
    if current is not None:
        ends = certificate_ends(current)
        if ends is None or ends - now > TIMESTAMP_RENEW_BEFORE:
            return None
        current.retired_at = now
    return _timestamping(session, root, passphrase, now, crl_url)


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
    session: Session,
    actor: UserAccount | None,
    passphrase: bytes,
    now: dt.datetime,
    *,
    crl_url: str | None = None,
) -> list[SigningKey]:
    """Create what is missing: the root CA, the audit key, Attesta's time-stamping authority
    (renewed when it has less than a year left), and per ente titolato a seal and a credential
    key. ``crl_url``: where the root CA's CRL is published, named in new seal certificates.

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
    stamping = _ensure_timestamping(session, root, passphrase, now, crl_url)
    if stamping is not None:
        created.append(stamping)
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
                key = (
                    _seal(session, organisation, root, passphrase, now, crl_url=crl_url)
                    if purpose == KeyPurpose.PDF_SEAL
                    else _credential(session, organisation, passphrase, now)
                )
                created.append(key)
    for key in created:
        _audit_created(session, actor, key, now)
    return created


def _audit_created(
    session: Session, actor: UserAccount | None, key: SigningKey, now: dt.datetime
) -> None:
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


def _lock_root(session: Session) -> SigningKey:
    """The active root CA key, its row locked until the transaction ends. Keys made on first
    use by a request (:func:`wallet_key`, :func:`verifier_key`) are made under this lock and
    looked for again once it is held, so that two requests at once (two web processes) make
    one key and both use it, never two active keys for one purpose.

    The root's row because every such key is certified by it: one row every creator already
    needs, without a table or migration of its own. The no-op UPDATE takes the lock on both
    databases: PostgreSQL's row lock (a concurrent UPDATE waits for the commit, then the
    re-read sees the other's key) and SQLite's write lock, where ``FOR UPDATE`` means nothing
    (a reader's deferred transaction that another wrote under fails as busy and the request
    runs again, app/db.py). The re-read filters on the database's columns, so it finds the
    key another transaction committed meanwhile, whatever this session read before.
    """
    root = active_key(session, None, KeyPurpose.ROOT_CA)
    session.execute(
        update(SigningKey)
        .where(SigningKey.kid == root.kid)
        .values(source=SigningKey.source)
        .execution_options(synchronize_session=False)
    )
    locked = session.scalar(
        select(SigningKey)
        .where(SigningKey.kid == root.kid)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:  # pragma: no cover - the row was just updated in this transaction
        raise NoActiveKey("no active root_ca key", purpose=KeyPurpose.ROOT_CA.value)
    return locked


def wallet_key(
    session: Session, organisation: Organisation, passphrase: bytes, now: dt.datetime
) -> SigningKey:
    """The ente's active key for wallet credentials, made (and audited) on first use, so that
    no operator step is needed before the first certificate goes to a wallet."""
    try:
        return active_key(session, organisation.id, KeyPurpose.WALLET_CREDENTIAL)
    except NoActiveKey:
        pass
    check_passphrase(session, passphrase)
    root = _lock_root(session)
    try:  # made by another transaction while this one waited for the lock
        return active_key(session, organisation.id, KeyPurpose.WALLET_CREDENTIAL)
    except NoActiveKey:
        pass
    key = _seal(session, organisation, root, passphrase, now, KeyPurpose.WALLET_CREDENTIAL)
    _audit_created(session, None, key, now)
    return key


def dns_names(key: SigningKey) -> list[str]:
    """The DNS names of the key's certificate (none without one or without the extension)."""
    if not key.certificate_pem:
        return []
    certificate = x509.load_pem_x509_certificate(key.certificate_pem.encode())
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(names.value.get_values_for_type(x509.DNSName))


def verifier_key(session: Session, host: str, passphrase: bytes, now: dt.datetime) -> SigningKey:
    """Attesta's key for its OpenID4VP request objects, whose certificate names ``host`` (the
    service's) as DNS name: made (and audited) on first use, and anew, the old one retired,
    when the service's host is no longer the one it names."""
    try:
        current: SigningKey | None = active_key(session, None, KeyPurpose.WALLET_VERIFIER)
    except NoActiveKey:
        current = None
    if current is not None and host in dns_names(current):
        return current
    check_passphrase(session, passphrase)
    root = _lock_root(session)
    try:  # made (or replaced) by another transaction while this one waited for the lock
        current = active_key(session, None, KeyPurpose.WALLET_VERIFIER)
    except NoActiveKey:
        current = None
    if current is not None and host in dns_names(current):
        return current
    private_key = ec.generate_private_key(ec.SECP256R1())
    certificate = _leaf_certificate(
        root,
        passphrase,
        _name(f"Attesta verifier {host}", "Attesta"),
        private_key.public_key(),
        now,
        SEAL_YEARS,
        commitment=False,
        crl_url=None,
        names=x509.SubjectAlternativeName([x509.DNSName(host)]),
    )
    if current is not None:
        current.retired_at = now
    key = _store(
        session, private_key, KeyPurpose.WALLET_VERIFIER, None, certificate, passphrase, now
    )
    record_event(
        session, None, "key.created", "signing_key", key.kid, now, purpose=key.purpose.value
    )
    return key


def rotate_key(
    session: Session,
    actor: UserAccount | None,
    organisation: Organisation,
    purpose: KeyPurpose,
    passphrase: bytes,
    now: dt.datetime,
    *,
    crl_url: str | None = None,
) -> SigningKey:
    """Retire the active key (it keeps verifying what it signed) and activate a new one."""
    if purpose == KeyPurpose.ROOT_CA:
        raise InvalidInput(
            "the root CA is not rotated this way", errors={"purpose": ["invalid_choice"]}
        )
    check_passphrase(session, passphrase)
    old = active_key(session, organisation.id, purpose)
    new = (
        _seal(
            session,
            organisation,
            active_key(session, None, KeyPurpose.ROOT_CA),
            passphrase,
            now,
            purpose,
            crl_url,
        )
        if purpose in {KeyPurpose.PDF_SEAL, KeyPurpose.WALLET_CREDENTIAL}
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
