"""Verifiable Credentials 2.0 with eddsa-rdfc-2022 proofs, strict JSON, Bitstring Status List.

The issuer key, issuer profile and Open Badges credential are in ``tests.support.credentials``,
shared with ``test_credentials_independent.py``, which checks the same credentials with
digitalbazaar's verifier.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certification.certificates import credentials as C
from certification.keys.material import base58btc
from tests.support.credentials import (
    BASE_URL,
    CREATED,
    ISSUER_ID,
    REVOCATION_LIST,
    STATUS_INDEX,
    SUSPENSION_LIST,
    issuer_key,
    issuer_profile,
    method_of,
    ob_credential,
    resolver,
    signed_credential,
)


@pytest.fixture(scope="module")
def signed() -> dict[str, Any]:
    return signed_credential()


def verdict(credential: dict[str, Any], *keys: Ed25519PrivateKey) -> C.CredentialCheck:
    return C.verify_credential(credential, resolver(*(keys or (issuer_key(),))))


# --- sign and verify --------------------------------------------------------------------------


def test_sign_adds_one_eddsa_rdfc_2022_proof_and_verifies(signed: dict[str, Any]) -> None:
    unsigned = ob_credential()
    proof = signed["proof"]
    assert {k: v for k, v in proof.items() if k != "proofValue"} == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-11-02T09:30:15Z",  # UTC, to the second
        "verificationMethod": method_of(issuer_key()),
        "proofPurpose": "assertionMethod",
    }
    assert re.fullmatch(r"z[1-9A-HJ-NP-Za-km-z]{86,88}", proof["proofValue"])
    assert {k: v for k, v in signed.items() if k != "proof"} == unsigned
    check = verdict(signed)
    assert check == C.CredentialCheck(True, "verified", method_of(issuer_key()))


def test_sign_leaves_the_input_alone_and_refuses_to_sign_twice(signed: dict[str, Any]) -> None:
    unsigned = ob_credential()
    C.sign_credential(unsigned, issuer_key(), method_of(issuer_key()), CREATED)
    assert "proof" not in unsigned
    with pytest.raises(C.CredentialError) as refused:
        C.sign_credential(signed, issuer_key(), method_of(issuer_key()), CREATED)
    assert refused.value.reason == "already_signed"
    assert refused.value.code == "credential_invalid"


def test_created_in_another_timezone_is_written_in_utc() -> None:
    rome = dt.timezone(dt.timedelta(hours=1))
    credential = C.sign_credential(
        ob_credential(),
        issuer_key(),
        method_of(issuer_key()),
        dt.datetime(2026, 11, 2, 10, 30, tzinfo=rome),
    )
    assert credential["proof"]["created"] == "2026-11-02T09:30:00Z"
    with pytest.raises(ValueError, match="naive"):
        C.sign_credential(
            ob_credential(),
            issuer_key(),
            method_of(issuer_key()),
            dt.datetime(2026, 11, 2, 10, 30),  # noqa: DTZ001 - the point of the test
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c["credentialSubject"]["achievement"].update(name="Altro"), "bad_signature"),
        (lambda c: c.update(validFrom="2025-11-02T09:30:00Z"), "bad_signature"),
        (lambda c: c["credentialStatus"][0].update(statusListIndex="1"), "bad_signature"),
        (lambda c: c["credentialSubject"]["result"][0].update(status="Failed"), "bad_signature"),
        (lambda c: c["evidence"].pop(), "bad_signature"),
        (lambda c: c["proof"].update(created="2026-11-03T09:30:15Z"), "bad_signature"),
        (lambda c: c.pop("proof"), "no_proof"),
        (lambda c: c.update(proof=[c["proof"], c["proof"]]), "multiple_proofs"),
        (lambda c: c.update(proof=[c["proof"]]), "multiple_proofs"),
        (lambda c: c["@context"].append("https://evil.example/ctx.json"), "context_not_allowed"),
        (
            lambda c: c["@context"].append({"name": "https://evil.example/name"}),
            "context_not_allowed",
        ),
        (
            lambda c: c["evidence"][0].update({"@context": {"x": "https://e.x/x"}}),
            "context_not_allowed",
        ),
        (lambda c: c.update({"@context": list(reversed(c["@context"]))}), "context_not_allowed"),
        (lambda c: c["credentialSubject"].update(nickname="Giulia"), "undefined_term"),
        (lambda c: c["type"].append("MadeUpCredential"), "undefined_term"),
        (lambda c: c["credentialSubject"].update(id="relative/holder"), "undefined_term"),
        (lambda c: c["credentialSubject"].update({"@nickname": "Giulia"}), "undefined_term"),
        (lambda c: c["credentialSubject"].update({"_:b0": "blank predicate"}), "undefined_term"),
        (lambda c: c["proof"].update(proofPurpose="assertion"), "wrong_proof_purpose"),
        (lambda c: c["credentialSubject"]["achievement"].update(id=None), "null_value"),
        (lambda c: c["evidence"][0].update(narrative=None), "null_value"),
        (lambda c: c["proof"].update(cryptosuite="eddsa-jcs-2022"), "unsupported_cryptosuite"),
        (lambda c: c["proof"].update(type="Ed25519Signature2020"), "unsupported_cryptosuite"),
        (lambda c: c["proof"].update(proofPurpose="authentication"), "wrong_proof_purpose"),
        (lambda c: c["proof"].update(proofValue="zNotBase58!"), "proof_malformed"),
        (lambda c: c["proof"].update(proofValue="u" + "A" * 86), "proof_malformed"),
        (lambda c: c["proof"].update(proofValue=c["proof"]["proofValue"][:-4]), "proof_malformed"),
        (lambda c: c["proof"].update(created="yesterday"), "proof_malformed"),
        (lambda c: c["proof"].update(created="2026-02-30T09:30:15Z"), "proof_malformed"),
        (lambda c: c["proof"].update(expires="2027-01-01T00:00:00Z"), "proof_malformed"),
        (lambda c: c["proof"].update(verificationMethod=ISSUER_ID), "proof_malformed"),
        (lambda c: c["issuer"].update(id=f"{BASE_URL}/issuers/other.json"), "issuer_mismatch"),
        (lambda c: c.update(issuer=f"{BASE_URL}/issuers/other.json"), "issuer_mismatch"),
        (lambda c: c["type"].remove("VerifiableCredential"), "malformed"),
    ],
)
def test_a_changed_credential_fails_with_its_reason(
    signed: dict[str, Any], change: Callable[[dict[str, Any]], Any], reason: str
) -> None:
    credential = copy.deepcopy(signed)
    change(credential)
    check = verdict(credential)
    assert (check.ok, check.reason) == (False, reason)


def test_a_proof_may_repeat_the_documents_context_but_not_another(
    signed: dict[str, Any],
) -> None:
    # Verify Proof step 4 of the spec: the document's @context must start with the proof's.
    repeated = copy.deepcopy(signed)
    repeated["proof"]["@context"] = list(signed["@context"])
    assert verdict(repeated).ok
    other = copy.deepcopy(signed)
    other["proof"]["@context"] = [C.OB_V3P0]
    assert verdict(other).reason == "context_not_allowed"
    # A shorter prefix is legal, but then the OB terms are undefined for the document.
    shorter = copy.deepcopy(signed)
    shorter["proof"]["@context"] = [C.VC_V2]
    assert verdict(shorter).reason == "undefined_term"


def test_a_key_that_is_not_ours_never_verifies(signed: dict[str, Any]) -> None:
    intruder = issuer_key(seed=2)
    # Our method URL, another public key in the registry: the signature does not match.
    swapped = C.verify_credential(signed, lambda _method: intruder.public_key())
    assert (swapped.ok, swapped.reason) == (False, "bad_signature")
    # Signed by a key the registry does not know (e.g. one announced only in the document).
    forged = signed_credential(intruder)
    assert verdict(forged) == C.CredentialCheck(False, "unknown_key", method_of(intruder))
    # The same forged credential with its proof pointed at our key's URL.
    forged["proof"]["verificationMethod"] = method_of(issuer_key())
    assert verdict(forged).reason == "bad_signature"


def test_verify_gives_a_verdict_for_anything(signed: dict[str, Any]) -> None:
    junks: list[Any] = [[], "text", None, {"proof": "x"}, {"proof": {}}, {**signed, "@context": 3}]
    for junk in junks:
        check = C.verify_credential(junk, resolver(issuer_key()))
        assert not check.ok and check.reason in {
            "malformed",
            "no_proof",
            "proof_malformed",
            "unsupported_cryptosuite",
            "context_not_allowed",
        }
    # A value JSON cannot hold, deep inside: pyld's failure is a verdict too.
    odd = copy.deepcopy(signed)
    odd["credentialSubject"]["achievement"]["name"] = {"@value": object()}
    assert verdict(odd).reason == "malformed"


def test_signing_refuses_what_would_not_verify() -> None:
    undefined = ob_credential()
    undefined["credentialSubject"]["achievement"]["nome"] = "typo of name"
    with pytest.raises(C.CredentialError) as refused:
        C.sign_credential(undefined, issuer_key(), method_of(issuer_key()), CREATED)
    assert refused.value.reason == "undefined_term"
    with pytest.raises(C.CredentialError) as mismatch:
        C.sign_credential(
            ob_credential(), issuer_key(), f"{BASE_URL}/issuers/other.json#k", CREATED
        )
    assert mismatch.value.reason == "issuer_mismatch"


# --- the W3C test vector ----------------------------------------------------------------------

# "Data Integrity EdDSA Cryptosuites v1.0", test vectors for eddsa-rdfc-2022 (w3c/vc-di-eddsa,
# TestVectors/keyPair.json and TestVectors/eddsa-rdfc-2022/*).
VECTOR_PUBLIC_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_PRIVATE_KEY = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
VECTOR_SIGNED: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
    ],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": "https://vc.example/issuers/5678#" + VECTOR_PUBLIC_KEY,
        "proofPurpose": "assertionMethod",
        "proofValue": "z21EVs3eXERqTn4acNHT9viboqgzUaQ3kTmhPT3eA8qrVPE7CrQq78WkzctnMX5W4CrzcKnHw8"
        "V6dvy5pgWYCU5e9",
    },
}
VECTOR_PROOF_CANONICAL = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"'
    "^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
    "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
    "<https://w3id.org/security#DataIntegrityProof> .\n"
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"'
    "^^<https://w3id.org/security#cryptosuiteString> .\n"
    "_:c14n0 <https://w3id.org/security#proofPurpose> "
    "<https://w3id.org/security#assertionMethod> .\n"
    "_:c14n0 <https://w3id.org/security#verificationMethod> "
    "<https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2> .\n"
)
VECTOR_COMBINED_HASH = (
    "4c4d3890a157f8d611b13c265c2c22f39aa0a567c7c7dd9ba3e45cd579784eeb"  # proof configuration
    "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"  # document
)
# The published examples context is this single mapping (test data, not a pinned context).
EXAMPLES_V2 = {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}


def vector_loader(url: str, options: Any = None) -> dict[str, Any]:
    if url == "https://www.w3.org/ns/credentials/examples/v2":
        return {"contextUrl": None, "documentUrl": url, "document": EXAMPLES_V2}
    return C.document_loader(url, options)


def test_w3c_eddsa_rdfc_2022_test_vector() -> None:
    unsigned = {k: v for k, v in VECTOR_SIGNED.items() if k != "proof"}
    proof_options = {k: v for k, v in VECTOR_SIGNED["proof"].items() if k != "proofValue"}
    config = {**proof_options, "@context": unsigned["@context"]}
    assert C.canonicalize(config, loader=vector_loader) == VECTOR_PROOF_CANONICAL
    document = C.canonicalize(unsigned, loader=vector_loader)
    assert hashlib.sha256(document.encode()).hexdigest() == VECTOR_COMBINED_HASH[64:]
    assert C._hash_data(unsigned, proof_options, vector_loader).hex() == VECTOR_COMBINED_HASH

    secret = C._base58btc_decode(VECTOR_PRIVATE_KEY[1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    private_key = Ed25519PrivateKey.from_private_bytes(secret[2:])
    public = private_key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert "z" + base58btc(b"\xed\x01" + raw) == VECTOR_PUBLIC_KEY

    created = dt.datetime(2023, 2, 24, 23, 36, 38, tzinfo=dt.UTC)
    ours = C.sign_credential(
        unsigned, private_key, proof_options["verificationMethod"], created, loader=vector_loader
    )
    assert ours == VECTOR_SIGNED  # Ed25519 is deterministic: the very same proofValue
    check = C.verify_credential(VECTOR_SIGNED, lambda _method: public, loader=vector_loader)
    assert check.ok, check


# --- pinned contexts and the loader -----------------------------------------------------------

CONTEXTS_DIR = Path(C.__file__).parent / "contexts"


def test_pinned_contexts_match_their_recorded_sha256() -> None:
    readme = (CONTEXTS_DIR / "README.md").read_text()
    recorded = {
        url: (filename, digest)
        for url, filename, digest in re.findall(
            r"^\| `(https://[^`]+)` \| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", readme, re.M
        )
    }
    assert {url: name for url, (name, _) in recorded.items()} == C.PINNED_CONTEXTS
    for filename, digest in recorded.values():
        assert hashlib.sha256((CONTEXTS_DIR / filename).read_bytes()).hexdigest() == digest
    on_disk = {p.name for p in CONTEXTS_DIR.iterdir() if p.name != "README.md"}
    assert on_disk == set(C.PINNED_CONTEXTS.values())


def test_the_loader_serves_only_pinned_contexts() -> None:
    served = C.document_loader(C.VC_V2)
    assert served["documentUrl"] == C.VC_V2
    assert served["document"]["@context"]["@protected"] is True
    for url in (
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/v2/",
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        "http://www.w3.org/ns/credentials/v2",
        "file:///etc/passwd",
    ):
        with pytest.raises(C.CredentialError) as refused:
            C.document_loader(url)
        assert refused.value.reason == "context_not_allowed"


def test_canonicalize_refuses_unpinned_contexts_without_fetching() -> None:
    document = {"@context": ["https://schema.org/"], "name": "x"}
    with pytest.raises(C.CredentialError) as refused:
        C.canonicalize(document)
    assert refused.value.reason == "context_not_allowed"

    # A context that itself pulls in another URL: the loader's refusal surfaces from pyld.
    def importing(url: str, options: Any = None) -> dict[str, Any]:
        if url == "https://ctx.example/outer":
            return {
                "contextUrl": None,
                "documentUrl": url,
                "document": {"@context": [C.OB_V3P0, "https://ctx.example/inner"]},
            }
        return C.document_loader(url, options)

    with pytest.raises(C.CredentialError) as nested:
        C.canonicalize({"@context": ["https://ctx.example/outer"], "name": "x"}, loader=importing)
    assert nested.value.reason == "context_not_allowed"
    assert "ctx.example/inner" in nested.value.detail


def test_the_issuer_profile_shape_expands_with_no_undefined_term() -> None:
    # digitalbazaar's verifier frames the controller document in safe mode: an undefined term
    # there fails verification, exactly like here.
    profile = issuer_profile(issuer_key(), issuer_key(seed=2))
    assert "<https://w3id.org/security#assertionMethod>" in C.canonicalize(profile)
    as_served_today = {**profile, "@context": [C.VC_V2, C.OB_V3P0]}
    with pytest.raises(C.CredentialError) as refused:
        C.canonicalize(as_served_today)
    assert refused.value.reason == "undefined_term"


def _plain_loader(url: str, options: Any = None) -> dict[str, Any]:
    """The pinned loader under another name: canonicalize then runs pyld as it comes, with
    no processed context kept between documents."""
    return C.document_loader(url, options)


def _documents_in_turn() -> list[dict[str, Any]]:
    credential = ob_credential()
    credential["credentialSubject"]["achievement"]["nameMap"] = {"it": "Nome", "en": "Name"}
    credential["@context"] = [*credential["@context"], C.LANGUAGE_MAPS]
    typo = ob_credential()
    typo["credentialSubject"]["achievement"]["nome"] = "typo of name"
    unknown_type = ob_credential()
    unknown_type["credentialSubject"]["achievement"]["type"] = ["Achievement", "Atchievement"]
    bits = bytearray(C.STATUS_LIST_BITS // 8)
    status_list = C.status_list_credential(REVOCATION_LIST, ISSUER_ID, "revocation", bits, CREATED)
    profile = issuer_profile(issuer_key())
    return [ob_credential(), typo, credential, status_list, unknown_type, profile, ob_credential()]


def _canonical_or_reason(document: dict[str, Any], loader: C.DocumentLoader) -> str:
    try:
        return C.canonicalize(document, loader=loader)
    except C.CredentialError as refused:
        return f"refused: {refused.reason}"


def test_kept_processed_contexts_change_no_canonical_form_and_no_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pinned loader's expander keeps processed scoped contexts between documents (issue
    22): every document, in any order, after any other, canonicalises exactly as pyld does
    afresh, and what pyld refuses is still refused after a document that passed; also when
    the kept contexts are dropped at the cap, between any two documents."""
    documents = _documents_in_turn()
    expected = [_canonical_or_reason(d, _plain_loader) for d in documents]
    assert expected[1] == expected[4] == "refused: undefined_term"
    assert all(not e.startswith("refused") for e in expected[:1] + expected[2:4] + expected[5:])
    for cap in (256, 1, 3):
        monkeypatch.setattr(C, "_MAX_PROCESSED_CONTEXTS", cap)
        for turn in (documents, documents[::-1]):
            got = [_canonical_or_reason(d, C.document_loader) for d in turn]
            assert got == (expected if turn is documents else expected[::-1])


