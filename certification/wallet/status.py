"""The IETF Token Status List (draft-ietf-oauth-status-list) of an ente's wallet credentials,
read from the same state as its W3C Bitstring Status Lists.

Each SD-JWT VC carries ``status.status_list`` = {``idx``: the certificate's ``status_index``,
``uri``: where the ente's list is}. The Status List Token is not a second state to keep in
step: it is made, when asked for, from the ente's two Bitstring Status Lists (the revocation and
the suspension bit of each index, which ``lifecycle.change_certificate_status`` flips), so
revoking, suspending or reinstating a certificate changes both publications at once.
Two bits per entry: 0 VALID, 1 INVALID (revoked), 2 SUSPENDED; the list is DEFLATE (zlib)
compressed and signed as a ``statuslist+jwt`` by the ente's wallet key, with ``x5c`` to the root.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
import zlib
from typing import Final

from jwcrypto import jwk, jws
from sqlalchemy.orm import Session

from certification.certificates import credentials
from certification.certificates.status_lists import status_list
from certification.keys.material import active_key, load_private_key
from certification.models import KeyPurpose, StatusPurpose
from certification.wallet.credential import SIGNING_ALGORITHM, status_list_uri, x5c

VALID: Final = 0x00
INVALID: Final = 0x01
SUSPENDED: Final = 0x02
BITS: Final = 2
#: How long a verifier may keep the token before fetching it again (seconds).
TTL: Final = 60
#: The token's lifetime: a verifier never relies on a list older than this.
LIFETIME: Final = dt.timedelta(days=1)
STATUS_LIST_TYPE: Final = "statuslist+jwt"


def _set(entries: bytearray, index: int, value: int) -> None:
    """Two bits per index, index 0 in the least significant bits of byte 0 (the draft's
    order)."""
    byte, shift = divmod(index * BITS, 8)
    entries[byte] = (entries[byte] & ~(0b11 << shift)) | (value << shift)


def _set_indices(bitstring: bytes) -> list[int]:
    """The indices whose bit is set in a W3C bitstring (only its non-zero bytes are read)."""
    return [
        offset * 8 + bit
        for offset, byte in enumerate(bitstring)
        if byte
        for bit in range(8)
        if credentials.get_bit(bitstring, offset * 8 + bit)
    ]


def status_entries(session: Session, organisation_id: uuid.UUID) -> bytes:
    """Every index's two-bit status, from the ente's revocation and suspension bitstrings."""
    size = credentials.STATUS_LIST_BITS
    entries = bytearray(size * BITS // 8)
    revoked = status_list(session, organisation_id, StatusPurpose.REVOCATION, create=False)
    suspended = status_list(session, organisation_id, StatusPurpose.SUSPENSION, create=False)
    for index in _set_indices(suspended.bitstring):
        _set(entries, index, SUSPENDED)
    for index in _set_indices(revoked.bitstring):  # revoked wins over suspended
        _set(entries, index, INVALID)
    return bytes(entries)


def status_list_token(
    session: Session, organisation_id: uuid.UUID, issuer: str, passphrase: bytes, now: dt.datetime
) -> str:
    """The ente's Status List Token, signed now (:class:`~certification.keys.material.NoActiveKey`
    when the ente has never issued to a wallet: there is nothing to tell)."""
    key = active_key(session, organisation_id, KeyPurpose.WALLET_CREDENTIAL)
    root = active_key(session, None, KeyPurpose.ROOT_CA)
    compressed = zlib.compress(status_entries(session, organisation_id), 9)
    payload = {
        "sub": status_list_uri(issuer, organisation_id),
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + LIFETIME).timestamp()),
        "ttl": TTL,
        "status_list": {
            "bits": BITS,
            "lst": base64.urlsafe_b64encode(compressed).rstrip(b"=").decode(),
        },
    }
    token = jws.JWS(json.dumps(payload, separators=(",", ":")))
    token.add_signature(
        jwk.JWK.from_pyca(load_private_key(key, passphrase)),
        alg=SIGNING_ALGORITHM,
        protected=json.dumps(
            {
                "alg": SIGNING_ALGORITHM,
                "typ": STATUS_LIST_TYPE,
                "kid": key.kid,
                "x5c": x5c(key, root),
            }
        ),
    )
    return str(token.serialize(compact=True))
