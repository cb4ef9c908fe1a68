"""W3C Verifiable Credentials 2.0 secured with Data Integrity proofs (cryptosuite
``eddsa-rdfc-2022``, W3C "Data Integrity EdDSA Cryptosuites v1.0"), and W3C Bitstring Status
List v1.0 helpers.

- JSON-LD contexts come only from the pinned copies in ``certification/certificates/contexts/`` (see
  its README): the loader never touches the network.
- Canonicalisation is RDFC-1.0 in "safe mode", as digitalbazaar's implementation runs it: a term
  that does not expand is an error, never silently left out of what is signed.
- :func:`verify_credential` never raises on bad input: every problem is a verdict with a stable
  reason code.

One module over 600 lines because strict parsing, the pinned JSON-LD loader, RDFC
canonicalisation and the proof are one pipeline that signing and verifying (credentials and
status lists alike) run in the same order.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import functools
import hashlib
import json
import math
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certification.errors import InvalidInput
from certification.keys.material import base58btc

VC_V2: Final = "https://www.w3.org/ns/credentials/v2"
OB_V3P0: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1: Final = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1: Final = "https://w3id.org/security/multikey/v1"

# URL -> file under certification/certificates/contexts/ (provenance and sha256 in its README.md).
PINNED_CONTEXTS: Final[dict[str, str]] = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3P0: "ob-v3p0-context-3.0.3.json",
    DID_V1: "did-v1.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}

#: The one inline context Attesta's credentials may carry, after the VC 2.0 and OB 3.0 ones
#: (issue 21): JSON-LD language maps for the texts a certificate states in Italian and English.
#: Open Badges 3.0's JSON schema requires ``name``, ``description``, ``narrative`` and
#: ``targetName`` to be strings, so they keep the Italian (the binding language, ``inLanguage``
#: "it"), and ``nameMap`` and the others carry ``{"it": ..., "en": ...}`` beside them: the same
#: properties (schema.org's and OB's IRIs), language-tagged, as VC 2.0 §11.1 allows. It is
#: accepted only exactly as written here, so it cannot redefine anything.
LANGUAGE_MAPS: Final[dict[str, Any]] = {
    "nameMap": {"@id": "https://schema.org/name", "@container": "@language"},
    "descriptionMap": {"@id": "https://schema.org/description", "@container": "@language"},
    "narrativeMap": {
        "@id": "https://purl.imsglobal.org/spec/vc/ob/vocab.html#narrative",
        "@container": "@language",
    },
    "targetNameMap": {"@id": "https://schema.org/targetName", "@container": "@language"},
}

PROOF_TYPE: Final = "DataIntegrityProof"
CRYPTOSUITE: Final = "eddsa-rdfc-2022"
PROOF_PURPOSE: Final = "assertionMethod"
# The proof members we issue; anything else in a proof is refused rather than trusted.
_PROOF_MEMBERS: Final = frozenset(
    {
        "@context",
        "type",
        "cryptosuite",
        "created",
        "verificationMethod",
        "proofPurpose",
        "proofValue",
    }
)

MAX_JSON_DEPTH: Final = 64
#: The largest integer every JSON reader keeps exactly: I-JSON's safe range, -(2**53 - 1) to
#: 2**53 - 1 (RFC 7493 §2.2). Beyond it a JavaScript verifier reads another number than we do.
MAX_SAFE_INTEGER: Final = 2**53 - 1

STATUS_LIST_BITS: Final = 131072  # the spec's minimum size: 16 KiB, herd privacy
# Refuse gzip bombs: 2 MiB is 16 million entries, far beyond any list we publish.
MAX_STATUS_LIST_BYTES: Final = 2 * 1024 * 1024
STATUS_PURPOSES: Final = frozenset({"revocation", "suspension"})

_XSD_DATETIME = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
_ABSOLUTE_IRI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*|_):\S*", re.ASCII)
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)

DocumentLoader = Callable[[str, Any], dict[str, Any]]


class CredentialError(InvalidInput):
    """A credential (or its JSON) is malformed; ``reason`` is a stable machine code."""

    code = "credential_invalid"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason, errors={"credential": [reason]}, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class CredentialCheck:
    """The verdict on a credential: ``reason`` is ``verified`` when ``ok``, a stable code
    otherwise."""

    ok: bool
    reason: str
    verification_method: str | None = None


# --- strict JSON ------------------------------------------------------------------------------


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise CredentialError("duplicate_key", "an object has the same key twice")
    return result


def _refuse_constant(name: str) -> Any:
    raise CredentialError("not_a_number", f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # 1e400 reads as infinity: Infinity in disguise, with no JSON form to compare or sign.
    number = float(text)
    if not math.isfinite(number):
        raise CredentialError("not_a_number", f"{text[:40]} is out of range")
    return number


def _safe_integer(text: str) -> int:
    number = int(text)  # past 4,300 digits int() raises ValueError: malformed_json
    if abs(number) > MAX_SAFE_INTEGER:
        raise CredentialError("integer_out_of_range", f"{text[:40]} is beyond ±(2**53 - 1)")
    return number


def _walk_json(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value with its nesting depth (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _containers(value: Any) -> Iterator[dict[str, Any] | list[Any]]:
    """Every object and array in ``value``, itself included (iterative, as :func:`_walk_json`,
    but without the depth and scalars canonicalisation's checks do not need)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            yield item
            stack.extend(item)


def parse_credential_json(data: bytes | str, *, max_bytes: int = 1_000_000) -> dict[str, Any]:
    """Strict JSON for credentials: a JSON object of at most ``max_bytes`` UTF-8 bytes, with no
    duplicate keys, NaN/Infinity (nor numbers too large for a float, such as 1e400), integers
    outside I-JSON's safe range ±(2**53 - 1), lone surrogates or nesting deeper than 64.

    Raises :class:`CredentialError` with reasons ``too_large``, ``invalid_utf8``,
    ``malformed_json``, ``duplicate_key``, ``not_a_number``, ``integer_out_of_range``,
    ``lone_surrogate``, ``too_deep``, ``not_an_object``.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise CredentialError("too_large", f"{size} bytes, at most {max_bytes}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialError("invalid_utf8", "not UTF-8") from None
    else:
        text = data
    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_safe_integer,
        )
    except RecursionError:
        raise CredentialError("too_deep", f"nested deeper than {MAX_JSON_DEPTH}") from None
    except ValueError as error:  # JSONDecodeError, and integers too long to convert
        raise CredentialError("malformed_json", str(error)[:200]) from None
    for item, depth in _walk_json(parsed):
        if depth > MAX_JSON_DEPTH and isinstance(item, dict | list):
            raise CredentialError("too_deep", f"nested deeper than {MAX_JSON_DEPTH}")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                # json accepts "\ud800" escapes; such a string has no UTF-8 form to sign.
                raise CredentialError("lone_surrogate", "a string has a lone surrogate") from None
    if not isinstance(parsed, dict):
        raise CredentialError("not_an_object", "the top level is not a JSON object")
    return parsed


# --- JSON-LD ----------------------------------------------------------------------------------


@functools.cache
def _pinned_text(filename: str) -> str:
    return (resources.files("certification.certificates") / "contexts" / filename).read_text(
        "utf-8"
    )


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """The JSON-LD document loader for pyld: serves only the pinned contexts, refuses
    anything else with :class:`CredentialError` (``context_not_allowed``). Never fetches."""
    filename = PINNED_CONTEXTS.get(url)
    if filename is None:
        raise CredentialError("context_not_allowed", f"not a pinned context: {url[:200]!r}")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(_pinned_text(filename)),
        "tag": "static",  # pyld may keep the processed context: it never changes
    }


# Contexts resolved through the pinned loader, kept apart from pyld's process-wide cache so
# that no other loader in the process can ever supply a context for one of our URLs.
_PINNED_RESOLVED: dict[str, Any] = {}


def _context_resolver(loader: DocumentLoader) -> Any:
    from pyld.context_resolver import ContextResolver  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return ContextResolver(_PINNED_RESOLVED if loader is document_loader else {}, loader)


def _check_contexts(document: dict[str, Any], loader: DocumentLoader) -> list[Any]:
    """The top-level contexts: URLs, each of which must load, and at most the one inline
    context :data:`LANGUAGE_MAPS`, compared whole. No other inline or nested context is allowed
    (an inline context could redefine terms outside what we pinned). No null either: JSON-LD
    drops it silently (and jsonld.js refuses a null id), so it cannot be part of what is signed.
    """
    contexts = document.get("@context")
    items = [contexts] if isinstance(contexts, str) else contexts
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(u, str) or u == LANGUAGE_MAPS for u in items)
    ):
        raise CredentialError("context_not_allowed", "@context must be a list of URLs")
    for url in items:
        if isinstance(url, str) and not (loader is document_loader and url in PINNED_CONTEXTS):
            loader(url, None)  # raises for anything not pinned
    for item in _containers({k: v for k, v in document.items() if k != "@context"}):
        if any(v is None for v in (item.values() if isinstance(item, dict) else item)):
            raise CredentialError("null_value", "a null value")
        if isinstance(item, dict) and "@context" in item:
            raise CredentialError("context_not_allowed", "a nested @context")
    return list(items)


def _refuse_dropped(expanded_property: str | None) -> None:
    raise CredentialError(
        "undefined_term", f"a property does not expand to an IRI: {expanded_property!r}"
    )


def _check_expanded(expanded: Any) -> None:
    """Safe mode's other half: an @id or @type that stayed relative would be dropped from the
    RDF (an undefined type, a misspelt proof purpose), so it is an error."""
    for item in _containers(expanded):
        if not isinstance(item, dict):
            continue
        if any(key.startswith("_:") for key in item):  # a blank node as predicate
            raise CredentialError("undefined_term", "a blank node used as a property")
        types = item.get("@type", [])
        for value in [item.get("@id"), *(types if isinstance(types, list) else [types])]:
            if isinstance(value, str) and value != "@json" and not _ABSOLUTE_IRI.fullmatch(value):
                raise CredentialError("undefined_term", f"not an absolute IRI: {value[:200]!r}")


def _credential_error_in(error: BaseException) -> CredentialError | None:
    """pyld wraps what the loader raised; find our own error in the chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, CredentialError):
            return seen
        nested = getattr(seen, "cause", None)
        seen = nested if isinstance(nested, BaseException) else seen.__cause__
    return None