# --- strict JSON ------------------------------------------------------------------------------


def test_parse_accepts_a_credential(signed: dict[str, Any]) -> None:
    text = json.dumps(signed, ensure_ascii=False)
    assert C.parse_credential_json(text.encode()) == signed
    assert C.parse_credential_json(text) == signed


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": 1, "a": 2}', "duplicate_key"),
        (b'{"a": {"b": 1, "b": 1}}', "duplicate_key"),
        (b'{"a": NaN}', "not_a_number"),
        (b'{"a": -Infinity}', "not_a_number"),
        (b'{"a": "\\ud800"}', "lone_surrogate"),
        (b'{"\\udfff": 1}', "lone_surrogate"),
        (b'{"a": "\xff"}', "invalid_utf8"),
        (b'\xef\xbb\xbf{"a": 1}', "malformed_json"),
        (b'{"a": 1', "malformed_json"),
        (b'{"a": 1} {}', "malformed_json"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "malformed_json"),
        (b'{"a": 9007199254740992}', "integer_out_of_range"),
        (b'{"a": -9007199254740992}', "integer_out_of_range"),
        (b'{"a": [1, 9007199254740993]}', "integer_out_of_range"),
        (b'{"a": {"b": -9007199254740993}}', "integer_out_of_range"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b'{"a": ' + b"[" * 64 + b"]" * 64 + b"}", "too_deep"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
        (b'{"a": "' + b"x" * 1_000_000 + b'"}', "too_large"),
    ],
)
def test_parse_refuses(data: bytes, reason: str) -> None:
    with pytest.raises(C.CredentialError) as refused:
        C.parse_credential_json(data)
    assert refused.value.reason == reason
    assert refused.value.errors == {"credential": [reason]}


