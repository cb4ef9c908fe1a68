"""Salted evidence commitments: what a certificate's credential says about each piece of
evidence, without letting anyone confirm a guess of it (issue 17; domain.md §5.6, §10).

Certificates issued before this format (frozen content without ``evidence_format``, read as
format 1) list each item's plain sha256: a link or a short text can be confirmed by hashing
guesses. From ``evidence_format`` 2 on, each item is a *salted commitment* that also names
the indicators the item supports; the salt is kept by Attesta (table
``certificate_evidence``) and given only to the holder, in their data export
(``commitments.json``). The holder can then reveal one file and its salt, and anyone can
check that the file is evidence for those indicators of that certificate.

Construction, version 1 (``urn:attesta:evidence-commitment:v1:``), all lengths in bytes::

    field(b)   = uint32_be(len(b)) || b
    preimage   = field("attesta-evidence-commitment-v1")        # ASCII, domain separation
              || field(salt)                                   # 32 random bytes
              || field(content_digest)                         # 32 bytes, see below
              || uint32_be(n) || field(i_1) || ... || field(i_n)   # the indicators
    commitment = SHA-256(preimage), written as 64 lowercase hex digits

- ``content_digest`` is SHA-256 of the evidence content: the file's bytes; for a link, the
  URL's UTF-8 bytes; for a text (testimonial, self-declaration), the text's UTF-8 bytes (the
  export carries those bytes as a ``.txt`` file with no trailing newline).
- the indicators are the ``resultDescription`` ids of the credential
  (``urn:attesta:result:<competence or criterion code>``) the item supports, UTF-8, without
  duplicates, sorted by their UTF-8 bytes.

In the Open Badges 3.0 credential, the item is an ``Evidence`` entry (only terms the pinned
OB 3.0 context defines for it) whose ``id`` is ``urn:attesta:evidence-commitment:v1:<hex>``
and whose ``narrative`` lists the indicators, one ``- <id>`` line each, in the order above.
Every length prefix makes the encoding unambiguous: no two different (salt, digest,
indicators) have the same preimage.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Iterable
from typing import Final

#: The content ``evidence_format`` of certificates whose evidence is committed this way.
EVIDENCE_FORMAT: Final = 2
#: Domain separation tag of version 1 of the construction.
DOMAIN_V1: Final = b"attesta-evidence-commitment-v1"
COMMITMENT_PREFIX: Final = "urn:attesta:evidence-commitment:v1:"
RESULT_PREFIX: Final = "urn:attesta:result:"
SALT_BYTES: Final = 32
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def canonical_indicators(indicators: Iterable[str]) -> list[str]:
    """The indicators as committed: without duplicates, sorted by their UTF-8 bytes."""
    return sorted(set(indicators), key=lambda text: text.encode("utf-8"))


def preimage(salt: bytes, content_digest: bytes, indicators: Iterable[str]) -> bytes:
    """The bytes hashed for a commitment (version 1, see the module's documentation)."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"the salt must be {SALT_BYTES} bytes")
    if len(content_digest) != hashlib.sha256().digest_size:
        raise ValueError("the content digest must be a SHA-256")
    ordered = canonical_indicators(indicators)
    return (
        _field(DOMAIN_V1)
        + _field(salt)
        + _field(content_digest)
        + struct.pack(">I", len(ordered))
        + b"".join(_field(item.encode("utf-8")) for item in ordered)
    )


def commitment(salt: bytes, content_digest: bytes, indicators: Iterable[str]) -> str:
    """The commitment (64 lowercase hex digits) to a content digest and its indicators."""
    return hashlib.sha256(preimage(salt, content_digest, indicators)).hexdigest()


def matches(expected: str, salt: bytes, content_digest: bytes, indicators: Iterable[str]) -> bool:
    """Whether ``expected`` is the commitment of this salt, digest and indicators (compared
    in constant time)."""
    computed = commitment(salt, content_digest, indicators)
    return hmac.compare_digest(computed.encode(), expected.encode())


def new_salt() -> bytes:
    """A fresh random salt (256 bits)."""
    return secrets.token_bytes(SALT_BYTES)


def parse_salt(text: str) -> bytes | None:
    """A salt as the holder types or pastes it (64 hex digits, any case, spaces ignored);
    None if it cannot be one."""
    cleaned = "".join(text.split()).lower()
    if not _HEX64.fullmatch(cleaned):
        return None
    return bytes.fromhex(cleaned)


def commitment_id(value: str) -> str:
    """The credential's ``Evidence.id`` of a commitment."""
    return COMMITMENT_PREFIX + value


def commitment_of_id(evidence_id: str) -> str | None:
    """The commitment an ``Evidence.id`` carries; None if it is not one of ours (version 1)."""
    if not evidence_id.startswith(COMMITMENT_PREFIX):
        return None
    value = evidence_id[len(COMMITMENT_PREFIX) :]
    return value if _HEX64.fullmatch(value) else None


def result_id(code: str) -> str:
    """The credential's ``resultDescription`` id of a competence or criterion code."""
    return RESULT_PREFIX + code


def code_of_result(indicator: str) -> str:
    """The competence or criterion code of a ``resultDescription`` id."""
    return indicator.removeprefix(RESULT_PREFIX)


def indicators_narrative(indicators: Iterable[str]) -> str:
    """The ``Evidence.narrative`` that names the indicators: one ``- <id>`` line each."""
    return "\n".join(f"- {item}" for item in canonical_indicators(indicators))
