from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy.orm import Session

from certification.errors import Conflict, InvalidInput
from certification.keys import management, material
from certification.models import KeyPurpose
from certification.people.roles import OrganisationKind
from tests.support.clock import NOW
from tests.support.factories import make_organisation

PASS = b"test passphrase"


@pytest.fixture
def ente(db: Session):  # type: ignore[no-untyped-def]
    return make_organisation(
        db,
        OrganisationKind.ENTE_TITOLATO,
        code="CML",
        legal_name="Consorzio Test",
        tax_code="01234567890",
    )


def test_init_creates_root_audit_seal_and_credential_keys_once(db: Session, ente) -> None:  # type: ignore[no-untyped-def]
    created = management.init_keys(db, None, PASS, NOW)
    purposes = sorted(k.purpose.value for k in created if k.organisation_id in (None, ente.id))
    assert purposes == ["audit", "credential", "pdf_seal", "root_ca", "timestamp"]
    assert next(k for k in created if k.purpose.value == "audit").algorithm == "Ed25519"
    assert all(
        k.private_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for k in created
    )
    assert management.init_keys(db, None, PASS, NOW) == []  # idempotent


def test_the_seal_certificate_chains_to_the_root(db: Session, ente) -> None:  # type: ignore[no-untyped-def]
    management.init_keys(db, None, PASS, NOW)
    root = x509.load_pem_x509_certificate(
        material.active_key(db, None, KeyPurpose.ROOT_CA).certificate_pem.encode()
    )
    seal_key = material.active_key(db, ente.id, KeyPurpose.PDF_SEAL)
    seal = x509.load_pem_x509_certificate(seal_key.certificate_pem.encode())
    public = root.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(seal.signature, seal.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    names = {a.oid: a.value for a in seal.subject}
    assert names[x509.oid.NameOID.ORGANIZATION_IDENTIFIER] == "VATIT-01234567890"
    assert seal_key.kid == material.key_id(seal.public_key())  # type: ignore[arg-type]


def test_wrong_passphrase_changes_nothing(db: Session, ente) -> None:  # type: ignore[no-untyped-def]
    management.init_keys(db, None, PASS, NOW)
    key = material.active_key(db, ente.id, KeyPurpose.CREDENTIAL)
    with pytest.raises(material.KeyPassphraseWrong):
        material.load_private_key(key, b"wrong")
    with pytest.raises(material.KeyPassphraseWrong):
        management.rotate_key(db, None, ente, KeyPurpose.CREDENTIAL, b"wrong", NOW)
    assert material.active_key(db, ente.id, KeyPurpose.CREDENTIAL) is key
    assert isinstance(material.load_private_key(key, PASS), ed25519.Ed25519PrivateKey)


def test_rotation_retires_the_old_key_forever(db: Session, ente) -> None:  # type: ignore[no-untyped-def]
    management.init_keys(db, None, PASS, NOW)
    old = material.active_key(db, ente.id, KeyPurpose.PDF_SEAL)
    later = NOW + dt.timedelta(days=400)
    new = management.rotate_key(db, None, ente, KeyPurpose.PDF_SEAL, PASS, later)
    assert new.kid != old.kid and new.active and old.retired_at == later
    assert material.active_key(db, ente.id, KeyPurpose.PDF_SEAL) is new
    with pytest.raises(material.KeyNotUsable):  # a retired key never signs again
        material.load_private_key(old, PASS)
    assert old.public_key_pem in {
        k.public_key_pem for k in material.all_keys(db)
    }  # still published
    with pytest.raises(InvalidInput):
        management.rotate_key(db, None, ente, KeyPurpose.ROOT_CA, PASS, later)


def test_compromise(db: Session, ente) -> None:  # type: ignore[no-untyped-def]
    management.init_keys(db, None, PASS, NOW)
    key = material.active_key(db, ente.id, KeyPurpose.CREDENTIAL)
    management.mark_compromised(db, None, key.kid, NOW - dt.timedelta(days=3), NOW)
    assert key.compromised_at == NOW - dt.timedelta(days=3) and not key.active
    with pytest.raises(material.NoActiveKey):
        material.active_key(db, ente.id, KeyPurpose.CREDENTIAL)
    assert len(management.init_keys(db, None, PASS, NOW)) == 1  # init makes a replacement


def _p12(password: bytes | None) -> tuple[bytes, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Sigillo qualificato")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=30))
        .sign(private, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    data = pkcs12.serialize_key_and_certificates(b"seal", private, certificate, None, encryption)
    return data, material.key_id(private.public_key())


def test_import_a_qualified_seal(db: Session, ente) -> None:  # type: ignore[no-untyped-def]
    management.init_keys(db, None, PASS, NOW)
    generated = material.active_key(db, ente.id, KeyPurpose.PDF_SEAL)
    data, kid = _p12(b"p12-password")
    with pytest.raises(InvalidInput) as info:
        management.import_p12(db, None, ente, data, b"wrong", PASS, NOW)
    assert info.value.errors == {"file": ["p12_unreadable"]}
    with pytest.raises(InvalidInput):
        management.import_p12(db, None, ente, b"not a p12", None, PASS, NOW)
    key = management.import_p12(db, None, ente, data, b"p12-password", PASS, NOW)
    assert key.kid == kid and key.source == "imported"
    assert (
        generated.retired_at == NOW and material.active_key(db, ente.id, KeyPurpose.PDF_SEAL) is key
    )
    with pytest.raises(Conflict):
        management.import_p12(db, None, ente, data, b"p12-password", PASS, NOW)


def test_multikey_encoding() -> None:
    # W3C Controlled Identifiers, Multikey example: the zero Ed25519 key starts "z6Mk".
    assert material.base58btc(b"\0\0\x01") == "112"
    from certification.models import SigningKey

    raw = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
    pem = (
        raw.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    value = material.multikey(SigningKey(public_key_pem=pem))
    assert value.startswith("z6Mk") and len(value) == 48
