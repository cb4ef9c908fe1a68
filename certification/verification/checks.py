"""Verifying certificates for employers and other third parties (security.md §1.8, §2, §3.11).

A verification answers five questions apart and then gives one verdict:

- ``found``: is the certificate in the register (by its code, the file's hash, or the id of a
  credential whose proof holds)?
- ``signature``: are the seal (PDF) or proof (credential) intact and made by the ente's key from
  *our* registry, a key that was active and not compromised when it signed?
- ``identical``: is the submitted file byte for byte (PDF) or member for member (credential)
  what was issued?
- ``status``: active, or revoked / suspended / superseded (read live from the register);
- ``validity``: within its validity period?

The verdict is VALID only when every answer is good, INDETERMINATE when one could not be
determined (try again later; or a seal whose certificate has expired with nothing to prove it
was made before), NOT_VALID otherwise, with the first failing reason. What is
shown about a certificate comes from the register
(:func:`certification.verification.public.public_view`), never from the file.
Nothing here raises on bad input: every failure is a verdict with a stable code.

One module over 600 lines because the three ways in (code, PDF, credential JSON) answer the same
five dimensions from the same register facts and compose one verdict; the log of checks is
written here too, with the result it records.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple, Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from certification.certificates.credentials import (
    CredentialCheck,
    CredentialError,
    parse_credential_json,
    verify_credential,
)
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.certificates.production import CREDENTIAL_FILE_NAME, verification_method
from certification.certificates.sealing import SealCheck
from certification.models import (
    Certificate,
    CertificatePdfVersion,
    CertificateStatus,
    Consent,
    ConsentPurpose,
    KeyPurpose,
    SigningKey,
    VerificationChannel,
    VerificationCount,
    VerificationLog,
)
from certification.numbering.codes import Mistyped, read_code
from certification.storage.blobs import BlobStorage
from certification.verification.public import PUBLIC_CONSENTS, live_consents

#: Uploads larger than this are refused before anything parses them.
MAX_PDF_BYTES: Final = 10 * 2**20
MAX_JSON_BYTES: Final = 1_000_000


class Verdict(enum.StrEnum):
    VALID = "valid"
    NOT_VALID = "not_valid"
    INDETERMINATE = "indeterminate"


class Method(enum.StrEnum):
    CODE = "code"
    PDF = "pdf"
    JSON = "json"
    FILE = "file"  # an upload that is neither
    SD_JWT = "sd-jwt"  # a wallet's presentation (OpenID4VP), certification.wallet.requests


class Outcome(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


#: The reason of a code whose check character is wrong (a typing mistake, never looked up).
MISTYPED: Final = "mistyped"
#: Dimension names in the order they are shown.
DIMENSIONS: Final = ("found", "signature", "identical", "status", "validity")
#: The order in which failures become the verdict's reason: the most telling first.
_REASON_ORDER: Final = ("signature", "identical", "found", "status", "validity")


@dataclass(frozen=True)
class Dimension:
    """One answer: ``state`` is a stable code (e.g. ``revoked``), ``detail`` a finer one."""

    name: str
    state: str
    outcome: Outcome
    detail: str | None = None


@dataclass(frozen=True)
class Verification:
    """The verdict, its five dimensions, and the register's certificate when one was found."""

    method: Method
    verdict: Verdict
    reason: str
    dimensions: tuple[Dimension, ...]
    certificate: Certificate | None = field(default=None, compare=False)
    #: The holder's public-check choices, read with the certificate (see
    #: :func:`certification.verification.public.public_view`).
    consents: frozenset[ConsentPurpose] = field(default=frozenset(), compare=False)

    def dimension(self, name: str) -> Dimension:
        return next(d for d in self.dimensions if d.name == name)


class SealCheckerLike(Protocol):
    def check(
        self,
        pdf: bytes,
        roots: Sequence[str],
        *,
        attachment: str | None = None,
        now: dt.datetime | None = None,
    ) -> SealCheck: ...


