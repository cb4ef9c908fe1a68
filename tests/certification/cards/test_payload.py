"""The QR payload of talent cards: compact, signed, strict to parse, checkable offline."""

from __future__ import annotations

import base64
import datetime as dt
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certification.cards import payload as P

KID = "ab12cd34" + "0" * 56
TOKEN = "00112233445566778899"
START, END = dt.date(2026, 11, 22), dt.date(2027, 11, 21)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _text(key: Ed25519PrivateKey, initials: str = "GR") -> str:
    return P.encode(key, KID, TOKEN, START, END, initials)


def test_round_trip_and_signature(key: Ed25519PrivateKey) -> None:
    text = _text(key)
    payload = P.decode(text)
    assert (payload.kid_prefix, payload.token) == ("ab12cd34", TOKEN)
    assert (payload.valid_from, payload.valid_until, payload.initials) == (START, END, "GR")
    assert P.verify(payload, {"ab12cd34": key.public_key()})
    assert len(text) <= 120  # small enough for a QR code a phone reads off a wallet card


def test_the_layout_is_what_the_documentation_says(key: Ed25519PrivateKey) -> None:
    """An independent reader following only the module docstring gets the same fields."""
    raw = base64.urlsafe_b64decode(_text(key) + "==")
    version, kid, token, start, end, n = struct.unpack(">B4s10sHHB", raw[:20])
    assert (version, kid.hex(), token.hex(), n) == (1, "ab12cd34", TOKEN, 2)
    assert dt.date(2020, 1, 1) + dt.timedelta(days=start) == START
    assert dt.date(2020, 1, 1) + dt.timedelta(days=end) == END
    assert raw[20:22] == b"GR"
    key.public_key().verify(raw[22:], b"attesta/talent-card/v1\x00" + raw[:22])


def test_a_changed_payload_or_another_key_does_not_verify(key: Ed25519PrivateKey) -> None:
    raw = bytearray(base64.urlsafe_b64decode(_text(key) + "=="))
    raw[18] ^= 1  # push the expiry by a few days
    changed = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert not P.verify(P.decode(changed), {"ab12cd34": key.public_key()})
    other = Ed25519PrivateKey.generate()
    forged = P.decode(P.encode(other, KID, TOKEN, START, END, "GR"))
    assert not P.verify(forged, {"ab12cd34": key.public_key()})
    assert not P.verify(P.decode(_text(key)), {})  # an unpublished key id


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "malformed"),
        ("not base64 !", "malformed"),
        ("AAAA", "unknown_version"),
        ("AQ", "malformed"),  # version 1, nothing else
        ("A" * 500, "malformed"),
        ("é" * 10, "malformed"),
    ],
)
def test_what_is_not_a_payload_is_refused(text: str, reason: str) -> None:
    with pytest.raises(P.PayloadUnreadable) as refused:
        P.decode(text)
    assert refused.value.reason == reason


def test_one_payload_has_one_spelling(key: Ed25519PrivateKey) -> None:
    text = _text(key)
    with pytest.raises(P.PayloadUnreadable):
        P.decode(text + "=")  # padding is not part of the format
    raw = base64.urlsafe_b64decode(text + "==")
    with pytest.raises(P.PayloadUnreadable):
        P.decode(base64.urlsafe_b64encode(raw + b"x").rstrip(b"=").decode())  # trailing byte


def test_initials_and_the_scanned_url() -> None:
    assert P.initials_of("Giulia Maria", "De Luca") == "GMDL"
    assert P.initials_of("Ælfrida", "Øster") == "ÆØ"
    assert P.payload_from_url("https://attesta.example/card/verify/AbC_-1/") == "AbC_-1"