#: How many processed contexts :func:`_pinned_expander` keeps before it starts afresh. A
#: certificate's credential needs about a dozen; the cap bounds what a document built to walk
#: many chains of scoped contexts (only pinned ones: see :func:`_check_contexts`) can make it hold.
_MAX_PROCESSED_CONTEXTS: Final = 256


@functools.cache
def _pinned_expander() -> Any:
    """The expander class for documents whose contexts are all pinned, defined on first use (it
    subclasses pyld's, heavy to import).

    pyld keeps a processed context keyed by the identity (``_uuid``) of the context it was
    applied to, but a type-scoped context (``OpenBadgeCredential``, ``Achievement``, ...) is
    applied to a fresh copy of that context with a fresh identity, every time: so it processed
    each of them again for every document, ~80 term definitions per canonicalisation and half
    of its cost (issue 22). Here the result is kept by what decides it: the identity of the
    (immutable, cached) context it is applied to, the very local context object (a term's
    scoped context, which lives in the pinned contexts' cached definitions) or URL, and the
    flags. Only what pyld itself froze is kept, never a context still being built; a call that
    pyld refused is not kept either, so it is refused again.
    """
    from frozendict import frozendict  # noqa: PLC0415 - pyld's dependency, imported with it
    from pyld import jsonld  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    processed: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    class PinnedExpander(jsonld.JsonLdProcessor):
        def _process_context(
            self,
            active_ctx: Any,
            local_ctx: Any,
            options: Any,
            override_protected: bool = False,
            propagate: bool = True,
            validate_scoped: bool = True,
            cycles: Any = None,
        ) -> Any:
            def process() -> Any:
                return super(PinnedExpander, self)._process_context(
                    active_ctx,
                    local_ctx,
                    options,
                    override_protected,
                    propagate,
                    validate_scoped,
                    cycles,
                )

            if cycles or not isinstance(active_ctx, frozendict) or isinstance(local_ctx, list):
                return process()  # a context being built, or a document's own (pyld's cache)
            key = (
                active_ctx["_uuid"],
                local_ctx if isinstance(local_ctx, str) else id(local_ctx),
                override_protected,
                propagate,
                validate_scoped,
                options.get("base"),
                options.get("processingMode"),
            )
            kept = processed.get(key)
            # An object's id is unique only while it lives: the entry holds the object itself.
            if kept is not None and (isinstance(local_ctx, str) or kept[0] is local_ctx):
                return kept[1]
            result = process()
            if isinstance(result, frozendict):
                if len(processed) >= _MAX_PROCESSED_CONTEXTS:
                    processed.clear()
                processed[key] = (local_ctx, result)
            return result

    return PinnedExpander


