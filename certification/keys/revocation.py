"""The root CA's certificate revocation list (RFC 5280), made from the key table.

Every certificate the root CA issued for a key reported compromised (a seal, the time-stamping
authority) is listed, revoked as of the reported moment (reason keyCompromise); retired keys
are not: what they signed while active stays valid. Attesta publishes the list at a stable
address (``/pki/root.crl``) and embeds it in every seal's DSS (PAdES B-LT), so a validator
decades from now has it.

Making the list signs with the root key: the bytes are kept per process until the list's next
update or until the key table's revocations change (:func:`crl_der`), so issuance pays for it
once a day, not once a certificate.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.keys.material import KeyLike, KeyMaterial, active_key, load_private_key
from certification.models import KeyPurpose, SigningKey

#: How long a list is current (its nextUpdate); validators fetch the next one after.
CRL_LIFETIME: Final = dt.timedelta(days=1)


@dataclass(frozen=True)
class Revoked:
    """One revoked certificate: its serial number and the reported moment of compromise."""

    serial: int
    at: dt.datetime


def revoked_certificates(session: Session, root: KeyLike) -> tuple[Revoked, ...]:
    """The certificates issued by ``root`` whose keys were reported compromised, oldest first."""
    issuer = x509.load_pem_x509_certificate((root.certificate_pem or "").encode()).subject
    keys = session.scalars(
        select(SigningKey)
        .where(SigningKey.compromised_at.is_not(None), SigningKey.certificate_pem.is_not(None))
        .order_by(SigningKey.compromised_at, SigningKey.kid)
    )
    found = []
    for key in keys:
        certificate = x509.load_pem_x509_certificate((key.certificate_pem or "").encode())
        if certificate.issuer == issuer and key.compromised_at is not None:
            found.append(Revoked(certificate.serial_number, key.compromised_at))
    return tuple(found)


_cache: dict[tuple[str, tuple[Revoked, ...]], tuple[dt.datetime, dt.datetime, bytes]] = {}
_lock = threading.Lock()


def crl_der(
    root: KeyLike, revoked: tuple[Revoked, ...], passphrase: bytes, now: dt.datetime
) -> bytes:
    """The root CA's CRL (DER) listing ``revoked``, current at ``now``: the one made earlier in
    this process while it is current and lists the same revocations, else a new one (thisUpdate
    ``now``, nextUpdate ``now`` + :data:`CRL_LIFETIME`)."""
    key = (root.kid, revoked)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] <= now < cached[1]:
        return cached[2]
    root_certificate = x509.load_pem_x509_certificate((root.certificate_pem or "").encode())
    this_update = now - dt.timedelta(minutes=5)  # clocks of validators differ a little
    next_update = now + CRL_LIFETIME
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root_certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
    )
    for item in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(item.serial)
            .revocation_date(item.at)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    private_key = load_private_key(root, passphrase)
    data = builder.sign(private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    with _lock:
        _cache.clear()  # one list per process is enough: the older ones are superseded
        _cache[key] = (this_update, next_update, data)
    return data


def root_crl(session: Session, passphrase: bytes, now: dt.datetime) -> bytes:
    """The active root CA's current CRL (DER), as published at ``/pki/root.crl``."""
    root = KeyMaterial.of(active_key(session, None, KeyPurpose.ROOT_CA))
    return crl_der(root, revoked_certificates(session, root), passphrase, now)