@runtime_checkable
class ProofCheckerLike(Protocol):
    """Runs :func:`verify_with_key` elsewhere (the upload pool's limited children)."""

    def verify_proof(
        self, credential: dict[str, Any], method: str | None, public_key_pem: str | None
    ) -> CredentialCheck: ...


def _verdict(
    method: Method, dimensions: dict[str, Dimension], record: _Record | None
) -> Verification:
    ordered = tuple(
        dimensions.get(name) or Dimension(name, "not_checked", Outcome.NOT_APPLICABLE)
        for name in DIMENSIONS
    )
    by_name = {d.name: d for d in ordered}
    found = (record.certificate, record.consents) if record else (None, frozenset())
    for wanted, verdict in (
        (Outcome.FAIL, Verdict.NOT_VALID),
        (Outcome.UNKNOWN, Verdict.INDETERMINATE),
    ):
        for name in _REASON_ORDER:
            if by_name[name].outcome == wanted:
                return Verification(method, verdict, by_name[name].state, ordered, *found)
    return Verification(method, Verdict.VALID, "valid", ordered, *found)


def _refused(method: Method, state: str, detail: str | None = None) -> Verification:
    return _verdict(
        method, {"signature": Dimension("signature", state, Outcome.FAIL, detail)}, None
    )


def _not_found(method: Method, signature: Dimension | None = None) -> Verification:
    dimensions = {"found": Dimension("found", "not_found", Outcome.FAIL)}
    if signature is not None:
        dimensions["signature"] = signature
    return _verdict(method, dimensions, None)


# --- what the register says -------------------------------------------------------------------


class _KeyFacts(NamedTuple):
    """What the register says of a signing key, as of now."""

    kid: str | None
    organisation_id: uuid.UUID | None
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None
    compromised_at: dt.datetime | None


@dataclass(frozen=True)
class _Record:
    """A public certificate with everything its verification reads beside it."""

    certificate: Certificate
    keys: tuple[_KeyFacts, _KeyFacts]  # the seal's, the credential's
    consents: frozenset[ConsentPurpose]


def with_register_facts(statement: Select[*tuple[Any, ...]]) -> Select[Any]:
    """``statement`` (of certificates) with what a check reads beside each certificate, after
    its own columns: the facts of the seal's and the credential's key (:class:`_KeyFacts`),
    then whether the holder gave each of the public consents (``PUBLIC_CONSENTS``). One
    statement instead of four: verification by code is the public hot path. Read the added
    columns back with :func:`register_facts`."""
    seal, credential = aliased(SigningKey), aliased(SigningKey)

    def key_columns(key: Any) -> tuple[Any, ...]:
        return tuple(getattr(key, name) for name in _KeyFacts._fields)

    def consented(purpose: ConsentPurpose) -> Any:
        return (
            select(Consent.id)
            .where(
                *live_consents(Certificate.holder_person_id, Certificate.case_id),
                Consent.purpose == purpose,
            )
            .exists()
        )

    return (
        statement.add_columns(
            *key_columns(seal),
            *key_columns(credential),
            *(consented(purpose) for purpose in PUBLIC_CONSENTS),
        )
        .outerjoin(seal, seal.kid == Certificate.seal_kid)
        .outerjoin(credential, credential.kid == Certificate.credential_kid)
    )


#: How many columns :func:`with_register_facts` adds.
REGISTER_FACTS_WIDTH: Final = 2 * len(_KeyFacts._fields) + len(PUBLIC_CONSENTS)


def register_facts(
    columns: Sequence[Any],
) -> tuple[tuple[_KeyFacts, _KeyFacts], frozenset[ConsentPurpose]]:
    """The keys' facts (the seal's, the credential's) and the public consents given, from the
    values of the columns that :func:`with_register_facts` added."""
    width = len(_KeyFacts._fields)
    given = columns[2 * width : REGISTER_FACTS_WIDTH]
    return (
        (_KeyFacts(*columns[:width]), _KeyFacts(*columns[width : 2 * width])),
        frozenset(p for p, yes in zip(PUBLIC_CONSENTS, given, strict=True) if yes),
    )