@functools.cache
def _normaliser() -> Any:
    """The normaliser class, defined on first use: it subclasses pyld's, heavy to import."""
    from pyld import jsonld  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    class Normaliser(jsonld.JsonLdProcessor):
        """Normalises a document :func:`canonicalize` has already expanded and checked: pyld's
        ``to_rdf`` would expand it a second time (a fifth of the canonicalisation's cost)."""

        def expand(self, input_: Any, options: Any) -> Any:
            return input_

    return Normaliser


def canonicalize(document: dict[str, Any], *, loader: DocumentLoader = document_loader) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, in safe mode.

    Raises :class:`CredentialError`: ``context_not_allowed`` (a context that is not pinned, or
    inline), ``undefined_term`` (a property or type that does not expand), ``null_value``,
    ``malformed`` (anything else JSON-LD refuses).
    """
    from pyld import jsonld  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    _check_contexts(document, loader)
    options = {
        "documentLoader": loader,
        "contextResolver": _context_resolver(loader),
        "processingMode": "json-ld-1.1",
        # No base IRI (pyld's default is http://example.org/base/): a relative IRI must stay
        # relative so that the check below refuses it, as jsonld.js does with base null.
        "base": None,
    }
    try:
        expander = _pinned_expander() if loader is document_loader else jsonld.JsonLdProcessor
        expanded = expander(on_property_dropped=_refuse_dropped).expand(document, dict(options))
        _check_expanded(expanded)
        canonical = _normaliser()().normalize(
            expanded,
            {
                **options,
                "algorithm": "URDNA2015",  # = RDFC-1.0 with SHA-256
                "format": "application/n-quads",
                "rdfDirection": "i18n-datatype",  # as digitalbazaar's cryptosuite
            },
        )
    except jsonld.JsonLdError as error:
        raise _credential_error_in(error) or CredentialError(
            "malformed", str(error)[:200]
        ) from None
    if not isinstance(canonical, str):
        raise CredentialError("malformed", "canonicalisation gave no N-Quads")
    return canonical


# --- Data Integrity proofs (eddsa-rdfc-2022) --------------------------------------------------


def _xml_datetime(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime: give it a timezone")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _B58_ALPHABET.find(char)
        if digit < 0:
            raise ValueError("not base58btc")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _controller_of(verification_method: str) -> str | None:
    controller, hash_sign, fragment = verification_method.partition("#")
    return controller if hash_sign and fragment else None


def _check_credential_shape(credential: dict[str, Any], verification_method: str) -> None:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2:
        raise CredentialError("context_not_allowed", f"the first @context must be {VC_V2}")
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise CredentialError("malformed", "type must list VerifiableCredential")
    # The key's controller must be the issuer (digitalbazaar's verifier checks the same).
    if _controller_of(verification_method) != _issuer_id(credential):
        raise CredentialError("issuer_mismatch", "the key's controller is not the issuer")


def _hash_data(
    unsecured: dict[str, Any], proof_options: dict[str, Any], loader: DocumentLoader
) -> bytes:
    """The spec's Hashing step: sha256(canonical proof configuration) || sha256(canonical
    document), the proof configuration carrying the document's @context."""
    proof_config = {**proof_options, "@context": unsecured["@context"]}
    proof_config.pop("proofValue", None)
    canonical_config = canonicalize(proof_config, loader=loader)
    canonical_document = canonicalize(unsecured, loader=loader)
    return (
        hashlib.sha256(canonical_config.encode()).digest()
        + hashlib.sha256(canonical_document.encode()).digest()
    )


