"""The signed payload in a talent card's QR code, checkable offline (issue 7).

The QR encodes ``<base URL>/card/verify/<payload>``: a partner's phone can open the online check,
or check the last path segment offline against the ente's published Ed25519 key
(``/card/keys.json``). ``<payload>`` is base64url (no padding) of, version 1, big-endian::

    offset size  field
    0      1     version = 0x01
    1      4     key id: the first 4 bytes of the signing key's kid (sha256 of its SPKI)
    5      10    card token (random; renewal rotates it)
    15     2     valid from: days since 2020-01-01
    17     2     valid until: days since 2020-01-01 (inclusive)
    19     1     n = length of the holder's initials in UTF-8 (0-8)
    20     n     holder initials, e.g. "GR"
    20+n   64    Ed25519 signature of SIGNING_CONTEXT + bytes 0 .. 20+n

The signing context keeps these signatures apart from every other use of the credential key.
Nothing here touches the database: it is the whole offline verifier.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION: Final = 1
SIGNING_CONTEXT: Final = b"attesta/talent-card/v1\x00"
EPOCH: Final = dt.date(2020, 1, 1)
TOKEN_BYTES: Final = 10
KID_PREFIX_BYTES: Final = 4
MAX_INITIALS_BYTES: Final = 8
_HEADER: Final = struct.Struct(">B4s10sHHB")
_SIGNATURE_BYTES: Final = 64
#: The longest payload text we accept (header, 8 bytes of initials, signature in base64url).
MAX_TEXT: Final = 4 * (_HEADER.size + MAX_INITIALS_BYTES + _SIGNATURE_BYTES + 2) // 3


class PayloadUnreadable(ValueError):
    """Not a talent-card payload of a version we know (``reason``: ``malformed`` or
    ``unknown_version``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CardPayload:
    """What the QR says about a card, once decoded (not yet proven: see :func:`verify`)."""

    kid_prefix: str  # hex, 8 characters
    token: str  # hex, 20 characters
    valid_from: dt.date
    valid_until: dt.date
    initials: str
    signed: bytes
    signature: bytes


def _days(day: dt.date) -> int:
    days = (day - EPOCH).days
    if not 0 <= days <= 0xFFFF:
        raise ValueError(f"date {day} outside the payload's range")
    return days


def initials_of(given_name: str, family_name: str) -> str:
    """The holder's initials as printed in the payload ("GR" for Giulia Rossi)."""
    letters = [part[0].upper() for part in (*given_name.split(), *family_name.split()) if part]
    text = "".join(letters)
    while len(text.encode()) > MAX_INITIALS_BYTES:
        text = text[:-1]
    return text


def encode(
    key: Ed25519PrivateKey,
    kid: str,
    token: str,
    valid_from: dt.date,
    valid_until: dt.date,
    initials: str,
) -> str:
    """The signed payload as base64url text (``initials`` cut to 8 bytes of UTF-8, between
    characters: a cut inside one would make the payload unreadable)."""
    initials_bytes = initials.encode()[:MAX_INITIALS_BYTES].decode(errors="ignore").encode()
    signed = (
        _HEADER.pack(
            VERSION,
            bytes.fromhex(kid)[:KID_PREFIX_BYTES],
            bytes.fromhex(token),
            _days(valid_from),
            _days(valid_until),
            len(initials_bytes),
        )
        + initials_bytes
    )
    signature = key.sign(SIGNING_CONTEXT + signed)
    return base64.urlsafe_b64encode(signed + signature).rstrip(b"=").decode()


def decode(text: str) -> CardPayload:
    """Parse a payload (strictly: exact length, canonical base64url); :class:`PayloadUnreadable`
    if it is not one."""
    if not text or len(text) > MAX_TEXT or not text.isascii():
        raise PayloadUnreadable("malformed")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise PayloadUnreadable("malformed") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise PayloadUnreadable("malformed")  # one payload, one spelling
    if len(raw) < 1:
        raise PayloadUnreadable("malformed")
    if raw[0] != VERSION:
        raise PayloadUnreadable("unknown_version")
    if len(raw) < _HEADER.size + _SIGNATURE_BYTES:
        raise PayloadUnreadable("malformed")
    _, kid_prefix, token, valid_from, valid_until, length = _HEADER.unpack_from(raw)
    end = _HEADER.size + length
    if length > MAX_INITIALS_BYTES or len(raw) != end + _SIGNATURE_BYTES:
        raise PayloadUnreadable("malformed")
    try:
        initials = raw[_HEADER.size : end].decode()
    except UnicodeDecodeError:
        raise PayloadUnreadable("malformed") from None
    return CardPayload(
        kid_prefix=kid_prefix.hex(),
        token=token.hex(),
        valid_from=EPOCH + dt.timedelta(days=valid_from),
        valid_until=EPOCH + dt.timedelta(days=valid_until),
        initials=initials,
        signed=raw[:end],
        signature=raw[end:],
    )


def verify(payload: CardPayload, keys: Mapping[str, Ed25519PublicKey]) -> bool:
    """Whether the payload is signed by the published key its key id names (``keys`` maps
    8-hex-character key-id prefixes to public keys)."""
    public = keys.get(payload.kid_prefix)
    if public is None:
        return False
    try:
        public.verify(payload.signature, SIGNING_CONTEXT + payload.signed)
    except InvalidSignature:
        return False
    return True


def payload_from_url(text: str) -> str:
    """The payload part of a scanned QR text (the last path segment of the check URL)."""
    return text.strip().rstrip("/").rsplit("/", 1)[-1]
