"""The salted evidence commitment's construction (certification.certificates.commitments): a fixed
vector an outside party can recompute, and an encoding with no ambiguity."""

from __future__ import annotations

import hashlib

import pytest

from certification.certificates import commitments as K

URL = b"https://example.org/programma"
SALT = bytes(range(32))
INDICATORS = ["urn:attesta:result:DEMO-C01", "urn:attesta:result:DEMO-C01-I1"]
#: SHA-256 of field("attesta-evidence-commitment-v1") || field(SALT) || field(sha256(URL))
#: || uint32(2) || field(INDICATORS[0]) || field(INDICATORS[1]), field = uint32 length || bytes.
VECTOR = "7e70107231863ba02f607131251385564e7cf25b8cdb8928922459bdb64e0772"


def test_a_known_salt_and_content_give_the_fixed_vector() -> None:
    digest = hashlib.sha256(URL).digest()
    assert K.commitment(SALT, digest, INDICATORS) == VECTOR
    # The indicators are a set: order and repetition do not matter.
    assert K.commitment(SALT, digest, [*reversed(INDICATORS), INDICATORS[0]]) == VECTOR
    assert K.matches(VECTOR, SALT, digest, INDICATORS)
    assert K.commitment_id(VECTOR) == f"urn:attesta:evidence-commitment:v1:{VECTOR}"
    assert K.commitment_of_id(K.commitment_id(VECTOR)) == VECTOR
    assert K.indicators_narrative(reversed(INDICATORS)) == (
        "- urn:attesta:result:DEMO-C01\n- urn:attesta:result:DEMO-C01-I1"
    )


def test_without_the_salt_a_guess_matches_nothing() -> None:
    digest = hashlib.sha256(URL).digest()
    assert hashlib.sha256(URL).hexdigest() != VECTOR
    for salt in (bytes(32), b"\xff" * 32, bytes(range(1, 33))):
        assert not K.matches(VECTOR, salt, digest, INDICATORS)
    # Same salt and file, other indicators: another commitment.
    assert not K.matches(VECTOR, SALT, digest, INDICATORS[:1])
    assert not K.matches(VECTOR, SALT, hashlib.sha256(URL + b"/").digest(), INDICATORS)
    # Fresh salts never repeat.
    assert len({K.new_salt() for _ in range(50)}) == 50


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (["ab"], ["a", "b"]),  # concatenation cannot fake a split
        (["a", "b"], ["a,b"]),
        ([], [""]),
    ],
)
def test_the_encoding_is_unambiguous(one: list[str], other: list[str]) -> None:
    digest = hashlib.sha256(b"x").digest()
    assert K.preimage(SALT, digest, one) != K.preimage(SALT, digest, other)
    assert K.commitment(SALT, digest, one) != K.commitment(SALT, digest, other)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SALT.hex(), SALT),
        (SALT.hex().upper(), SALT),
        (" ".join(SALT.hex()[i : i + 8] for i in range(0, 64, 8)), SALT),
        (SALT.hex()[:-1], None),
        (SALT.hex() + "0", None),
        ("g" * 64, None),
        ("", None),
    ],
)
def test_salts_are_read_as_the_holder_pastes_them(text: str, expected: bytes | None) -> None:
    assert K.parse_salt(text) == expected


def test_a_salt_or_digest_of_the_wrong_size_is_refused() -> None:
    digest = hashlib.sha256(URL).digest()
    with pytest.raises(ValueError, match="salt"):
        K.preimage(SALT[:16], digest, INDICATORS)
    with pytest.raises(ValueError, match="digest"):
        K.preimage(SALT, digest[:20], INDICATORS)
    assert K.commitment_of_id("https://example.org/evidence/1") is None
    assert K.commitment_of_id(K.COMMITMENT_PREFIX + "zz") is None