@functools.cache
def _record_by(key: Literal["code", "pdf", "id"]) -> Select[Any]:
    """The statement finding a public certificate by code, PDF digest or id, built once, on
    first use: building it configures every mapper, a few tenths of a second that a command
    which never verifies need not pay (startup time, issue 20)."""
    column = {
        "code": Certificate.verification_code,
        "pdf": Certificate.pdf_sha256,
        "id": Certificate.id,
    }[key]
    return with_register_facts(select(Certificate)).where(column == bindparam("value"))


def _record(session: Session, statement: Select[Any], value: object) -> _Record | None:
    """The public certificate that ``statement`` finds by ``value``, with its register facts."""
    row = session.execute(statement, {"value": value}).first()
    if row is None or row[0].status not in PUBLIC_STATES:
        return None
    keys, consents = register_facts(row[1:])
    return _Record(certificate=row[0], keys=keys, consents=consents)


def _key_state(
    keys: tuple[_KeyFacts, ...], organisation_id: uuid.UUID, signed_at: dt.datetime
) -> Dimension:
    """Were the keys that sealed and signed the certificate ours, active and not compromised
    at that moment (by the register's clock)? A key compromised later leaves earlier
    certificates valid: the register proves when they were made."""
    for key in keys:
        if key.kid is None or key.organisation_id != organisation_id:
            return Dimension("signature", "untrusted_issuer", Outcome.FAIL, "unknown_key")
        if key.compromised_at is not None and key.compromised_at <= signed_at:
            return Dimension("signature", "key_compromised", Outcome.FAIL)
        if (key.activated_at is None or key.activated_at > signed_at) or (
            key.retired_at and key.retired_at < signed_at
        ):
            return Dimension("signature", "key_not_active", Outcome.FAIL)
    return Dimension("signature", "valid", Outcome.PASS)


_STATUS: Final = {
    CertificateStatus.ISSUED: ("active", Outcome.PASS),
    CertificateStatus.REVOKED: ("revoked", Outcome.FAIL),
    CertificateStatus.SUSPENDED: ("suspended", Outcome.FAIL),
    CertificateStatus.SUPERSEDED: ("superseded", Outcome.FAIL),
}


def _register_dimensions(record: _Record, now: dt.datetime) -> dict[str, Dimension]:
    c = record.certificate
    return register_dimensions(
        RegisterFacts(c.status, c.content, c.issued_at, c.completed_at, c.organisation_id),
        record.keys,
        now,
    )


class RegisterFacts(NamedTuple):
    """What the register's dimensions read of a certificate (an ORM row's or plain columns)."""

    status: CertificateStatus
    content: Any
    issued_at: dt.datetime
    completed_at: dt.datetime | None
    organisation_id: uuid.UUID


def register_dimensions(
    facts: RegisterFacts, keys: tuple[_KeyFacts, ...], now: dt.datetime
) -> dict[str, Dimension]:
    """found, signature (the keys), status and validity of a certificate in the register."""
    state, outcome = _STATUS.get(facts.status, ("unknown", Outcome.UNKNOWN))
    valid_until = facts.content.get("valid_until")
    if facts.issued_at > now:
        validity = Dimension("validity", "not_yet_valid", Outcome.FAIL)
    elif valid_until and dt.date.fromisoformat(valid_until) < now.date():
        validity = Dimension("validity", "expired", Outcome.FAIL)
    else:
        validity = Dimension("validity", "current", Outcome.PASS)
    signed_at = facts.completed_at or facts.issued_at
    return {
        "found": Dimension("found", "found", Outcome.PASS),
        "signature": _key_state(keys, facts.organisation_id, signed_at),
        "status": Dimension("status", state, outcome),
        "validity": validity,
    }