def sign_credential(
    credential: dict[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: dt.datetime,
    *,
    loader: DocumentLoader = document_loader,
) -> dict[str, Any]:
    """A new dict: ``credential`` with an ``eddsa-rdfc-2022`` DataIntegrityProof.

    ``verification_method`` is ``{issuer id}#{kid}``; ``created`` is written in UTC to the
    second. Raises :class:`CredentialError` (``already_signed``, ``context_not_allowed``,
    ``issuer_mismatch``, ``undefined_term``, ``null_value``, ``malformed``).
    """
    signing = prepare_signing(credential, verification_method, created)
    return signing.finish(private_key, signing_hash(signing, loader=loader))


@dataclass(frozen=True)
class Signing:
    """A credential on its way to a proof: checked, and its proof options chosen. Its hash
    (:func:`signing_hash`, the costly canonicalisation, no key needed) may be computed in
    another process; :meth:`finish` signs that hash with the key."""

    unsecured: dict[str, Any]
    proof: dict[str, Any]

    def finish(self, private_key: Ed25519PrivateKey, hash_data: bytes) -> dict[str, Any]:
        """The secured credential: the proof with the Ed25519 signature of ``hash_data``."""
        signature = private_key.sign(hash_data)
        return {**self.unsecured, "proof": {**self.proof, "proofValue": "z" + base58btc(signature)}}


def prepare_signing(
    credential: dict[str, Any], verification_method: str, created: dt.datetime
) -> Signing:
    """Check ``credential`` can be signed (see :func:`sign_credential`) and fix its proof."""
    if "proof" in credential:
        raise CredentialError("already_signed", "the credential already has a proof")
    _check_credential_shape(credential, verification_method)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _xml_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    return Signing(copy.deepcopy(credential), proof)


def signing_hash(signing: Signing, *, loader: DocumentLoader = document_loader) -> bytes:
    """What the proof signs (the spec's Hashing step, both canonicalisations)."""
    return _hash_data(signing.unsecured, signing.proof, loader)


def _is_object(value: object) -> bool:
    return isinstance(value, dict)


def _split_proof(
    credential: dict[str, Any], loader: DocumentLoader
) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(proof options, unsecured document, signature) of a secured credential, after every
    check that needs no key; :class:`CredentialError` otherwise."""
    if not _is_object(credential):
        raise CredentialError("malformed", "not a JSON object")
    proof = credential.get("proof")
    if proof is None or proof == []:
        raise CredentialError("no_proof", "no proof")
    if isinstance(proof, list):
        # A proof set, even of one: we issue exactly one proof and accept nothing else.
        raise CredentialError("multiple_proofs", "a list of proofs")
    if not _is_object(proof):
        raise CredentialError("proof_malformed", "the proof is not an object")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError("unsupported_cryptosuite", "not a DataIntegrityProof/eddsa-rdfc-2022")
    if not set(proof) <= _PROOF_MEMBERS:
        raise CredentialError(
            "proof_malformed", f"unexpected members {sorted(set(proof) - _PROOF_MEMBERS)}"
        )
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise CredentialError("wrong_proof_purpose", "proofPurpose must be assertionMethod")
    method, created, value = (proof.get(k) for k in ("verificationMethod", "created", "proofValue"))
    if not isinstance(method, str) or _controller_of(method) is None:
        raise CredentialError("proof_malformed", "verificationMethod is not a key URL")
    if not isinstance(created, str) or not _XSD_DATETIME.fullmatch(created):
        raise CredentialError("proof_malformed", "created is not an XML Schema dateTime")
    try:
        dt.datetime.fromisoformat(created)
    except ValueError:
        raise CredentialError("proof_malformed", "created is not a valid date") from None
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError("proof_malformed", "proofValue is not multibase base58btc")
    try:
        signature = _base58btc_decode(value[1:])
    except ValueError:
        raise CredentialError("proof_malformed", "proofValue is not base58btc") from None
    if len(signature) != 64:
        raise CredentialError("proof_malformed", "proofValue is not an Ed25519 signature")
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    document_contexts = _check_contexts(unsecured, loader)
    if "@context" in proof:
        # Verify Proof step 4: the document's @context must start with the proof's.
        proof_contexts = proof["@context"]
        proof_contexts = [proof_contexts] if isinstance(proof_contexts, str) else proof_contexts
        if (
            not isinstance(proof_contexts, list)
            or document_contexts[: len(proof_contexts)] != proof_contexts
        ):
            raise CredentialError("context_not_allowed", "the proof's @context does not match")
        unsecured["@context"] = proof_contexts
    _check_credential_shape(credential, method)
    options = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
    return options, unsecured, signature


def verify_credential(
    credential: dict[str, Any],
    resolve_key: Callable[[str], Ed25519PublicKey | None],
    *,
    loader: DocumentLoader = document_loader,
) -> CredentialCheck:
    """Check the credential's one ``eddsa-rdfc-2022`` proof.

    ``resolve_key`` receives the verificationMethod URL and returns the public key only if it
    is one of ours (a key carried inside the document is never used). Never raises on bad
    input; reasons: ``verified``, ``malformed``, ``no_proof``, ``multiple_proofs``,
    ``proof_malformed``, ``unsupported_cryptosuite``, ``wrong_proof_purpose``,
    ``context_not_allowed``, ``issuer_mismatch``, ``unknown_key``, ``undefined_term``,
    ``null_value``, ``bad_signature``.
    """
    try:
        options, unsecured, signature = _split_proof(credential, loader)
    except CredentialError as error:
        return CredentialCheck(False, error.reason)
    except Exception:  # fail closed on input no check above foresaw
        return CredentialCheck(False, "malformed")
    method: str = options["verificationMethod"]
    key = resolve_key(method)  # the caller's failures (its database) are not verdicts
    if key is None:
        return CredentialCheck(False, "unknown_key", method)
    try:
        hash_data = _hash_data(unsecured, options, loader)
    except CredentialError as error:
        return CredentialCheck(False, error.reason, method)
    except Exception:  # pyld on input it does not expect: a verdict, never a crash
        return CredentialCheck(False, "malformed", method)
    try:
        key.verify(signature, hash_data)
    except InvalidSignature:
        return CredentialCheck(False, "bad_signature", method)
    return CredentialCheck(True, "verified", method)


# --- Bitstring Status List v1.0 ---------------------------------------------------------------


# GZIP member header with no name, mtime 0 and OS "Unix", as pako (digitalbazaar's encoder)
# writes it: the same list always encodes the same way, and like the reference implementation.
_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


def encode_bitstring(bits: bytes | bytearray) -> str:
    """``encodedList``: multibase base64url (``u``, no padding) of the GZIP-compressed bits."""
    data = bytes(bits)
    deflater = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, zlib's default
    body = deflater.compress(data) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    compressed = _GZIP_HEADER + body + trailer
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_bitstring(encoded: str) -> bytes:
    """The bits of an ``encodedList``; :class:`CredentialError` (``status_list_malformed``,
    ``status_list_too_large``) for anything but one well-formed GZIP member of at most
    ``MAX_STATUS_LIST_BYTES``."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise CredentialError("status_list_malformed", "encodedList must start with 'u'")
    body = encoded[1:]
    if len(body) > MAX_STATUS_LIST_BYTES or not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
        raise CredentialError("status_list_malformed", "encodedList is not base64url")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise CredentialError("status_list_malformed", "encodedList is not base64url") from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        bits = inflater.decompress(compressed, MAX_STATUS_LIST_BYTES + 1)
    except zlib.error:
        raise CredentialError("status_list_malformed", "encodedList is not GZIP") from None
    if len(bits) > MAX_STATUS_LIST_BYTES:
        raise CredentialError("status_list_too_large", "the list inflates past the cap")
    if not inflater.eof or inflater.unused_data:
        raise CredentialError("status_list_malformed", "truncated or trailing GZIP data")
    return bits


def _bit_position(bits: bytes | bytearray, index: int) -> tuple[int, int]:
    if not 0 <= index < len(bits) * 8:
        raise IndexError(f"status index {index} outside a list of {len(bits) * 8}")
    # Bit 0 is the left-most (most significant) bit of byte 0.
    return index // 8, 0x80 >> (index % 8)


def set_bit(bits: bytearray, index: int, value: bool) -> None:
    """Set or clear the status at ``index``."""
    byte, mask = _bit_position(bits, index)
    bits[byte] = bits[byte] | mask if value else bits[byte] & ~mask


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    """Whether the status at ``index`` is set."""
    byte, mask = _bit_position(bits, index)
    return bool(bits[byte] & mask)


def _check_purpose(purpose: str) -> None:
    if purpose not in STATUS_PURPOSES:
        raise CredentialError("unsupported_status_purpose", f"statusPurpose {purpose!r}")


def status_list_credential(
    list_url: str,
    issuer: dict[str, Any] | str,
    purpose: str,
    bits: bytes | bytearray,
    valid_from: dt.datetime,
) -> dict[str, Any]:
    """An unsigned BitstringStatusListCredential for ``bits`` (sign it with
    :func:`sign_credential`). Its context is VC 2.0 alone: an ``issuer`` object may use only
    VC 2.0 terms (``id``, ``name``, ``description``); the issuer id is the simple choice."""
    _check_purpose(purpose)
    if len(bits) * 8 < STATUS_LIST_BITS:
        raise CredentialError("status_list_too_small", f"at least {STATUS_LIST_BITS} entries")
    return {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _xml_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_bitstring(bits),
        },
    }


def status_entry(list_url: str, purpose: str, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` entry pointing at ``index`` of the list at ``list_url``."""
    _check_purpose(purpose)
    if not 0 <= index < MAX_STATUS_LIST_BYTES * 8:
        raise IndexError(f"status index {index} out of range")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),  # a string, as the spec defines it
        "statusListCredential": list_url,
    }
