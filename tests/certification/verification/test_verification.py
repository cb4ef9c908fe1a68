"""Verification: every dimension apart, one verdict, no forgery passes, nothing personal leaks.

The PDFs are real certificates issued through the issuer (WeasyPrint PDF/A-3 with the
credential attached, sealed by pyHanko), checked through the real child-process checker.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.certificates import credentials
from certification.certificates import lifecycle as C
from certification.certificates.production import CREDENTIAL_FILE_NAME
from certification.certificates.sealing import SealCheck, check_seal
from certification.demo.portfolio import simple_pdf
from certification.errors import NotPermitted
from certification.keys.material import active_key
from certification.models import (
    Certificate,
    Consent,
    ConsentPurpose,
    KeyPurpose,
    SigningKey,
    VerificationChannel,
    VerificationLog,
)
from certification.portfolio.sandbox import SealChecker
from certification.verification.checks import (
    MAX_PDF_BYTES,
    Outcome,
    Verdict,
    Verification,
    record_verification,
    trusted_roots,
    verification_count,
    verify_code,
    verify_credential_json,
    verify_file,
    verify_pdf,
)
from certification.verification.public import (
    public_view,
    set_public_consents,
)
from tests.support import forgeries
from tests.support.certificates import (
    ISSUE_TIME,
    PASS,
    found_again,
    make_issuer,
)
from tests.support.transactions import savepoint

NOW = ISSUE_TIME + dt.timedelta(days=30)


# --- one certificate for the module ---------------------------------------------------------
# Issuing a real certificate (render, seal) is most of each test's time, and the tests here only
# verify it or change its rows. So the module issues one certificate, in the outer transaction
# of a connection of its own (rolled back when the module ends), and every test runs in a
# SAVEPOINT of that transaction, rolled back when the test ends: what a test changes (a
# revocation, a compromised key, a second certificate) is gone before the next test starts.
# The xdist group keeps the module's tests on one worker, so it issues once per run.
pytestmark = pytest.mark.xdist_group("verification")


@pytest.fixture
def connection(
    module_connection: Connection, module_certificate: dict[str, Any]
) -> Iterator[Connection]:
    """The suite's ``connection``, here a SAVEPOINT of the module's transaction (made after the
    module's certificate, rolled back after the test)."""
    yield from savepoint(module_connection)


@pytest.fixture
def issued(
    db: Session, connection: Connection, module_certificate: dict[str, Any], renderer: Any
) -> dict[str, Any]:
    """The module's certificate and its world as the test's session sees them, with an issuer
    of its own on the test's SAVEPOINT."""
    found = found_again(db, module_certificate["rows"])
    storage = module_certificate["storage"]
    clock = [ISSUE_TIME]
    return {
        **found,
        "pdf": module_certificate["pdf"],
        "json": module_certificate["json"],
        "storage": storage,
        "clock": clock,
        "issuer": make_issuer(connection, storage, renderer, clock),
    }


def _states(result: Verification) -> dict[str, str]:
    return {d.name: d.state for d in result.dimensions}


def test_a_genuine_pdf_is_valid_in_every_dimension(
    db: Session, issued: dict[str, Any], checker: SealChecker
) -> None:
    result = verify_pdf(db, issued["pdf"], checker, NOW)
    assert result.verdict == Verdict.VALID and result.reason == "valid"
    assert _states(result) == {
        "found": "found",
        "signature": "valid",
        "identical": "identical",
        "status": "active",
        "validity": "current",
    }
    assert result.certificate is not None and result.certificate.id == issued["certificate"].id


FORGERIES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "ISA: page content redefined in an update": lambda i: forgeries.incremental_update(i["pdf"]),
    "shadow: /Contents swapped": lambda i: forgeries.shadow_swap_contents(i["pdf"]),
    "embedded credential swapped": lambda i: forgeries.replace_attachment(
        i["pdf"], i["json"].replace(b"Giulia", b"Mallory")
    ),
    "bytes appended after %%EOF": lambda i: forgeries.append_garbage(i["pdf"]),
    "unsigned padding of the signature changed": lambda i: forgeries.change_signature_padding(
        i["pdf"]
    ),
    "object appended without xref": lambda i: forgeries.append_object_without_xref(i["pdf"]),
    "USF: /Contents zeroed": lambda i: forgeries.zero_signature_contents(i["pdf"]),
    "USF: /ByteRange removed": lambda i: forgeries.remove_byterange(i["pdf"]),
    "USF: /ByteRange [0 0 0 0]": lambda i: forgeries.zero_byterange(i["pdf"]),
    "one byte changed in the signed range": lambda i: forgeries.flip_byte_in_signed_range(i["pdf"]),
    "a second signature added": lambda i: forgeries.add_second_signature(i["pdf"]),
    "look-alike CA with our names": lambda i: forgeries.lookalike_seal(
        simple_pdf("Certificato", ["Mallory Attacker"]), i["pdf"]
    ),
    "encrypted": lambda i: forgeries.encrypt(i["pdf"]),
    "flate bomb": lambda i: forgeries.flate_bomb(),
    "truncated": lambda i: forgeries.truncate(i["pdf"]),
    "garbage after a PDF header": lambda i: forgeries.garbage(),
    "unsigned PDF": lambda i: simple_pdf("Certificato", ["Mallory Attacker"]),
    "not a PDF": lambda i: b"MZ\x90\x00 an executable",
    "oversized": lambda i: b"%PDF-1.7\n" + b"0" * MAX_PDF_BYTES,
}