def _mistyped() -> Verification:
    # Never looked up: the check character says the code was not typed as printed.
    return _verdict(Method.CODE, {"found": Dimension("found", MISTYPED, Outcome.FAIL)}, None)


def verify_code(session: Session, code: str, now: dt.datetime) -> Verification:
    """Verify by the code printed on the certificate (or in its QR code): the register's own
    record, so ``identical`` does not apply. A new-format code whose check character is wrong
    is not looked up: its verdict's reason is ``mistyped``."""
    normal = read_code(code)
    if isinstance(normal, Mistyped):
        return _mistyped()
    record = _record(session, _record_by("code"), normal) if normal is not None else None
    if record is None:
        return _not_found(Method.CODE)
    dimensions = _register_dimensions(record, now)
    dimensions["identical"] = Dimension("identical", "register_record", Outcome.NOT_APPLICABLE)
    return _verdict(Method.CODE, dimensions, record)


def trusted_roots(session: Session) -> list[str]:
    """Our root CA certificates (PEM) that were never compromised: the only trust anchors."""
    keys = session.scalars(
        select(SigningKey).where(
            SigningKey.purpose == KeyPurpose.ROOT_CA, SigningKey.compromised_at.is_(None)
        )
    )
    return [key.certificate_pem for key in keys if key.certificate_pem]


_SEAL_STATES: Final = {
    "not_intact": "invalid_signature",
    "not_trusted": "untrusted_issuer",
    "not_entire_file": "modified_after_sealing",
    "no_attachment": "no_credential",
}


def _seal_dimension(check: SealCheck) -> Dimension:
    if check.reason == "signature_count":
        state = "no_seal" if check.signatures == 0 else "extra_signature"
        return Dimension("signature", state, Outcome.FAIL, f"signatures:{check.signatures}")
    if check.reason.startswith("malformed"):
        return Dimension("signature", "malformed", Outcome.FAIL, check.reason.partition(":")[2])
    return Dimension("signature", _SEAL_STATES.get(check.reason, "invalid_signature"), Outcome.FAIL)


def _sealed_after_compromise(session: Session, check: SealCheck) -> Dimension | None:
    """A good seal whose key the register says was compromised before the seal was made (by
    its signature time-stamp; without one, nothing proves it was made before, so any
    compromise counts): the key_compromised failure, else None."""
    key = session.get(SigningKey, check.signer_kid) if check.signer_kid else None
    if key is None or key.compromised_at is None:
        return None
    compromised_at = key.compromised_at.replace(tzinfo=key.compromised_at.tzinfo or dt.UTC)
    if check.signed_at is not None and check.signed_at < compromised_at:
        return None
    return Dimension("signature", "key_compromised", Outcome.FAIL)


def _record_of_credential(session: Session, credential: dict[str, Any]) -> _Record | None:
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id.startswith("urn:uuid:"):
        return None
    try:
        certificate_id = uuid.UUID(credential_id.removeprefix("urn:uuid:"))
    except ValueError:
        return None
    return _record(session, _record_by("id"), certificate_id)


