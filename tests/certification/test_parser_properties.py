"""Property-based tests (issue 8) of the parsers that take outside input: credential JSON,
talent-card QR payloads and numbers, verification codes, evidence uploads and card photos.

For each: it is total (any input gives a result or the documented domain error, never another
exception), what it encodes it reads back, and what is signed cannot be changed unnoticed.
Tests that need the register share one small world (:func:`register`): an ente with its keys,
an issued certificate with its signed credential, and the holder's talent card. The checks
only read it (the photo test sets the card's photo, which no other example looks at), so
hypothesis may run every example of a test on one transaction.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import json
import math
import re
import string
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Final

import pikepdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy.orm import Session

from certification import cards as C
from certification.cards import payload as P
from certification.certificates import credentials as VC
from certification.certificates.lifecycle import (
    CODE_ALPHABET,
    CODE_LENGTH,
    certificate_by_code,
    format_code,
    new_verification_code,
    normalise_code,
)
from certification.certificates.production import issuer_url, verification_method
from certification.certificates.sealing import SealCheck
from certification.errors import InvalidInput
from certification.keys.management import init_keys
from certification.keys.material import active_key, load_private_key
from certification.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    EligibilityBasis,
    KeyPurpose,
)
from certification.numbering.codes import LEGACY_CODE_LENGTH, card_check_character
from certification.portfolio.pdfscan import REASONS as PDF_REASONS
from certification.portfolio.uploads import (
    ODF,
    OOXML,
    CheckedFile,
    UploadRejected,
    check_upload,
)
from certification.verification.checks import (
    Verdict,
    Verification,
    verify_code,
    verify_credential_json,
    verify_file,
)
from tests.support.clock import NOW
from tests.support.credentials import issuer_key, ob_credential, resolver
from tests.support.credentials import signed_credential as _signed_credential
from tests.support.factories import make_candidate, make_case, make_organisation
from tests.support.files import office, pdf_bytes
from tests.support.mutations import byte_mutants, paths, single_change, structural_mutants

# No example database in the repository; no health check failing a test on a busy machine.
SETTINGS = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
# The register is built once per test, not per example (see the module docstring).
DB_SETTINGS = settings(
    SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

PASSPHRASE = b"test passphrase"
BASE = "https://attesta.example"
LATER = NOW + dt.timedelta(days=1)

# --- the register -----------------------------------------------------------------------------


@pytest.fixture
def register(db: Session, storage: Any) -> dict[str, Any]:
    """An ente with keys, an ISSUED certificate whose signed credential is in storage, and an
    active talent card resting on it; each of them verifies as valid."""
    ente = make_organisation(db, code="PRP")
    holder = make_candidate(db, given_name="Giulia", family_name="Rossi")
    init_keys(db, None, PASSPHRASE, NOW)
    credential_key = active_key(db, ente.id, KeyPurpose.CREDENTIAL)
    seal_key = active_key(db, ente.id, KeyPurpose.PDF_SEAL)
    certificate = Certificate(
        case_id=make_case(db, candidate=holder, ente=ente).id,
        generation=1,
        organisation_id=ente.id,
        number="PRP-2026-000001",
        verification_code=new_verification_code(),
        status_index=1,
        kind=CertificateKind.COMPETENZE_SINGOLE,
        locale="it",
        status=CertificateStatus.ISSUED,
        content={"base_url": BASE},
        holder_person_id=holder.person_id,
        issued_at=NOW,
        reserved_at=NOW,
        credential_kid=credential_key.kid,
        seal_kid=seal_key.kid,
    )
    db.add(certificate)
    db.flush()
    unsigned = ob_credential()
    unsigned["id"] = f"urn:uuid:{certificate.id}"
    unsigned["issuer"]["id"] = issuer_url(BASE, str(ente.id))
    private = load_private_key(credential_key, PASSPHRASE)
    assert isinstance(private, Ed25519PrivateKey)
    method = verification_method(BASE, str(ente.id), credential_key.kid)
    credential = VC.sign_credential(unsigned, private, method, NOW)
    credential_json = json.dumps(credential, ensure_ascii=False, indent=2).encode()
    certificate.credential_sha256 = storage.put(credential_json)
    card = C.request_card(
        db, holder, EligibilityBasis.CERTIFICATE, NOW, certificate_id=certificate.id, consent=True
    )
    qr = C.qr_payload(db, card, PASSPHRASE)
    db.flush()
    found = verify_credential_json(db, storage, credential_json, LATER)
    assert found.verdict == Verdict.VALID, found
    assert verify_code(db, certificate.verification_code, LATER).verdict == Verdict.VALID
    assert C.check_card(db, qr, LATER).valid
    return {
        "certificate": certificate,
        "credential": credential,
        "credential_json": credential_json,
        "card": card,
        "qr": qr,
        "holder": holder,
        "storage": storage,
    }


# --- credential JSON: the strict parser ------------------------------------------------------

PARSE_REASONS = frozenset(
    {
        "too_large",
        "invalid_utf8",
        "malformed_json",
        "duplicate_key",
        "not_a_number",
        "integer_out_of_range",
        "lone_surrogate",
        "too_deep",
        "not_an_object",
    }
)
# verify_credential's documented reasons.
PROOF_REASONS = frozenset(
    {
        "verified",
        "malformed",
        "no_proof",
        "multiple_proofs",
        "proof_malformed",
        "unsupported_cryptosuite",
        "wrong_proof_purpose",
        "context_not_allowed",
        "issuer_mismatch",
        "unknown_key",
        "undefined_term",
        "null_value",
        "bad_signature",
    }
)

json_scalars = (
    st.none()
    | st.booleans()
    # I-JSON's safe range (RFC 7493 §2.2): beyond it the strict parser refuses the number.
    | st.integers(-VC.MAX_SAFE_INTEGER, VC.MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# What a strict parser must refuse, or must not trip over.
JSON_TRAPS = [
    '{"a": 1, "a": 2}',
    "NaN",
    "-Infinity",
    "1e400",
    "-1e999",
    '"\\ud800"',
    '"\\udc00\\ud800"',
    "[" * 70 + "]" * 70,
    "[" * 100_000,
    "1" * 5000,
    "\ufeff{}",
    '"\x00"',
    "}",
    "",
    "null",
]


@st.composite
def json_with_traps(draw: st.DrawFn) -> str:
    """A JSON document with a trap written over or into it at a random place."""
    text = json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
    trap = draw(st.sampled_from(JSON_TRAPS))
    position = draw(st.integers(0, len(text)))
    end = position + draw(st.integers(0, 3))
    return text[:position] + trap + text[end:]


credential_texts = st.one_of(
    json_values.map(json.dumps),
    json_with_traps(),
    st.sampled_from(JSON_TRAPS),
    st.text(st.characters(exclude_categories=())),  # lone surrogates included
)
credential_inputs = st.one_of(
    credential_texts,
    credential_texts.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(),
)


def _parsed(data: bytes | str, max_bytes: int = 1_000_000) -> dict[str, Any] | None:
    """The parsed credential, or None when it is refused with a documented reason."""
    refused: VC.CredentialError | None = None
    try:
        return VC.parse_credential_json(data, max_bytes=max_bytes)
    except VC.CredentialError as error:
        refused = error
    assert refused.reason in PARSE_REASONS
    assert refused.errors == {"credential": [refused.reason]}
    return None


def _json_nodes(value: Any, depth: int = 1) -> Iterator[tuple[Any, int]]:
    """Every value and key of parsed JSON with its depth (the top level is 1)."""
    yield value, depth
    if isinstance(value, dict):
        for key, child in value.items():
            yield key, depth
            yield from _json_nodes(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from _json_nodes(child, depth + 1)


def _duplicate_keys(text: str) -> list[str]:
    """The keys an object of ``text`` has twice (Python's json keeps the last silently)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        found.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found


@pytest.mark.slow
@settings(SETTINGS, max_examples=200)
@given(data=credential_inputs)
@example(data=b'{"creditsEarned": 1e400}')  # Infinity in disguise
@example(data='{"a": "\ud800"}')
def test_credential_json_is_parsed_or_refused_with_a_documented_reason(data: bytes | str) -> None:
    parsed = _parsed(data, max_bytes=200_000)
    if parsed is None:
        return
    # What is accepted is what any JSON parser reads: an object, no key twice, nested at
    # most 64 deep, with only numbers JSON can write and strings UTF-8 can.
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    assert isinstance(parsed, dict) and parsed == json.loads(text)
    assert not _duplicate_keys(text)
    for value, depth in _json_nodes(parsed):
        assert depth <= VC.MAX_JSON_DEPTH or not isinstance(value, dict | list)
        assert not isinstance(value, float) or math.isfinite(value)
    json.dumps(parsed, allow_nan=False, ensure_ascii=False).encode("utf-8")


@settings(SETTINGS, max_examples=50)
@given(document=st.dictionaries(st.text(max_size=8), json_values, max_size=5), ascii=st.booleans())
def test_any_plain_json_object_reads_back_as_itself(document: dict[str, Any], ascii: bool) -> None:
    text = json.dumps(document, ensure_ascii=ascii)
    assert VC.parse_credential_json(text) == document
    assert VC.parse_credential_json(text.encode()) == document


@settings(SETTINGS, max_examples=50)
@given(
    size=st.integers(VC.MAX_SAFE_INTEGER + 1, 10**400),
    sign=st.sampled_from([1, -1]),
    depth=st.integers(0, 3),
)
def test_an_integer_beyond_the_safe_range_is_refused_anywhere(
    size: int, sign: int, depth: int
) -> None:
    text = '{"a": ' + "[" * depth + str(sign * size) + "]" * depth + "}"
    with pytest.raises(VC.CredentialError) as refused:
        VC.parse_credential_json(text)
    assert refused.value.reason == "integer_out_of_range"


# --- credential JSON: the proof ---------------------------------------------------------------


@cache
def _signed() -> dict[str, Any]:
    return _signed_credential()


_ALIASES: Final = {"@type": "type", "@id": "id"}


def _jsonld_shape(value: Any) -> Any:
    """A coarse model of what a JSON-LD document says, independent of pyld: arrays are sets
    (order and repeats do not count, one value is the same as a one-element array, an array
    inside an array is spliced in, members with the same id are one node), an empty array
    says nothing, and a keyword is the same member as its alias. Two credentials with
    different shapes say different things, so one proof cannot hold for both."""
    if isinstance(value, dict):
        merged: dict[str, list[Any]] = {}
        for key, child in value.items():  # "type" and "id" are the contexts' aliases
            merged.setdefault(_ALIASES.get(key, key), []).append(child)
        shaped = {key: _jsonld_shape(children) for key, children in merged.items()}
        return {key: child for key, child in shaped.items() if child != ()}
    if isinstance(value, list):
        nodes: dict[str, dict[str, list[Any]]] = {}  # members with the same id are one node
        others: list[Any] = []
        for child in _spliced(value):
            ident = child.get("id", child.get("@id")) if isinstance(child, dict) else None
            if isinstance(ident, str):
                node = nodes.setdefault(ident, {})
                for key, member in child.items():
                    node.setdefault(_ALIASES.get(key, key), []).append(member)
            else:
                others.append(child)
        members = {
            json.dumps(_jsonld_shape(child), sort_keys=True) for child in [*nodes.values(), *others]
        }
        if len(members) == 1:
            return json.loads(members.pop())
        return tuple(sorted(members))
    return value


def _spliced(values: list[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _spliced(value)
        else:
            yield value


credential_keys = st.sampled_from(
    ["id", "@id", "type", "@type", "name", "description", "proof", "@context", "issuer", "url"]
) | st.text(max_size=8)
credential_values = json_values | st.sampled_from(
    [[], "urn:uuid:7d6c5e2a-1f3b-4c8d-9e0f-a1b2c3d4e5f6", VC.VC_V2, "OpenBadgeCredential"]
)


@settings(SETTINGS, max_examples=80)
@given(junk=json_values)
@example(junk={"proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}})
def test_any_json_gets_a_proof_verdict_never_an_exception(junk: Any) -> None:
    check = VC.verify_credential(junk, resolver(issuer_key()))
    assert not check.ok and check.reason in PROOF_REASONS


@pytest.mark.slow
@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_a_changed_signed_credential_fails_its_proof(data: st.DataObject) -> None:
    """Any change to what a signed credential says (members replaced, removed, added or
    repeated, anywhere, the proof included) makes its proof fail, with a documented reason."""
    original = _signed()
    mutant = data.draw(structural_mutants(original, credential_values, credential_keys))
    check = VC.verify_credential(mutant, resolver(issuer_key()))
    event(check.reason)
    assert check.reason in PROOF_REASONS
    if check.ok:
        assert _jsonld_shape(mutant) == _jsonld_shape(original), "a tampered credential verified"


@pytest.mark.slow
@settings(SETTINGS, max_examples=80)
@given(data=st.data())
def test_a_signed_credential_changed_by_one_byte_is_refused(data: st.DataObject) -> None:
    """One byte of the JSON text substituted, inserted or deleted: refused by the parser or
    by the proof, unless the JSON still says exactly the same (a space for a newline)."""
    text = json.dumps(_signed(), ensure_ascii=False).encode()
    mutant = data.draw(single_change(text))
    parsed = _parsed(mutant)
    if parsed is None:
        return
    check = VC.verify_credential(parsed, resolver(issuer_key()))
    event(check.reason)
    if check.ok:
        assert parsed == _signed(), "a tampered credential verified"


# --- credential JSON and PDFs: verification against the register -----------------------------


def _assert_well_formed(result: Verification) -> None:
    assert isinstance(result, Verification)
    assert result.verdict in set(Verdict) and result.reason
    assert [d.name for d in result.dimensions] == [
        "found",
        "signature",
        "identical",
        "status",
        "validity",
    ]
    if result.verdict == Verdict.VALID:
        assert result.certificate is not None


@st.composite
def equivalent_rewrites(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """``original`` rewritten in ways JSON-LD mostly reads as the same statements, so that its
    proof may still hold: a list reordered or with a member repeated, a one-member list
    unwrapped, a value wrapped in a list, an empty list added. Only the comparison with the
    credential as issued tells these apart."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(paths(data)))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        operation = draw(st.sampled_from(["repeat", "reverse", "unwrap", "empty", "wrap"]))
        if operation == "repeat" and isinstance(value, list) and value:
            value.append(copy.deepcopy(draw(st.sampled_from(value))))
        elif operation == "reverse" and isinstance(value, list):
            value.reverse()
        elif operation == "unwrap" and isinstance(value, list) and len(value) == 1:
            parent[path[-1]] = value[0]
        elif operation == "empty":
            parent[path[-1]] = [*value, []] if isinstance(value, list) else [value, []]
        else:
            parent[path[-1]] = [value]
    return data


@pytest.mark.slow
@settings(DB_SETTINGS, max_examples=60)
@given(data=st.data())
def test_only_the_credential_as_issued_verifies(
    db: Session, register: dict[str, Any], data: st.DataObject
) -> None:
    """A credential changed in its text (one byte), its structure, or rewritten so that JSON-LD
    reads the same statements (the proof may hold) is never VALID unless it is the same JSON
    as issued; nothing the verifier is given makes it raise."""
    issued = register["credential"]
    change = data.draw(st.sampled_from(["byte", "structure", "rewrite"]))
    if change == "byte":
        upload = data.draw(single_change(register["credential_json"]))
    else:
        changed = data.draw(
            structural_mutants(issued, credential_values, credential_keys)
            if change == "structure"
            else equivalent_rewrites(issued)
        )
        upload = json.dumps(changed).encode()
    result = verify_credential_json(db, register["storage"], upload, LATER)
    _assert_well_formed(result)
    event(f"{change}: {result.verdict}: {result.reason}")
    if result.verdict == Verdict.VALID:
        assert json.loads(upload) == issued, "a tampered credential verified"


class _StubChecker:
    """Stands in for the child-process seal checker with whatever answer a test draws."""

    def __init__(self, answer: SealCheck) -> None:
        self.answer = answer

    def check(
        self, pdf: bytes, roots: Any, *, attachment: str | None = None, now: Any = None
    ) -> SealCheck:
        return self.answer


@pytest.mark.slow
@settings(DB_SETTINGS, max_examples=80)
@given(data=st.data())
def test_any_upload_gets_a_verdict_never_an_exception(
    db: Session, register: dict[str, Any], data: st.DataObject
) -> None:
    """Random bytes, things that start like a PDF or a JSON object, with any answer of the
    seal checker (including one carrying a changed copy of the issued credential): a verdict,
    never VALID (no uploaded PDF here is one the register issued)."""
    issued = register["credential_json"]
    upload = data.draw(
        st.one_of(
            st.binary(),
            st.binary().map(lambda rest: b"%PDF-" + rest),
            st.binary().map(lambda rest: b" {" + rest),
            json_with_traps().map(str.encode),
        )
    )
    attachment = data.draw(
        st.none() | st.binary() | st.just(issued) | byte_mutants(issued) | credential_inputs
    )
    if isinstance(attachment, str):
        attachment = attachment.encode("utf-8", "surrogatepass")
    answer = SealCheck(
        ok=data.draw(st.booleans()),
        reason=data.draw(
            st.sampled_from(
                [
                    "ok",
                    "busy",
                    "signature_count",
                    "malformed:PdfReadError",
                    "not_intact",
                    "not_trusted",
                    "not_entire_file",
                    "no_attachment",
                ]
            )
            | st.text()
        ),
        signer_kid=data.draw(st.none() | st.just(register["certificate"].seal_kid) | st.text()),
        signatures=data.draw(st.none() | st.integers(0, 3)),
        attachment=attachment,
    )
    result = verify_file(db, register["storage"], upload, _StubChecker(answer), LATER)
    _assert_well_formed(result)
    event(f"{result.method}: {result.reason}")
    assert result.verdict != Verdict.VALID


# --- verification codes -----------------------------------------------------------------------

# How people may write each symbol: either case, and the letters Crockford reads as digits.
SPELLINGS: dict[str, str] = {symbol: symbol + symbol.lower() for symbol in CODE_ALPHABET}
SPELLINGS["0"] += "Oo"
SPELLINGS["1"] += "IiLl"
SPELLINGS["V"] += "Uu"


def _luhn_valid(symbols: str) -> bool:
    """Luhn mod N as published (N = 32), written apart from certification.numbering.codes: from the
    right, every second value doubled and its base-32 digits summed; valid if the total is a
    multiple of N."""
    total = 0
    for i, ch in enumerate(reversed(symbols)):
        value = CODE_ALPHABET.index(ch) * (2 if i % 2 else 1)
        total += sum(divmod(value, 32))
    return total % 32 == 0


def _with_check(body: str) -> str:
    return body + next(c for c in CODE_ALPHABET if _luhn_valid(body + c))


bodies = st.text(alphabet=CODE_ALPHABET, min_size=CODE_LENGTH - 1, max_size=CODE_LENGTH - 1)
#: Well-formed codes: new ones (random part and check character) and older ones (26, no check).
legacy_codes = st.text(
    alphabet=CODE_ALPHABET, min_size=LEGACY_CODE_LENGTH, max_size=LEGACY_CODE_LENGTH
)
codes = bodies.map(_with_check) | legacy_codes


@st.composite
def typed(draw: st.DrawFn, canonical: str) -> str:
    """``canonical`` as someone might type it: any spelling of each symbol (3 bits of one
    number each: cheap to draw, shrinks to the canonical spelling), separators anywhere."""
    choices = draw(st.integers(0, 8 ** len(canonical) - 1))
    spelled = [
        SPELLINGS[symbol][(choices >> (3 * i) & 7) % len(SPELLINGS[symbol])]
        for i, symbol in enumerate(canonical)
    ]
    separators = st.tuples(st.integers(0, len(spelled)), st.sampled_from([" ", "-", "\t", "."]))
    for position, separator in draw(st.lists(separators, max_size=6)):
        spelled.insert(position, separator)
    return "".join(spelled)


@settings(SETTINGS, max_examples=100)
@given(data=st.data(), code=codes)
def test_codes_read_back_however_they_are_typed(data: st.DataObject, code: str) -> None:
    fresh = new_verification_code()  # random inside: checked here, never drawn from
    assert len(fresh) == CODE_LENGTH and set(fresh) <= set(CODE_ALPHABET)
    assert _luhn_valid(fresh)
    for canonical in (code, fresh):
        formatted = format_code(canonical)
        groups = [len(group) for group in formatted.split("-")]
        if len(canonical) == LEGACY_CODE_LENGTH:
            assert groups == [5, 5, 5, 5, 6]  # as printed before the check character
        else:
            assert groups == [4, 4, 4, 4, 4, 4, 3]
        assert normalise_code(formatted) == canonical
    assert normalise_code(data.draw(typed(code))) == code


def _spec_accepts(text: str) -> str | None:
    """The documented rule, written independently: the letters and digits of ``text``, each a
    spelling of a symbol of the alphabet, 26 of them (older codes), or 27 whose last is the
    Luhn mod 32 check character of the others."""
    kept = [ch for ch in text if ch.isalnum()]
    if len(kept) not in (LEGACY_CODE_LENGTH, CODE_LENGTH):
        return None
    symbols = [next((s for s, ways in SPELLINGS.items() if ch in ways), None) for ch in kept]
    if None in symbols:
        return None
    code = "".join(s for s in symbols if s)
    return code if len(code) == LEGACY_CODE_LENGTH or _luhn_valid(code) else None


def _spec_mistyped(text: str) -> bool:
    """A 27-symbol code whose check character is wrong."""
    kept = [ch for ch in text if ch.isalnum()]
    symbols = [next((s for s, ways in SPELLINGS.items() if ch in ways), None) for ch in kept]
    code = "".join(s for s in symbols if s)
    return None not in symbols and len(code) == CODE_LENGTH and not _luhn_valid(code)


ascii_text = st.text(alphabet=string.printable, max_size=40)


@pytest.mark.slow
@settings(SETTINGS, max_examples=150)
@given(
    text=ascii_text
    | codes.flatmap(typed).flatmap(lambda t: single_change(t, st.sampled_from(string.printable)))
)
def test_codes_are_accepted_exactly_by_the_documented_rule(text: str) -> None:
    assert normalise_code(text) == _spec_accepts(text)


@pytest.mark.slow
@settings(SETTINGS, max_examples=150)
@given(text=st.text() | codes.flatmap(typed).flatmap(single_change))
def test_normalise_code_is_idempotent_and_gives_only_well_formed_codes(text: str) -> None:
    normal = normalise_code(text)
    if normal is not None:
        assert len(normal) in (LEGACY_CODE_LENGTH, CODE_LENGTH)
        assert set(normal) <= set(CODE_ALPHABET)
        assert len(normal) == LEGACY_CODE_LENGTH or _luhn_valid(normal)
        assert normalise_code(normal) == normal
        assert normalise_code(format_code(normal)) == normal


@settings(DB_SETTINGS, max_examples=60)
@given(data=st.data())
def test_the_code_lookup_finds_the_certificate_by_its_code_only(
    db: Session, register: dict[str, Any], data: st.DataObject
) -> None:
    code = register["certificate"].verification_code
    text = data.draw(st.text() | typed(code) | typed(code).flatmap(single_change))
    result = verify_code(db, text, LATER)
    _assert_well_formed(result)
    event(result.verdict)
    found = certificate_by_code(db, text)
    if normalise_code(text) == code:
        assert result.verdict == Verdict.VALID and found is register["certificate"]
    elif _spec_mistyped(text):  # a typing mistake the check character catches: not looked up
        assert result.reason == "mistyped" and result.certificate is None and found is None
    else:
        assert result.reason == "not_found" and found is None


# --- talent-card numbers ----------------------------------------------------------------------

card_bodies = st.text(alphabet=CODE_ALPHABET, min_size=8, max_size=8)
CARD_NUMBER = r"TC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]"


def _card_number(body: str) -> str:
    return f"TC-{body[:4]}-{body[4:]}-{card_check_character(body)}"


@settings(SETTINGS, max_examples=100)
@given(data=st.data(), body=card_bodies)
@example(data=None, body="TC7K3M9Q")  # a body that starts like the prefix
def test_card_numbers_read_back_however_they_are_typed(data: Any, body: str) -> None:
    number = _card_number(body)
    symbols = number.replace("-", "")[2:]
    assert C.normalise_card_number(number) == number
    assert C.normalise_card_number(symbols) == number  # the prefix may be left out
    assert C.normalise_card_number(number.lower().replace("-", " ")) == number
    if data is not None:
        assert C.normalise_card_number(data.draw(typed(symbols))) == number
        assert C.normalise_card_number("tc" + data.draw(typed(symbols))) == number


@settings(SETTINGS, max_examples=150)
@given(data=st.data(), body=card_bodies)
def test_one_mistyped_card_symbol_is_always_caught(data: st.DataObject, body: str) -> None:
    symbols = _card_number(body).replace("-", "")[2:]
    position = data.draw(st.integers(0, len(symbols) - 1))
    wrong = data.draw(st.sampled_from(CODE_ALPHABET).filter(lambda s: s != symbols[position]))
    typo = symbols[:position] + wrong + symbols[position + 1 :]
    assert C.normalise_card_number("TC" + typo) is None


@settings(SETTINGS, max_examples=150)
@given(text=st.text() | card_bodies.map(_card_number).flatmap(single_change))
def test_normalise_card_number_gives_only_well_formed_numbers(text: str) -> None:
    number = C.normalise_card_number(text)
    if number is not None:
        assert C.normalise_card_number(number) == number and re.fullmatch(CARD_NUMBER, number)
        body = number.replace("-", "")[2:10]
        assert number == _card_number(body)


# --- talent-card QR payloads ------------------------------------------------------------------

PAYLOAD_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PAYLOAD_KID = "ab12cd34" + "0" * 56
PAYLOAD_DATES = st.dates(P.EPOCH, P.EPOCH + dt.timedelta(days=0xFFFF))
BASE64URL = string.ascii_letters + string.digits + "-_"


def _payload(initials: str = "GR") -> str:
    return P.encode(
        PAYLOAD_KEY, PAYLOAD_KID, "00112233445566778899", NOW.date(), NOW.date(), initials
    )


def _decoded(text: str) -> P.CardPayload | None:
    try:
        payload = P.decode(text)
    except P.PayloadUnreadable as error:
        reason = error.reason
        payload = None
    if payload is None:
        assert reason in {"malformed", "unknown_version"}
        return None
    # One payload, one spelling: what was read is exactly the text given.
    raw = payload.signed + payload.signature
    assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == text
    return payload


@settings(SETTINGS, max_examples=150)
@given(
    kid=st.binary(min_size=32, max_size=32).map(bytes.hex),
    token=st.binary(min_size=10, max_size=10).map(bytes.hex),
    valid_from=PAYLOAD_DATES,
    valid_until=PAYLOAD_DATES,
    initials=st.text(max_size=8),
)
@example(
    kid=PAYLOAD_KID, token="00" * 10, valid_from=P.EPOCH, valid_until=P.EPOCH, initials="€€€"
)  # 9 bytes of UTF-8: cut inside the last character
def test_card_payloads_read_back_their_fields(
    kid: str, token: str, valid_from: dt.date, valid_until: dt.date, initials: str
) -> None:
    text = P.encode(PAYLOAD_KEY, kid, token, valid_from, valid_until, initials)
    payload = _decoded(text)
    assert payload is not None, "a payload we signed is unreadable"
    assert (payload.kid_prefix, payload.token) == (kid[:8], token)
    assert (payload.valid_from, payload.valid_until) == (valid_from, valid_until)
    # Initials longer than 8 bytes of UTF-8 are cut, never inside a character.
    assert initials.startswith(payload.initials)
    assert len(payload.initials.encode()) <= P.MAX_INITIALS_BYTES
    if len(initials.encode()) <= P.MAX_INITIALS_BYTES:
        assert payload.initials == initials
    assert P.verify(payload, {kid[:8]: PAYLOAD_KEY.public_key()})
    assert len(text) <= P.MAX_TEXT


@settings(SETTINGS, max_examples=200)
@given(
    text=st.text()
    | st.text(alphabet=BASE64URL, max_size=P.MAX_TEXT + 2)
    | st.sampled_from(["GR", "€€", "ÀÉ"]).map(_payload).flatmap(single_change)
)
def test_any_text_decodes_or_is_unreadable(text: str) -> None:
    _decoded(text)


@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_a_card_payload_changed_anywhere_does_not_verify(data: st.DataObject) -> None:
    text = _payload()
    keys = {PAYLOAD_KID[:8]: PAYLOAD_KEY.public_key()}
    if data.draw(st.booleans()):  # one character of the text
        changed = data.draw(single_change(text, st.sampled_from(BASE64URL) | st.characters()))
    else:  # one bit of the bytes, re-encoded
        raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        changed = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    payload = _decoded(changed)
    event("unreadable" if payload is None else "read, signature checked")
    assert payload is None or not P.verify(payload, keys), f"{changed!r} verified"


CARD_REASONS = frozenset(
    {
        "valid",
        "unreadable",
        "unknown_key",
        "bad_signature",
        "key_compromised",
        "unknown_card",
        "outdated",
        "mistyped",
        "not_active",
        "not_yet_valid",
        "expired",
        "suspended",
        "revoked",
    }
)


@settings(DB_SETTINGS, max_examples=80)
@given(data=st.data())
def test_only_the_cards_own_qr_checks_as_valid(
    db: Session, register: dict[str, Any], data: st.DataObject
) -> None:
    """Scanned text (random, the card's own payload, alone or in its URL, or changed by one
    character, another key's payload): a verdict with a documented reason, valid only for the
    card's own payload."""
    qr = register["qr"]
    payload = data.draw(
        st.just(qr)
        | st.text()
        | single_change(qr)
        | single_change(qr, st.sampled_from(BASE64URL))
        | st.builds(
            lambda key, token: P.encode(key, PAYLOAD_KID, token, NOW.date(), NOW.date(), "X"),
            st.just(PAYLOAD_KEY),
            st.binary(min_size=10, max_size=10).map(bytes.hex),
        )
    )
    template = data.draw(
        st.sampled_from(["{}", "https://attesta.example/card/verify/{}/", " {}\n"])
    )
    scanned = template.format(payload)
    check = C.check_card(db, scanned, LATER)
    event(check.reason)
    assert check.reason in CARD_REASONS
    if check.valid:
        assert P.payload_from_url(scanned) == qr and check.card is register["card"]


@settings(DB_SETTINGS, max_examples=60)
@given(data=st.data())
def test_only_the_cards_own_number_checks_as_valid(
    db: Session, register: dict[str, Any], data: st.DataObject
) -> None:
    number = register["card"].number
    symbols = number.replace("-", "")[2:]
    text = data.draw(st.text() | typed(symbols) | single_change(number))
    check = C.check_card_number(db, text, LATER)
    event(check.reason)
    assert check.reason in CARD_REASONS
    if C.normalise_card_number(text) == number:
        assert check.valid and check.card is register["card"]
    else:
        assert not check.valid and check.reason in {"mistyped", "unknown_card"}


# --- uploads ----------------------------------------------------------------------------------

UPLOAD_REASONS = frozenset(
    {
        "empty",
        "too_large",
        "type_not_allowed",
        "damaged",
        "encrypted",
        "active_content",
        "image_too_big",
        "archive_bomb",
        *PDF_REASONS,
    }
)
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    **dict(OOXML.values()),
    **ODF,
}
MAX_UPLOAD = 200_000


def _image(kind: str, mode: str = "RGB", size: tuple[int, int] = (12, 9)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 120, 80) if mode == "RGB" else None).save(out, kind)
    return out.getvalue()


@cache
def _sample_files() -> list[bytes]:
    odt = office(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"},
        zipfile.ZIP_STORED,
    )
    return [
        pdf_bytes(),
        pdf_bytes(b"/OpenAction << /S /JavaScript /JS (x) >>"),
        _image("JPEG"),
        _image("PNG"),
        _image("PNG", "RGBA"),
        _image("PNG", "P"),
        _image("WEBP"),
        _image("GIF"),
        office({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
        office({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}),
        odt,
        office({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "c": b"x"}),
        office({"../evil.txt": b"x"}),
    ]


uploads = st.one_of(
    st.sampled_from(_sample_files()),
    st.binary(max_size=300),
    st.sampled_from([b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04"]).flatmap(
        lambda magic: st.binary(max_size=300).map(lambda rest: magic + rest)
    ),
    st.sampled_from(_sample_files()).flatmap(byte_mutants),
)
file_names = st.text() | st.sampled_from(
    ["../../etc/passwd", "C:\\x\\cv.pdf", "a.pdf.exe", ".htaccess", "\u202egnp.pdf", ""]
)


@contextmanager
def _warnings_as_in_production() -> Iterator[None]:
    """The suite turns warnings into errors; Pillow warns (and goes on) about some damaged
    files, which the service only logs: these checks ignore warnings as the service does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _upload_outcome(data: bytes, name: str, limit: int = MAX_UPLOAD) -> CheckedFile | str:
    """The accepted file, or the reason of a refusal (checked to be a documented one)."""
    try:
        with _warnings_as_in_production():
            return check_upload(data, name, max_bytes=limit)
    except UploadRejected as error:
        reason, errors = error.params["reason"], error.errors
    assert reason in UPLOAD_REASONS and errors == {"file": [reason]}
    return str(reason)


def _content(outcome: CheckedFile | str) -> tuple[str, bytes] | str:
    return (outcome.media_type, outcome.data) if isinstance(outcome, CheckedFile) else outcome


def _assert_content_matches(media_type: str, original: bytes, stored: bytes) -> None:
    if media_type == "application/pdf":
        assert stored == original and b"%%EOF" in stored[-2048:]
        with pikepdf.open(io.BytesIO(stored)) as pdf:  # qpdf reads it, unencrypted
            assert not pdf.is_encrypted
    elif media_type.startswith("image/"):
        with Image.open(io.BytesIO(stored)) as image:
            image.load()
            assert image.format == media_type.removeprefix("image/").upper()
            assert not image.getexif()
    else:
        assert stored == original
        with zipfile.ZipFile(io.BytesIO(stored)) as archive:
            names = archive.namelist()
        if media_type in ODF:
            assert "mimetype" in names
        else:
            assert "[Content_Types].xml" in names


@settings(SETTINGS, max_examples=200)
@given(
    data=uploads, name=file_names, other_name=file_names, limit=st.sampled_from([MAX_UPLOAD, 99])
)
def test_uploads_are_accepted_by_content_or_refused_with_a_reason(
    data: bytes, name: str, other_name: str, limit: int
) -> None:
    """Any bytes under any name: accepted as an allowed type that the content really is (PDFs
    and office files kept as they are, images re-encoded without metadata) under a safe name
    with that type's extension, or refused with a documented reason."""
    outcome = _upload_outcome(data, name, limit)
    event(outcome.media_type if isinstance(outcome, CheckedFile) else outcome)
    if data and len(data) > limit:
        assert outcome == "too_large"
    if isinstance(outcome, CheckedFile):
        _assert_content_matches(outcome.media_type, data, outcome.data)
        filename = outcome.filename
        assert filename.endswith("." + EXTENSIONS[outcome.media_type])
        assert "/" not in filename and "\\" not in filename and not filename.startswith(".")
        assert all(unicodedata.category(ch)[0] != "C" for ch in filename)
    # The name claims nothing: another name, the same answer.
    assert _content(_upload_outcome(data, other_name, limit)) == _content(outcome)


# --- the card photo ---------------------------------------------------------------------------


PHOTOS = [_image("JPEG", size=(30, 40)), _image("PNG", "RGBA"), _image("WEBP"), _image("GIF")]
photos = st.one_of(
    st.sampled_from(PHOTOS), st.binary(max_size=200), st.sampled_from(PHOTOS).flatmap(byte_mutants)
)


@settings(DB_SETTINGS, max_examples=60)
@given(data=photos)
@example(data=b"")
def test_a_card_photo_is_re_encoded_or_refused(
    db: Session, register: dict[str, Any], data: bytes
) -> None:
    """Any bytes as the holder's photo: a 300x400 JPEG made from its pixels, or refused with
    ``photo_invalid`` (a JPEG or PNG only, anything else, damaged or not)."""
    card, storage = register["card"], register["storage"]
    card.photo_sha256 = None
    errors = None
    try:
        with _warnings_as_in_production():
            C.set_card_photo(db, storage, register["holder"], card, data, LATER)
    except InvalidInput as error:
        errors = error.errors
    event("refused" if errors else "re-encoded")
    if errors is not None:
        assert errors == {"photo": ["photo_invalid"]} and card.photo_sha256 is None
        return
    assert card.photo_sha256 is not None
    with Image.open(io.BytesIO(storage.get(card.photo_sha256))) as stored:
        assert (stored.format, stored.size) == ("JPEG", (300, 400))
