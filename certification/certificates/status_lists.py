"""The Bitstring Status Lists of an ente: where a certificate's revocation and suspension show.

Each ente has one list per purpose (revocation, suspension), of
:data:`~certification.certificates.credentials.STATUS_LIST_BITS` bits; a certificate takes a
random free index at reservation (:func:`allocate_index`), a status change sets or clears its
bit (:func:`set_status_bit`), and the list is published again as a signed
BitstringStatusListCredential (:func:`publish_status_list`) before the change commits, so
readers never sign on the fly. The verification pages and the wallet's Token Status List read
the same rows.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.certificates import credentials
from certification.certificates.production import issuer_url, status_list_url, verification_method
from certification.errors import Conflict
from certification.keys.material import active_key, load_private_key
from certification.models import Certificate, KeyPurpose, StatusList, StatusPurpose

#: session.info key: the status lists this session has found, by (ente, purpose).
_KNOWN_LISTS = "attesta.status_lists"


def status_list(
    session: Session, organisation_id: uuid.UUID, purpose: StatusPurpose, *, create: bool = True
) -> StatusList:
    """The ente's status list for ``purpose``; created empty on first use, or (``create``
    False, for readers) an unsaved empty one. Found once per session: a bulk batch reserves
    and completes many certificates of the same ente in one."""
    known: dict[tuple[uuid.UUID, StatusPurpose], StatusList] = session.info.setdefault(
        _KNOWN_LISTS, {}
    )
    cached = known.get((organisation_id, purpose))
    if cached is not None and cached in session:
        return cached
    found = session.scalar(
        select(StatusList).where(
            StatusList.organisation_id == organisation_id, StatusList.purpose == purpose
        )
    )
    if found is None:
        found = StatusList(
            organisation_id=organisation_id,
            purpose=purpose,
            size_bits=credentials.STATUS_LIST_BITS,
            bitstring=bytes(credentials.STATUS_LIST_BITS // 8),
            credential=None,
            updated_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        )
        if create:
            session.add(found)
            session.flush()
    if found in session:
        known[(organisation_id, purpose)] = found
    return found


def allocate_index(session: Session, organisation_id: uuid.UUID) -> int:
    """A random free index of the ente's lists (herd privacy: no issuance order leaks).

    Probes instead of loading every used index; the unique constraint settles races. Failing
    64 probes in a row means the list is nearly full: a new list generation is then needed.
    """
    for _ in range(64):
        index = secrets.randbelow(credentials.STATUS_LIST_BITS)
        taken = session.scalar(
            select(Certificate.id).where(
                Certificate.organisation_id == organisation_id, Certificate.status_index == index
            )
        )
        if taken is None:
            return index
    raise Conflict("the status list is full")


def set_status_bit(
    session: Session,
    certificate: Certificate,
    purpose: StatusPurpose,
    value: bool,
    now: dt.datetime,
) -> StatusList:
    """Set (or clear) the certificate's bit in the ente's list for ``purpose``; the list's
    signed credential is dropped, for the caller to publish again before the commit."""
    listed = status_list(session, certificate.organisation_id, purpose)
    bits = bytearray(listed.bitstring)
    credentials.set_bit(bits, certificate.status_index, value)
    listed.bitstring = bytes(bits)
    listed.credential = None  # re-signed by the caller (app/issuance) before the commit
    listed.updated_at = now
    session.flush()
    return listed


def publish_status_list(
    session: Session, listed: StatusList, passphrase: bytes, base_url: str, now: dt.datetime
) -> dict[str, Any]:
    """Sign the list as a BitstringStatusListCredential with the ente's credential key and keep
    it as published (called on every change, before the commit)."""
    signed = signed_status_list(session, listed, passphrase, base_url, now)
    listed.credential = signed
    session.flush()
    return signed


def signed_status_list(
    session: Session, listed: StatusList, passphrase: bytes, base_url: str, now: dt.datetime
) -> dict[str, Any]:
    """The list as a freshly signed credential (not stored)."""
    key = active_key(session, listed.organisation_id, KeyPurpose.CREDENTIAL)
    private = load_private_key(key, passphrase)
    if not isinstance(private, Ed25519PrivateKey):  # pragma: no cover - init makes Ed25519
        raise Conflict("the credential key is not Ed25519")
    organisation = str(listed.organisation_id)
    url = status_list_url(base_url, organisation, listed.purpose.value)
    unsigned = credentials.status_list_credential(
        url, issuer_url(base_url, organisation), listed.purpose.value, listed.bitstring, now
    )
    return credentials.sign_credential(
        unsigned, private, verification_method(base_url, organisation, key.kid), now
    )