EXPECTED: dict[str, str] = {
    "ISA: page content redefined in an update": "modified_after_sealing",
    "shadow: /Contents swapped": "modified_after_sealing",
    "embedded credential swapped": "modified_after_sealing",
    "bytes appended after %%EOF": "modified_after_sealing",
    "unsigned padding of the signature changed": "modified",
    "object appended without xref": "malformed",
    "USF: /Contents zeroed": "malformed",
    "USF: /ByteRange removed": "malformed",
    "USF: /ByteRange [0 0 0 0]": "invalid_signature",
    "one byte changed in the signed range": "invalid_signature",
    "a second signature added": "extra_signature",
    "look-alike CA with our names": "untrusted_issuer",
    "encrypted": "malformed",
    "flate bomb": "malformed",
    "truncated": "malformed",
    "garbage after a PDF header": "malformed",
    "unsigned PDF": "no_seal",
    "not a PDF": "unsupported_file",
    "oversized": "too_large",
}


@pytest.mark.slow
@pytest.mark.parametrize("attack", list(FORGERIES))
def test_forged_pdfs_are_never_valid(
    db: Session, issued: dict[str, Any], checker: SealChecker, attack: str
) -> None:
    data = FORGERIES[attack](issued)
    result = verify_file(db, issued["storage"], data, checker, NOW)
    assert result.verdict == Verdict.NOT_VALID, (attack, result)
    assert result.reason == EXPECTED[attack], (attack, result)
    # A file that is not what we issued never borrows the register's data.
    assert result.certificate is None


def test_a_genuine_pdf_of_a_revoked_certificate_shows_revoked(
    db: Session, issued: dict[str, Any], checker: SealChecker
) -> None:
    certificate = issued["certificate"]
    C.revoke_certificate(db, issued["signatory"], certificate, "false_evidence", "Falso", NOW)
    for result in (
        verify_pdf(db, issued["pdf"], checker, NOW),
        verify_credential_json(db, issued["storage"], issued["json"], NOW),
        verify_code(db, certificate.verification_code, NOW),
    ):
        assert result.verdict == Verdict.NOT_VALID and result.reason == "revoked"
        assert result.dimension("signature").outcome == Outcome.PASS  # genuine, but revoked
    view = public_view(db, certificate)
    assert view["status"] == "revoked" and view["status_changed_on"] == NOW.date()
    assert "Falso" not in json.dumps(view, default=str) and "false_evidence" not in str(view)


