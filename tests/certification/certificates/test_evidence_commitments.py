"""Evidence commitments in issued certificates: the salts kept apart, nothing guessable from
the credential, the holder's reveal confirms or refuses, old certificates verify as before,
the export carries the salts, and digitalbazaar's verifier accepts the new credential."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.certificates import commitments as K
from certification.certificates import credentials
from certification.certificates import lifecycle as C
from certification.certificates.evidence_reveal import verify_evidence
from certification.certificates.issuance import issue_one, recover_pending
from certification.models import Certificate, CertificateEvidence, CertificateStatus
from certification.people.export import export_person
from certification.portfolio.operations import evidence_digest, link_evidence
from certification.verification.checks import (
    Verdict,
    verify_code,
    verify_credential_json,
    verify_pdf,
)
from certification.verification.public import (
    public_view,
    set_public_consents,
)
from tests.support.certificates import (
    BASE,
    ISSUE_TIME,
    CertificateWorld,
    NoChecker,
    found_again,
    make_issuer,
)
from tests.support.credentials import (
    CREATED,
    ISSUER_ID,
    REVOCATION_LIST,
    STATUS_INDEX,
    SUSPENSION_LIST,
    issuer_key,
    method_of,
    run_verifier,
    verifier_command,
)
from tests.support.factories import competence
from tests.support.transactions import savepoint
from tests.support.worlds import another_case, certified

NOW = ISSUE_TIME + dt.timedelta(days=30)
URL = "https://example.org/programma"  # the world's link evidence (tests.support.factories)


# --- one certificate for the module (as tests.support.certificates says) -------------------
pytestmark = pytest.mark.xdist_group("evidence-commitments")


@pytest.fixture(scope="module")
def module_certificate_setup() -> Callable[[Session, CertificateWorld], None]:
    return _also_a_criterion


def _also_a_criterion(db: Session, world: CertificateWorld) -> None:
    """The evidence also supports one criterion of DEMO-C01: an indicator of its own."""
    c01 = competence(db, "DEMO-C01")
    criterion = next(c for c in c01.criteria if c.code == "DEMO-C01-I1")
    link_evidence(db, world.candidate, world.evidence, c01, criterion, "", ISSUE_TIME)


@pytest.fixture
def connection(
    module_connection: Connection, module_certificate: dict[str, Any]
) -> Iterator[Connection]:
    """The suite's ``connection``, here a SAVEPOINT of the module's transaction (made after the
    module's certificate, rolled back after the test)."""
    yield from savepoint(module_connection)


@pytest.fixture
def storage(module_certificate: dict[str, Any]) -> Any:
    return module_certificate["storage"]


@dataclass(kw_only=True)
class Issued(CertificateWorld):
    """The world with its certificate issued: its credential (JSON) and commitment row."""

    certificate: Certificate
    credential: dict[str, Any]
    row: CertificateEvidence


@pytest.fixture
def issued(
    db: Session, connection: Connection, module_certificate: dict[str, Any], renderer: Any
) -> Issued:
    """The module's certificate and its world as the test's session sees them, with an issuer
    of its own on the test's SAVEPOINT."""
    clock = [ISSUE_TIME]
    return Issued(
        **found_again(db, module_certificate["rows"]),
        credential=json.loads(module_certificate["json"]),
        issuer=make_issuer(connection, module_certificate["storage"], renderer, clock),
        clock=clock,
    )


INDICATORS = ["urn:attesta:result:DEMO-C01", "urn:attesta:result:DEMO-C01-I1"]


@pytest.mark.slow
def test_a_new_certificate_commits_its_evidence_with_a_secret_salt(
    db: Session, issued: Issued
) -> None:
    certificate, row = issued.certificate, issued.row
    assert certificate.content["evidence_format"] == 2
    assert len(certificate.evidence_commitments) == 1
    assert row.evidence_id == issued.evidence.id and row.file_name is None
    assert len(bytes.fromhex(row.salt)) == 32
    assert row.content_sha256 == hashlib.sha256(URL.encode()).hexdigest()
    assert row.indicators == INDICATORS
    # Anyone with the salt recomputes the commitment from the documented construction.
    digest = hashlib.sha256(URL.encode()).digest()
    assert row.commitment == K.commitment(bytes.fromhex(row.salt), digest, INDICATORS)
    (entry,) = issued.credential["evidence"]
    assert entry["id"] == f"urn:attesta:evidence-commitment:v1:{row.commitment}"
    assert entry["narrative"] == "\n".join(f"- {i}" for i in INDICATORS)
    assert entry["genre"] == "link" and entry["type"] == ["Evidence"]
    # The indicators are results the credential describes.
    described = {
        d["id"] for d in issued.credential["credentialSubject"]["achievement"]["resultDescription"]
    }
    assert set(INDICATORS) <= described
    # The frozen content (what the public view reads) has the commitment, not the salt.
    assert row.salt not in json.dumps(certificate.content)


@pytest.mark.slow
def test_a_guess_without_the_salt_matches_nothing_in_the_credential(
    db: Session, issued: Issued
) -> None:
    certificate, holder = issued.certificate, issued.candidate
    set_public_consents(
        db, holder, certificate, show_name=True, show_evidence=True, text_version="t", now=NOW
    )
    guess = hashlib.sha256(URL.encode())
    published = json.dumps(issued.credential) + json.dumps(
        public_view(db, certificate), default=str
    )
    assert guess.hexdigest() not in published
    assert evidence_digest(issued.evidence) not in published
    # Not even with the right indicators and any salt but the holder's.
    for salt in (bytes(32), hashlib.sha256(b"attesta").digest()):
        assert K.commitment(salt, guess.digest(), INDICATORS) not in published


@pytest.mark.slow
def test_revealing_the_file_and_its_salt_confirms_the_indicators(
    db: Session, issued: Issued
) -> None:
    certificate, row = issued.certificate, issued.row
    code = C.format_code(certificate.verification_code).lower()
    reveal = verify_evidence(db, code, URL.encode(), row.salt.upper(), NOW)
    assert reveal.confirmed and reveal.reason == "confirmed", reveal
    assert [(i.code, i.kind) for i in reveal.indicators] == [
        ("DEMO-C01", "competence"),
        ("DEMO-C01-I1", "criterion"),
    ]
    assert reveal.indicators[0].title_it and reveal.indicators[1].competence_code == "DEMO-C01"
    assert reveal.verification is not None and reveal.verification.verdict == Verdict.VALID


@pytest.mark.slow
def test_a_wrong_salt_file_or_certificate_is_refused_alike(
    db: Session, issued: Issued, storage: Any
) -> None:
    certificate, row = issued.certificate, issued.row
    code = certificate.verification_code
    other_salt = bytes(32).hex()
    refusals = {
        "wrong salt": verify_evidence(db, code, URL.encode(), other_salt, NOW),
        "wrong file": verify_evidence(db, code, URL.encode() + b"\n", row.salt, NOW),
    }
    # A correction is another certificate, with fresh salts: the old salt does not open it.
    corrected = issue_one(
        issued.issuer,
        issued.signatory.id,
        issued.case.id,
        supersedes_id=certificate.id,
        correction_note="Rettifica del luogo.",
    )
    db.expire_all()
    new = db.get(Certificate, corrected.id)
    assert new is not None and new.evidence_commitments[0].salt != row.salt
    refusals["wrong certificate"] = verify_evidence(
        db, new.verification_code, URL.encode(), row.salt, NOW
    )
    for name, reveal in refusals.items():
        assert (reveal.confirmed, reveal.reason, reveal.indicators) == (
            False,
            "not_confirmed",
            (),
        ), name
    # The new certificate's own salt opens it.
    assert verify_evidence(
        db, new.verification_code, URL.encode(), new.evidence_commitments[0].salt, NOW
    ).confirmed
    # Input refused before any look-up.
    assert verify_evidence(db, "UNKNOWN", URL.encode(), row.salt, NOW).reason == "not_found"
    assert verify_evidence(db, code, URL.encode(), row.salt[:-2], NOW).reason == "salt_malformed"
    assert verify_evidence(db, code, None, row.salt, NOW).reason == "no_file"
    assert verify_evidence(db, code, b"x" * 11, row.salt, NOW, max_bytes=10).reason == "too_large"


def _old_format(db: Session, world: CertificateWorld) -> Certificate:
    """A certificate as issued before commitments: content without ``evidence_format``, the
    plain sha256 of each item, no salts; produced and completed by the real pipeline."""
    reserved = C.reserve_certificate(
        db, world.signatory, world.case, ISSUE_TIME - dt.timedelta(hours=1), base_url=BASE
    )
    content = {k: v for k, v in reserved.content.items() if k != "evidence_format"}
    content["evidence"] = [
        {"sha256": evidence_digest(world.evidence), "type": "link", "date": "2026-11-02"}
    ]
    reserved.content = content
    reserved.evidence_commitments.clear()
    db.commit()
    (result,) = recover_pending(world.issuer)
    assert result.status == "issued", result
    db.expire_all()
    found = db.get(Certificate, reserved.id)
    assert found is not None and found.status == CertificateStatus.ISSUED
    return found


@pytest.mark.slow
def test_an_old_format_certificate_verifies_as_before(
    db: Session,
    issued: Issued,
    storage: Any,
) -> None:
    # Another case of the module's ente, certified: its certificate made as before commitments.
    world = another_case(db, issued)
    world = replace(world, case=certified(db, world))
    certificate = _old_format(db, world)
    assert certificate.evidence_commitments == []
    credential_json = storage.get(certificate.credential_sha256)
    (entry,) = json.loads(credential_json)["evidence"]
    assert entry == {
        "type": ["Evidence"],
        "name": "Collegamento",
        "nameMap": {"it": "Collegamento", "en": "Link"},
        "genre": "link",
        "description": f"sha256:{evidence_digest(world.evidence)} (2026-11-02)",
    }
    assert verify_code(db, certificate.verification_code, NOW).verdict == Verdict.VALID
    assert verify_credential_json(db, storage, credential_json, NOW).verdict == Verdict.VALID
    pdf = storage.get(certificate.pdf_sha256)
    assert verify_pdf(db, pdf, NoChecker(), NOW).verdict == Verdict.VALID
    set_public_consents(
        db,
        world.candidate,
        certificate,
        show_name=False,
        show_evidence=True,
        text_version="t",
        now=NOW,
    )
    view = public_view(db, certificate)
    assert view["evidence"][0]["sha256"] == evidence_digest(world.evidence)
    assert view["evidence_revealable"] is False
    reveal = verify_evidence(db, certificate.verification_code, URL.encode(), "0" * 64, NOW)
    assert (reveal.confirmed, reveal.reason) == (False, "not_committed")


@pytest.mark.slow
def test_the_export_gives_the_holder_each_salt_and_the_committed_bytes(
    db: Session, issued: Issued, storage: Any
) -> None:
    certificate, row, holder = issued.certificate, issued.row, issued.candidate
    archive = zipfile.ZipFile(io.BytesIO(export_person(db, storage, holder, holder.person, NOW)))
    committed = json.loads(archive.read("commitments.json"))
    assert committed["construction"] == "urn:attesta:evidence-commitment:v1"
    assert set(committed["note"]) == {"it", "en"}
    (listed,) = committed["certificates"]
    assert listed["number"] == certificate.number
    assert listed["verification_code"] == C.format_code(certificate.verification_code)
    (item,) = listed["evidence"]
    assert item["salt"] == row.salt and item["indicators"] == INDICATORS
    assert item["credential_evidence_id"] == issued.credential["evidence"][0]["id"]
    # What the export holds is exactly what the reveal needs.
    revealed = archive.read(item["file"])
    assert revealed == URL.encode()
    reveal = verify_evidence(db, listed["verification_code"], revealed, item["salt"], NOW)
    assert reveal.confirmed


@pytest.mark.slow
def test_the_salts_stay_when_the_portfolio_item_is_gone(db: Session, issued: Issued) -> None:
    row = issued.row
    db.delete(issued.evidence)
    db.flush()
    db.expire_all()
    kept = db.get(CertificateEvidence, (issued.certificate.id, 0))
    assert kept is not None and kept.evidence_id is None and kept.salt == row.salt


@pytest.mark.slow
def test_the_independent_verifier_accepts_the_new_credential(issued: Issued, tmp_path: Any) -> None:
    """digitalbazaar's verifier (tools/vc-verify) on our credential with its committed
    evidence, re-signed under the test issuer whose profile and status lists it is given."""
    verifier = verifier_command()
    credential = {k: v for k, v in issued.credential.items() if k != "proof"}
    credential["issuer"] = {**credential["issuer"], "id": ISSUER_ID}
    credential["credentialStatus"] = [
        credentials.status_entry(REVOCATION_LIST, "revocation", STATUS_INDEX),
        credentials.status_entry(SUSPENSION_LIST, "suspension", STATUS_INDEX),
    ]
    assert credential["evidence"][0]["id"].startswith(K.COMMITMENT_PREFIX)
    key = issuer_key()
    signed = credentials.sign_credential(credential, key, method_of(key), CREATED)
    code, output = run_verifier(verifier, tmp_path, signed)
    assert (code, output["verified"], output["errors"]) == (0, True, []), output