def verify_pdf(
    session: Session, data: bytes, checker: SealCheckerLike, now: dt.datetime
) -> Verification:
    """Verify an uploaded PDF: its hash against the register first; otherwise its seal in a
    limited child process and the credential inside it, to say what was changed."""
    if len(data) > MAX_PDF_BYTES:
        return _refused(Method.PDF, "too_large")
    if not data.startswith(b"%PDF-"):
        return _refused(Method.PDF, "not_a_pdf")
    digest = hashlib.sha256(data).hexdigest()
    record = _record(session, _record_by("pdf"), digest)
    if record is None:
        # An earlier version we served (before a document time-stamp renewal): the same file.
        earlier = session.get(CertificatePdfVersion, digest)
        if earlier is not None:
            record = _record(session, _record_by("id"), earlier.certificate_id)
    if record is not None:
        dimensions = _register_dimensions(record, now)
        dimensions["identical"] = Dimension("identical", "identical", Outcome.PASS)
        return _verdict(Method.PDF, dimensions, record)
    # Not what we issued. Say why: a broken or foreign seal, or one of ours changed since.
    check = checker.check(data, trusted_roots(session), attachment=CREDENTIAL_FILE_NAME, now=now)
    if check.reason == "busy":  # nothing is known yet: try again later
        busy = {n: Dimension(n, "busy", Outcome.UNKNOWN) for n in ("found", "signature")}
        return _verdict(Method.PDF, busy, None)
    if check.reason == "expired":
        # Our seal, intact, but its certificate has expired and nothing proves it sealed the
        # file before (no time-stamp; these bytes are not in the register, which would).
        # Neither good nor forged: indeterminate, and nothing from the register.
        expired = Dimension("signature", "seal_expired", Outcome.UNKNOWN, "no_proof_of_existence")
        return _verdict(Method.PDF, {"signature": expired}, None)
    if not check.ok or check.attachment is None:
        return _not_found(Method.PDF, _seal_dimension(check))
    compromised = _sealed_after_compromise(session, check)
    if compromised is not None:
        return _not_found(Method.PDF, compromised)
    try:
        credential = parse_credential_json(check.attachment)
    except CredentialError as error:
        return _not_found(
            Method.PDF, Dimension("signature", "malformed", Outcome.FAIL, error.reason)
        )
    record = _record_of_credential(session, credential)
    if record is None or hashlib.sha256(check.attachment).hexdigest() != (
        record.certificate.credential_sha256
    ):
        # Sealed with a key under our root, but carrying no credential we issued.
        return _not_found(Method.PDF, Dimension("signature", "valid", Outcome.PASS))
    # Our seal around the credential we issued, yet not the bytes we issued (a later change
    # the seal does not cover, such as its own unsigned padding): say so, and show nothing of
    # the register. Only the exact file, its code or its credential with a valid proof do.
    signature = (
        Dimension("signature", "valid", Outcome.PASS)
        if check.signer_kid == record.certificate.seal_kid
        else Dimension("signature", "untrusted_issuer", Outcome.FAIL, "seal_key")
    )
    return _verdict(
        Method.PDF,
        {
            "found": Dimension("found", "not_found", Outcome.FAIL),
            "signature": signature,
            "identical": Dimension("identical", "modified", Outcome.FAIL),
        },
        None,
    )


_PROOF_STATES: Final = {
    "unknown_key": "untrusted_issuer",
    "issuer_mismatch": "untrusted_issuer",
    "bad_signature": "invalid_signature",
    "no_proof": "no_signature",
    "multiple_proofs": "invalid_signature",
    "proof_malformed": "invalid_signature",
    "unsupported_cryptosuite": "invalid_signature",
    "wrong_proof_purpose": "invalid_signature",
}


def verify_with_key(
    credential: dict[str, Any], method: str | None, public_key_pem: str | None
) -> CredentialCheck:
    """The credential's proof checked with the one key ``public_key_pem`` (PEM, Ed25519), and
    only if the proof names it as ``method``; picklable, so it can run in a child process."""
    public = (
        serialization.load_pem_public_key(public_key_pem.encode())
        if public_key_pem is not None
        else None
    )

    def resolve(named: str) -> ed25519.Ed25519PublicKey | None:
        if method is None or named != method or not isinstance(public, ed25519.Ed25519PublicKey):
            return None
        return public

    return verify_credential(credential, resolve)