def test_suspended_and_superseded(db: Session, issued: dict[str, Any]) -> None:
    certificate = issued["certificate"]
    C.suspend_certificate(db, issued["signatory"], certificate, "fraud_report", "Segnalazione", NOW)
    assert verify_code(db, certificate.verification_code, NOW).reason == "suspended"
    C.reinstate_certificate(db, issued["signatory"], certificate, "Verificato", NOW)
    assert verify_code(db, certificate.verification_code, NOW).verdict == Verdict.VALID
    db.commit()
    from certification.certificates.issuance import issue_one

    done = issue_one(
        issued["issuer"],
        issued["signatory"].id,
        certificate.case_id,
        supersedes_id=certificate.id,
        correction_note="Nome corretto",
    )
    db.expire_all()
    result = verify_code(db, certificate.verification_code, NOW)
    assert result.reason == "superseded"
    new = db.get(Certificate, done.id)
    assert new is not None
    assert public_view(db, certificate)["superseded_by"] == C.format_code(new.verification_code)
    assert verify_code(db, new.verification_code, NOW).verdict == Verdict.VALID


def test_codes_forgive_case_separators_and_confusables(db: Session, issued: dict[str, Any]) -> None:
    code = issued["certificate"].verification_code
    typed = C.format_code(code).lower().replace("0", "o").replace("1", "l")
    assert verify_code(db, f"  {typed} ", NOW).verdict == Verdict.VALID
    # Malformed, or well formed and unknown (26 symbols: read as a code of before the check).
    for wrong in ("", "x", code[:-1], code[1:], code + "A", "!" * 27):
        result = verify_code(db, wrong, NOW)
        assert result.verdict == Verdict.NOT_VALID and result.reason == "not_found"
        assert result.certificate is None


def test_a_mistyped_code_is_told_apart_and_not_looked_up(
    db: Session, issued: dict[str, Any]
) -> None:
    code = issued["certificate"].verification_code
    wrong = "A" if code[5] != "A" else "B"
    swapped = next(  # two neighbours that differ and are not 0 and Z
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(len(code) - 1)
        if code[i] != code[i + 1] and {code[i], code[i + 1]} != {"0", "Z"}
    )
    for typo in (
        code[:5] + wrong + code[6:],
        swapped,
        code[:-1] + ("A" if code[-1] != "A" else "B"),
    ):
        result = verify_code(db, C.format_code(typo).lower(), NOW)
        assert result.verdict == Verdict.NOT_VALID and result.reason == "mistyped"
        assert result.dimension("found").state == "mistyped" and result.certificate is None
    # The same certificate, typed right, is valid.
    assert verify_code(db, C.format_code(code), NOW).verdict == Verdict.VALID


def test_a_certificate_with_a_code_of_before_the_check_character_still_verifies(
    db: Session, issued: dict[str, Any]
) -> None:
    certificate = issued["certificate"]
    legacy = "0123456789ABCDEFGHJKMNPQRS"  # 26 symbols, no check character
    certificate.verification_code = legacy
    db.flush()
    typed = "01234-56789-abcde-fghjk-mnpqrs"  # as such codes were printed
    assert C.format_code(legacy) == typed.upper()
    result = verify_code(db, typed, NOW)
    assert result.verdict == Verdict.VALID and result.certificate is certificate
    assert C.certificate_by_code(db, typed) is certificate
    assert public_view(db, certificate)["code"] == typed.upper()
    # One symbol off: unknown (no check character to tell), never another certificate.
    assert verify_code(db, "1" + legacy[1:], NOW).reason == "not_found"


def test_a_pending_certificate_is_not_found(db: Session, issued: dict[str, Any]) -> None:
    certificate = issued["certificate"]
    certificate.status = C.CertificateStatus.PENDING
    db.flush()
    assert verify_code(db, certificate.verification_code, NOW).reason == "not_found"