def test_parse_keeps_integers_in_the_i_json_safe_range() -> None:
    # RFC 7493 §2.2: ±(2**53 - 1) is what every reader keeps exact; 2**53 itself is out, since
    # 2**53 + 1 reads as the same double and a verifier in JavaScript could not tell them apart.
    assert 2**53 == 9007199254740992
    parsed = C.parse_credential_json(b'{"a": 9007199254740991, "b": -9007199254740991}')
    assert parsed == {"a": 2**53 - 1, "b": -(2**53 - 1)}
    # Only integers are bounded: a float of that size stays a float, as JSON readers read it.
    assert C.parse_credential_json(b'{"a": 9007199254740993.0}') == {"a": 2.0**53}


def test_parse_depth_and_size_limits_are_inclusive() -> None:
    assert C.parse_credential_json(b'{"a": ' + b"[" * 63 + b"]" * 63 + b"}")
    assert C.parse_credential_json(b'{"a": 1}', max_bytes=8)
    with pytest.raises(C.CredentialError):
        C.parse_credential_json(b'{"a": 1}', max_bytes=7)
    with pytest.raises(C.CredentialError) as refused:
        C.parse_credential_json('{"a": "\ud800"}')  # a str can carry one unescaped
    assert refused.value.reason == "lone_surrogate"