def verify_credential_json(
    session: Session,
    storage: BlobStorage,
    data: bytes,
    now: dt.datetime,
    *,
    proofs: ProofCheckerLike | None = None,
) -> Verification:
    """Verify an Open Badges credential (JSON): strictly parsed, its proof checked with the one
    key the register says signed that certificate (never a key the document names), then
    compared member for member with the credential as issued. ``proofs`` checks the proof
    elsewhere (a limited child process); without it, here."""
    if len(data) > MAX_JSON_BYTES:
        return _refused(Method.JSON, "too_large")
    try:
        credential = parse_credential_json(data, max_bytes=MAX_JSON_BYTES)
    except CredentialError as error:
        return _refused(Method.JSON, "malformed", error.reason)
    record = _record_of_credential(session, credential)
    certificate = record.certificate if record is not None else None
    key = (
        session.get(SigningKey, certificate.credential_kid)
        if certificate is not None and certificate.credential_kid
        else None
    )
    pinned = (
        verification_method(
            certificate.content["base_url"], str(certificate.organisation_id), key.kid
        )
        if certificate is not None and key is not None
        else None
    )
    public_pem = key.public_key_pem if key is not None else None
    proof = (
        proofs.verify_proof(credential, pinned, public_pem)
        if proofs is not None
        else verify_with_key(credential, pinned, public_pem)
    )
    if record is None or certificate is None or not proof.ok:
        # The id alone proves nothing: a credential names its certificate only if the proof
        # holds with the register's key for it. Every other failure gets the answer of an
        # unknown id, so nothing tells whether the id exists; what the document shows by
        # itself (no proof, a malformed one: found before any key is looked up) is said alike.
        if proof.verification_method is None and not proof.ok:
            state = _PROOF_STATES.get(proof.reason, "malformed")
            return _not_found(
                Method.JSON, Dimension("signature", state, Outcome.FAIL, proof.reason)
            )
        return _not_found(Method.JSON)
    dimensions = _register_dimensions(record, now)
    try:
        issued = json.loads(storage.get(certificate.credential_sha256 or ""))
    except KeyError:  # the stored copy is missing: we cannot compare now
        dimensions["identical"] = Dimension("identical", "unavailable", Outcome.UNKNOWN)
        return _verdict(Method.JSON, dimensions, record)
    dimensions["identical"] = (
        Dimension("identical", "identical", Outcome.PASS)
        if issued == credential
        else Dimension("identical", "modified", Outcome.FAIL)
    )
    return _verdict(Method.JSON, dimensions, record)


def verify_file(
    session: Session,
    storage: BlobStorage,
    data: bytes,
    checker: SealCheckerLike,
    now: dt.datetime,
) -> Verification:
    """Verify an upload that is either a certificate PDF or its credential JSON."""
    if data.startswith(b"%PDF-"):
        return verify_pdf(session, data, checker, now)
    if data.lstrip()[:1] == b"{":
        proofs = checker if isinstance(checker, ProofCheckerLike) else None
        return verify_credential_json(session, storage, data, now, proofs=proofs)
    if len(data) > MAX_PDF_BYTES:
        return _refused(Method.FILE, "too_large")
    return _refused(Method.FILE, "unsupported_file")


# --- the log ----------------------------------------------------------------------------------


def verification_entry(
    result: Verification,
    channel: VerificationChannel,
    now: dt.datetime,
    certificate_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The log row of one verification (VerificationLog's columns): certificate (``result``'s,
    else ``certificate_id``), channel, method, verdict, time; nothing about who asked."""
    return {
        "certificate_id": result.certificate.id if result.certificate else certificate_id,
        "at": now,
        "channel": channel,
        "method": result.method.value,
        "verdict": result.verdict.value,
        "reason": result.reason[:40],
    }


def record_verification(
    session: Session, result: Verification, channel: VerificationChannel, now: dt.datetime
) -> VerificationLog:
    """Log one verification now (the web app batches them: app.verification_log)."""
    entry = VerificationLog(**verification_entry(result, channel, now))
    session.add(entry)
    session.flush()
    return entry


def verification_count(session: Session, certificate_id: uuid.UUID) -> int:
    """How many times the certificate was verified (shown to its holder): the log's rows and
    the counts of those past its retention period."""
    logged = session.scalar(
        select(func.count()).where(VerificationLog.certificate_id == certificate_id)
    )
    counted = session.scalar(
        select(func.sum(VerificationCount.count)).where(
            VerificationCount.certificate_id == certificate_id
        )
    )
    return int(logged or 0) + int(counted or 0)