# --- credentials ------------------------------------------------------------------------------


def _tampered(issued: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> bytes:
    credential = json.loads(issued["json"])
    change(credential)
    return json.dumps(credential).encode()


def _attacker_resigned(credential: dict[str, Any]) -> None:
    """The name changed and the proof re-made with the attacker's key, which the document
    names as its verification method (in our URL space, and as a did:key)."""
    credential.pop("proof")
    credential["name"] = "Laurea in medicina"
    key = Ed25519PrivateKey.generate()
    method = credential["issuer"]["id"] + "#attacker"
    signed = credentials.sign_credential(
        credential, key, method, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    credential.clear()
    credential.update(signed)


def _other_signature(credential: dict[str, Any]) -> None:
    """One base58 digit of the signature changed: still 64 bytes, no longer ours."""
    value = credential["proof"]["proofValue"]
    credential["proof"]["proofValue"] = value[:20] + ("2" if value[20] != "2" else "3") + value[21:]


CREDENTIAL_ATTACKS: dict[str, tuple[Callable[[dict[str, Any]], bytes], str, str | None]] = {
    # A proof that fails with the register's key: the answer of an unknown id.
    "name changed": (
        lambda i: _tampered(i, lambda c: c.update(name="Laurea in medicina")),
        "not_found",
        None,
    ),
    "re-signed with an attacker's key": (
        lambda i: _tampered(i, _attacker_resigned),
        "not_found",
        None,
    ),
    "the certificate's id alone": (
        lambda i: json.dumps({"id": f"urn:uuid:{i['certificate'].id}"}).encode(),
        "no_signature",
        "no_proof",
    ),
    "a well-formed signature that does not match": (
        lambda i: _tampered(i, _other_signature),
        "not_found",
        None,
    ),
    "proof removed": (
        lambda i: _tampered(i, lambda c: c.pop("proof")),
        "no_signature",
        "no_proof",
    ),
    "duplicate keys": (
        lambda i: i["json"].replace(b"{", b'{"name": "Mallory", ', 1),
        "malformed",
        "duplicate_key",
    ),
    "NaN": (
        lambda i: i["json"].replace(b"{", b'{"x": NaN, ', 1),
        "malformed",
        None,
    ),
    "lone surrogate": (
        lambda i: i["json"].replace(b"{", b'{"x": "\\ud800", ', 1),
        "malformed",
        None,
    ),
    "not JSON": (lambda i: b"{nope", "malformed", None),
}


@pytest.mark.parametrize("attack", list(CREDENTIAL_ATTACKS))
def test_forged_credentials_are_never_valid(
    db: Session, issued: dict[str, Any], checker: SealChecker, attack: str
) -> None:
    make, state, detail = CREDENTIAL_ATTACKS[attack]
    result = verify_file(db, issued["storage"], make(issued), checker, NOW)
    assert result.verdict == Verdict.NOT_VALID, (attack, result)
    assert result.reason == state, (attack, result)
    if detail:
        assert result.dimension("signature").detail == detail
    # Nothing of the register unless the proof holds with the register's key.
    assert result.certificate is None and result.dimension("found").state != "found"
    # ... and nothing tells a known id from an unknown one.
    if state in ("not_found", "no_signature"):
        unknown = json.loads(make(issued))
        unknown["id"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
        other = verify_file(db, issued["storage"], json.dumps(unknown).encode(), checker, NOW)
        assert other == result, (attack, other, result)


def test_a_genuine_credential_is_valid_however_it_is_reformatted(
    db: Session, issued: dict[str, Any]
) -> None:
    compact = json.dumps(json.loads(issued["json"]), separators=(",", ":"), sort_keys=True)
    for data in (issued["json"], compact.encode()):
        result = verify_credential_json(db, issued["storage"], data, NOW)
        assert result.verdict == Verdict.VALID, result
        assert _states(result)["identical"] == "identical"


def test_a_credential_of_an_unknown_certificate_is_not_found(
    db: Session, issued: dict[str, Any]
) -> None:
    data = _tampered(issued, lambda c: c.update(id="urn:uuid:00000000-0000-4000-8000-000000000000"))
    result = verify_credential_json(db, issued["storage"], data, NOW)
    assert result.reason == "not_found" and result.certificate is None


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compromised_before", "verdict"), [(True, "key_compromised"), (False, "valid")]
)
def test_a_compromised_key_invalidates_what_it_signed_after(
    db: Session,
    issued: dict[str, Any],
    checker: SealChecker,
    compromised_before: bool,
    verdict: str,
) -> None:
    certificate = issued["certificate"]
    signed_at = certificate.completed_at or certificate.issued_at
    key = db.get(SigningKey, certificate.credential_kid)
    assert key is not None
    key.compromised_at = signed_at + dt.timedelta(seconds=-60 if compromised_before else 60)
    db.flush()
    for result in (
        verify_code(db, certificate.verification_code, NOW),
        verify_pdf(db, issued["pdf"], checker, NOW),
        verify_credential_json(db, issued["storage"], issued["json"], NOW),
    ):
        assert result.reason == verdict, result


# --- an expired seal certificate ------------------------------------------------------------


def _seal_with_certificate_valid(
    db: Session, issued: dict[str, Any], days: tuple[int, int]
) -> bytes:
    """A PDF carrying the issued credential, sealed with the ente's seal key under a new
    certificate from our root valid from ``days[0]`` to ``days[1]`` days from today."""
    certificate = issued["certificate"]
    seal = db.get(SigningKey, certificate.seal_kid)
    assert seal is not None
    unsigned = forgeries.with_attachment(
        simple_pdf("Certificato", ["Giulia Rossi", certificate.number]),
        issued["json"],
        CREDENTIAL_FILE_NAME,
    )
    return forgeries.seal_with_certificate_window(
        unsigned, seal, active_key(db, None, KeyPurpose.ROOT_CA), PASS, days
    )


@pytest.mark.parametrize(
    ("days", "verdict", "reason", "signature"),
    [
        # Expired yesterday, nothing proves the seal was made before: indeterminate.
        ((-4 * 365, -1), Verdict.INDETERMINATE, "seal_expired", Outcome.UNKNOWN),
        # The same seal within its validity: ours, but not the file we issued.
        ((-1, 365), Verdict.NOT_VALID, "modified", Outcome.PASS),
    ],
)
def test_a_seal_whose_certificate_expired_is_indeterminate(
    db: Session,
    issued: dict[str, Any],
    checker: SealChecker,
    days: tuple[int, int],
    verdict: Verdict,
    reason: str,
    signature: Outcome,
) -> None:
    pdf = _seal_with_certificate_valid(db, issued, days)
    result = verify_file(db, issued["storage"], pdf, checker, NOW)
    assert (result.verdict, result.reason) == (verdict, reason), [
        (d.state, d.detail) for d in result.dimensions
    ]
    assert result.dimension("signature").outcome == signature
    assert result.certificate is None  # not the issued bytes: nothing from the register


def test_an_expired_seal_still_needs_our_root(db: Session, issued: dict[str, Any]) -> None:
    """The second look (as of the certificate's last valid second) trusts only our roots: an
    expired look-alike chain stays untrusted."""
    pdf = _seal_with_certificate_valid(db, issued, (-4 * 365, -1))
    assert check_seal(pdf, trusted_roots(db)).reason == "expired"
    foreign = forgeries.lookalike_seal(simple_pdf("Certificato", ["Mallory"]), issued["pdf"])
    assert check_seal(foreign, trusted_roots(db)).reason == "not_trusted"
    # An expired seal with a change after it: modified, not indeterminate.
    assert check_seal(forgeries.append_garbage(pdf), trusted_roots(db)).reason == (
        "not_entire_file"
    )


# --- the child process -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_child_process_limits_memory_and_time(db: Session, issued: dict[str, Any]) -> None:
    roots = trusted_roots(db)
    small = SealChecker(memory_bytes=160 * 2**20)
    try:
        bomb = small.check(forgeries.flate_bomb(), roots)
        assert not bomb.ok and bomb.reason.startswith("malformed"), bomb
        # The child survives or is replaced: the next check works.
        assert small.check(issued["pdf"], roots).ok
    finally:
        small.close()
    hasty = SealChecker(timeout=0.000_001)
    try:
        assert hasty.check(issued["pdf"], roots) == SealCheck(False, "malformed:limit")
    finally:
        hasty.close()
    busy = SealChecker(max_waiting=0)
    assert busy.check(issued["pdf"], roots).reason == "busy"


def test_a_busy_checker_gives_indeterminate(db: Session, issued: dict[str, Any]) -> None:
    class Busy:
        def check(
            self, pdf: bytes, roots: Any, *, attachment: str | None = None, now: Any = None
        ) -> SealCheck:
            return SealCheck(False, "busy")

    result = verify_pdf(db, forgeries.append_garbage(issued["pdf"]), Busy(), NOW)
    assert result.verdict == Verdict.INDETERMINATE and result.reason == "busy"


# --- what the public sees, and the log --------------------------------------------------------


def test_the_public_view_shows_only_what_a_verifier_needs(
    db: Session, issued: dict[str, Any]
) -> None:
    certificate = issued["certificate"]
    holder = issued["candidate"]
    certificate.content["holder"]["codice_fiscale"] = "RSSGLI00A41F205X"
    set_public_consents(
        db, holder, certificate, show_name=True, show_evidence=True, text_version="t", now=NOW
    )
    shown = public_view(db, certificate)
    assert holder.person.family_name in shown["holder"]["name"]
    assert shown["evidence"] and shown["learning"]["experiences"]
    set_public_consents(
        db, holder, certificate, show_name=False, show_evidence=False, text_version="t", now=NOW
    )
    view = public_view(db, certificate)
    text = json.dumps(view, default=str)
    person = holder.person
    for secret in (
        "RSSGLI00A41F205X",
        holder.email,
        person.family_name,
        str(person.birth_date) if person.birth_date else "never-printed",
        "Francesca",  # the signatory
        "sha256",
    ):
        assert secret not in text, secret
    assert view["holder"]["full_name_shown"] is False and view["holder"]["name"].startswith("G.")
    assert "evidence" not in view and "learning" not in view
    with pytest.raises(NotPermitted):
        set_public_consents(
            db,
            issued["signatory"],
            certificate,
            show_name=True,
            show_evidence=True,
            text_version="t",
            now=NOW,
        )
    assert db.scalars(
        select(Consent).where(
            Consent.purpose == ConsentPurpose.PUBLIC_VERIFICATION_PAGE,
            Consent.withdrawn_at.is_not(None),
        )
    ).all()  # an earlier choice is withdrawn, not deleted


def test_each_verification_is_logged_without_the_verifier(
    db: Session, issued: dict[str, Any]
) -> None:
    certificate = issued["certificate"]
    for channel in (VerificationChannel.QR, VerificationChannel.WEB, VerificationChannel.API):
        record_verification(db, verify_code(db, certificate.verification_code, NOW), channel, NOW)
    record_verification(db, verify_code(db, "unknown", NOW), VerificationChannel.WEB, NOW)
    assert verification_count(db, certificate.id) == 3
    entries = db.scalars(select(VerificationLog)).all()
    assert {e.verdict for e in entries} == {"valid", "not_valid"}
    columns = set(VerificationLog.__table__.columns.keys())
    assert columns == {"id", "certificate_id", "at", "channel", "method", "verdict", "reason"}