# --- Bitstring Status List --------------------------------------------------------------------

# The spec's example of an empty list of 131072 entries, and what digitalbazaar's
# @digitalbazaar/vc-bitstring-status-list 2.0.1 encodes with entries 0, 42 and 131071 set.
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
REFERENCE_0_42_131071 = (
    "uH4sIAAAAAAAAA-3BQQEAAAQEsNNEVNFp4bNtcjoAAAAAAAAAAAAAAAAAAADAn1rHIf2LAEAAAA"
)


def test_bitstring_decodes_reference_encodings_with_bit_0_leftmost() -> None:
    assert C.decode_bitstring(SPEC_EMPTY_LIST) == bytes(C.STATUS_LIST_BITS // 8)
    bits = C.decode_bitstring(REFERENCE_0_42_131071)
    assert len(bits) * 8 == C.STATUS_LIST_BITS
    assert [i for i in range(C.STATUS_LIST_BITS) if C.get_bit(bits, i)] == [0, 42, 131071]
    assert bits[0] == 0x80 and bits[5] == 0x20 and bits[-1] == 0x01


def test_bitstring_round_trip_and_encoding_format() -> None:
    bits = bytearray(C.STATUS_LIST_BITS // 8)
    for index in (0, 42, 131071):
        C.set_bit(bits, index, True)
    C.set_bit(bits, 7, True)
    C.set_bit(bits, 7, False)
    encoded = C.encode_bitstring(bytes(bits))
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded
    # Independent decoding: multibase 'u', base64url without padding, GZIP.
    body = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert gzip.decompress(body) == bits
    assert C.decode_bitstring(encoded) == bits
    assert C.encode_bitstring(bytes(bits)) == encoded  # deterministic
    assert C.encode_bitstring(bytes(16384)) == SPEC_EMPTY_LIST  # byte for byte, like pako
    with pytest.raises(IndexError):
        C.set_bit(bits, C.STATUS_LIST_BITS, True)
    with pytest.raises(IndexError):
        C.get_bit(bits, -1)


def _encoded(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _gzip_bomb(size: int) -> str:
    """GZIP of ``size`` zero bytes, compressed chunk by chunk (never held whole)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [deflater.compress(chunk) for _ in range(size >> 20)]
    return _encoded(b"".join(parts) + deflater.flush())


@pytest.mark.parametrize("size", [C.MAX_STATUS_LIST_BYTES + (1 << 20), 32 << 20])
def test_bitstring_decode_refuses_a_gzip_bomb(size: int) -> None:
    encoded = _gzip_bomb(size)
    assert len(encoded) < C.MAX_STATUS_LIST_BYTES  # small on the wire, huge inflated
    with pytest.raises(C.CredentialError) as refused:
        C.decode_bitstring(encoded)
    assert refused.value.reason == "status_list_too_large"


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        (SPEC_EMPTY_LIST[1:], "status_list_malformed"),
        ("z" + SPEC_EMPTY_LIST[1:], "status_list_malformed"),
        (SPEC_EMPTY_LIST + "==", "status_list_malformed"),
        (SPEC_EMPTY_LIST.replace("-", "+"), "status_list_malformed"),
        (SPEC_EMPTY_LIST[:-8], "status_list_malformed"),  # truncated
        (
            _encoded(gzip.compress(b"x", mtime=0) + gzip.compress(b"y", mtime=0)),
            "status_list_malformed",
        ),
        (_encoded(b"not gzip at all"), "status_list_malformed"),
        (_encoded(zlib.compress(bytes(16))), "status_list_malformed"),  # zlib, not GZIP
    ],
)
def test_bitstring_decode_refuses(encoded: str, reason: str) -> None:
    with pytest.raises(C.CredentialError) as refused:
        C.decode_bitstring(encoded)
    assert refused.value.reason == reason


def test_status_list_credential_and_entry() -> None:
    bits = bytearray(C.STATUS_LIST_BITS // 8)
    C.set_bit(bits, STATUS_INDEX, True)
    valid_from = dt.datetime(2026, 11, 2, 9, 30, 59, 999, tzinfo=dt.UTC)
    unsigned = C.status_list_credential(REVOCATION_LIST, ISSUER_ID, "revocation", bits, valid_from)
    assert unsigned == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": REVOCATION_LIST,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISSUER_ID,
        "validFrom": "2026-11-02T09:30:59Z",
        "credentialSubject": {
            "id": REVOCATION_LIST + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": C.encode_bitstring(bytes(bits)),
        },
    }
    signed = C.sign_credential(unsigned, issuer_key(), method_of(issuer_key()), CREATED)
    assert verdict(signed).ok
    assert C.get_bit(C.decode_bitstring(signed["credentialSubject"]["encodedList"]), STATUS_INDEX)

    assert C.status_entry(SUSPENSION_LIST, "suspension", 7) == {
        "id": SUSPENSION_LIST + "#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "7",
        "statusListCredential": SUSPENSION_LIST,
    }
    with pytest.raises(C.CredentialError) as purpose:
        C.status_entry(SUSPENSION_LIST, "refresh", 7)
    assert purpose.value.reason == "unsupported_status_purpose"
    with pytest.raises(C.CredentialError) as small:
        C.status_list_credential(REVOCATION_LIST, ISSUER_ID, "revocation", bytes(100), valid_from)
    assert small.value.reason == "status_list_too_small"
    with pytest.raises(IndexError):
        C.status_entry(SUSPENSION_LIST, "suspension", -1)
