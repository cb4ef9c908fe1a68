"""Issuing certificates: the happy path, refusals, crash points, rotation, tampering, status."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
import time
import types
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pikepdf
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification.audit.chains import verify_case_chain
from certification.cases.states import CaseStatus
from certification.certificates import credentials
from certification.certificates import lifecycle as C
from certification.certificates.bulk import run_bulk, start_bulk
from certification.certificates.content import CertificateContent
from certification.certificates.hashing import CredentialHasher
from certification.certificates.issuance import Issuer, issue_one, recover_pending
from certification.certificates.production import ProducedCertificate, produce_certificate
from certification.certificates.sealing import check_seal
from certification.certificates.status_lists import publish_status_list
from certification.errors import Conflict, InvalidInput, NotPermitted
from certification.keys.management import rotate_key
from certification.keys.material import KeyPassphraseWrong, NoActiveKey
from certification.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    KeyPurpose,
    SigningKey,
    StatusList,
    StatusPurpose,
)
from certification.rendering import RenderError
from certification.verification.public import (
    public_view,
)
from tests.support.certificates import (
    BASE,
    ISSUE_TIME,
    PASS,
    CertificateWorld,
    embedded_credential,
    issue,
    registry_resolver,
)
from tests.support.factories import make_candidate, make_case
from tests.support.pdfs import accessibility_findings
from tests.support.services import require_tool
from tests.support.worlds import LATER
from tests.support.worlds import certified as _certified


def _root_pem(db: Session) -> str:
    return (
        db.scalars(
            select(SigningKey.certificate_pem).where(SigningKey.purpose == KeyPurpose.ROOT_CA)
        ).one()
        or ""
    )


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Certificate)) or 0


# --- the happy path ------------------------------------------------------------------------------


@pytest.mark.slow
def test_issuing_a_certificate(db: Session, world: CertificateWorld, storage: Any) -> None:
    certificate = issue(db, world)
    case = world.case
    assert certificate.status == CertificateStatus.ISSUED
    assert case.status == CaseStatus.CERTIFICATE_ISSUED
    assert [t.event for t in case.transitions][-1] == "issue_certificate"
    assert verify_case_chain(case) is None
    assert certificate.number == "LOM-CML-2026-000001"
    assert len(certificate.verification_code) == 27  # 130 random bits and a check character
    assert 0 <= certificate.status_index < credentials.STATUS_LIST_BITS
    # Only the validated competence is certified, frozen with its codes.
    assert [c.code for c in certificate.competences] == ["DEMO-C01"]
    assert certificate.competences[0].ada_codes and certificate.competences[0].eqf_level == 4
    # The stored bytes are the sealed PDF, and the seal checks out against our root only.
    pdf = storage.get(certificate.pdf_sha256)
    assert hashlib.sha256(pdf).hexdigest() == certificate.pdf_sha256
    seal = check_seal(pdf, _root_pem(db))
    assert seal.ok and seal.signer_kid == certificate.seal_kid, seal
    # The credential inside the PDF is the stored one, and it verifies.
    inside = embedded_credential(pdf)
    assert inside == storage.get(certificate.credential_sha256)
    credential = credentials.parse_credential_json(inside)
    check = credentials.verify_credential(credential, registry_resolver(db))
    assert check.ok, check
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = credential["credentialSubject"]
    assert subject["achievement"]["humanCode"] == "DEMO-P01"
    assert {"DEMO-C01", "EQF 4"} <= {
        a["targetCode"] for a in subject["achievement"]["alignment"]
    } | {a["targetName"] for a in subject["achievement"]["alignment"]}
    # Not validated, not certified: named only where the achievement says it is not included.
    achievement = subject["achievement"]
    everything = json.dumps(credential, ensure_ascii=False)
    for scope in achievement["descriptionMap"].values():  # the Italian string is the it one
        everything = everything.replace(json.dumps(scope, ensure_ascii=False)[1:-1], "")
    assert "DEMO-C02" not in everything
    assert "Competenze del profilo non comprese: DEMO-C02" in achievement["description"]
    english = achievement["descriptionMap"]["en"]
    assert "Competences of the profile not included: DEMO-C02" in english
    assert subject["identifier"][0]["hashed"] is True  # never the clear codice fiscale
    assert [e["statusPurpose"] for e in credential["credentialStatus"]] == [
        "revocation",
        "suspension",
    ]
    assert all(
        e["statusListIndex"] == str(certificate.status_index)
        for e in credential["credentialStatus"]
    )
    # Evidence as a salted commitment naming the competence it supports, no plain hash.
    evidence = credential["evidence"][0]
    assert evidence["id"].startswith("urn:attesta:evidence-commitment:v1:")
    assert evidence["narrative"] == "- urn:attesta:result:DEMO-C01"
    assert "sha256:" not in json.dumps(credential["evidence"])
    assert credential["proof"]["verificationMethod"].endswith(certificate.credential_kid)


def _wait_until_up(hasher: CredentialHasher) -> None:
    deadline = time.monotonic() + 60
    while hasher.executor() is None:
        assert time.monotonic() < deadline, "the hashing helper never came up"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_helper_process_hashes_the_credential(
    db: Session, world: CertificateWorld, storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CredentialHasher()
    handed_over: list[str] = []
    try:
        _wait_until_up(hasher)
        helper = hasher.executor()
        assert helper is not None

        class Spy(ThreadPoolExecutor):
            def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
                handed_over.append(fn.__name__)
                return helper.submit(fn, *args, **kwargs)

        monkeypatch.setattr(hasher, "executor", Spy)
        world.issuer.hasher = hasher
        certificate = issue(db, world)
    finally:
        hasher.shutdown()
    assert handed_over == ["signing_hash"]
    pdf = storage.get(certificate.pdf_sha256)
    inside = embedded_credential(pdf)
    assert inside == storage.get(certificate.credential_sha256)
    check = credentials.verify_credential(
        credentials.parse_credential_json(inside), registry_resolver(db)
    )
    assert check.ok, check
    assert check_seal(pdf, _root_pem(db)).ok


class _BrokenHasher(CredentialHasher):
    """A helper that died: every hand-over fails as a dead process pool does."""

    def __init__(self) -> None:
        super().__init__()
        self.reported = False

    def executor(self) -> Executor | None:
        class Dead(ThreadPoolExecutor):
            def submit(self, *args: Any, **kwargs: Any) -> Any:
                raise BrokenProcessPool("the helper died")

        return None if self.reported else Dead()

    def shutdown(self) -> None:
        self.reported = True


@pytest.mark.slow
def test_a_dead_or_unwanted_helper_never_stops_issuance(
    db: Session, world: CertificateWorld, storage: Any
) -> None:
    assert CredentialHasher(wanted=lambda: False).executor() is None  # e.g. a CLI command
    hasher = _BrokenHasher()
    world.issuer.hasher = hasher
    certificate = issue(db, world)
    assert hasher.reported  # and the next use starts another
    assert certificate.status == CertificateStatus.ISSUED
    inside = embedded_credential(storage.get(certificate.pdf_sha256))
    assert credentials.verify_credential(
        credentials.parse_credential_json(inside), registry_resolver(db)
    ).ok


@pytest.mark.slow
def test_the_pdf_prints_candidate_text_literally(
    db: Session, world: CertificateWorld, storage: Any, tmp_path: Any
) -> None:
    pdftotext = require_tool("pdftotext")
    certificate = issue(db, world)
    path = tmp_path / "c.pdf"
    path.write_bytes(storage.get(certificate.pdf_sha256))
    text = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Giulia <b>&amp;" in text  # markup in a name is text, never markup
    assert certificate.number in text
    assert C.format_code(certificate.verification_code) in text
    assert "DEMO-C01" in text and "DEMO-C02" not in text.split("Annex")[0]


@pytest.mark.slow
def test_the_sealed_certificate_is_tagged_and_passes_pdf_ua_checks(
    db: Session, world: CertificateWorld, storage: Any, tmp_path: Path
) -> None:
    """Issue 21: the sealed certificate is tagged PDF/A-3a, its QR code has alternative text,
    and ``pdfua`` (PDF/UA-1's machine-checkable rules) finds nothing."""
    certificate = issue(db, world)
    pdf = storage.get(certificate.pdf_sha256)
    assert accessibility_findings(pdf, tmp_path) == []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        figures = [
            str(element.Alt)
            for element in _struct_elements(document.Root.StructTreeRoot)
            if element.get("/S") == "/Figure"
        ]
        xmp = document.open_metadata()
        assert (xmp["pdfaid:part"], xmp["pdfaid:conformance"], xmp["pdfuaid:part"]) == (
            "3",
            "A",
            "1",
        )
        # PDF/A-3 is PDF 1.7: the seal must not raise the version (to 2.0 for ECDSA, by default).
        assert document.pdf_version == "1.7"
        assert str(document.Root.get("/Version", "/1.7")) == "/1.7"
    assert any("Codice QR per verificare il certificato" in alt for alt in figures), figures


def _struct_elements(node: Any) -> Iterator[Any]:
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _struct_elements(kid)


@pytest.mark.slow
def test_a_certificate_of_single_competences_says_so(
    db: Session, world: CertificateWorld, storage: Any, tmp_path: Any
) -> None:
    """Issue 19: a partial certificate never reads as the whole profile: the PDF, the
    credential's achievement, the verification record; and an older certificate, whose content
    does not list the profile's competences, is measured against the register."""
    certificate = issue(db, world)
    assert certificate.kind == CertificateKind.COMPETENZE_SINGOLE
    found = C.certificate_coverage(certificate)
    assert (found.partial, found.covered) == (True, 1) and found.total > 1
    assert "DEMO-C02" in {m["code"] for m in found.missing}
    path = tmp_path / "c.pdf"
    path.write_bytes(storage.get(certificate.pdf_sha256))
    text = " ".join(
        subprocess.run(
            [require_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "Certificato di singole competenze" in text
    assert f"attesta 1 delle {found.total} competenze del profilo" in text
    assert "non il profilo completo" in text
    achievement = json.loads(storage.get(certificate.credential_sha256))["credentialSubject"][
        "achievement"
    ]
    assert achievement["name"].startswith(
        f"Certificato di singole competenze: 1 di {found.total} competenze del profilo «"
    )
    assert achievement["description"].startswith("Certificazione di singole competenze")
    record = public_view(db, certificate)
    assert record["coverage"] == found
    # Issued before the content listed the profile's competences: the register answers.
    content = dict(certificate.content)
    content["standard"] = {
        k: v for k, v in content["standard"].items() if k != "profile_competences"
    }
    certificate.content = content
    assert C.certificate_coverage(certificate) == found


def _contract_findings(value: Any, hint: Any, path: str = "content") -> list[str]:
    """Where ``value`` departs from the type ``hint`` (TypedDicts followed key by key)."""
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        declared = hint.__required_keys__ | hint.__optional_keys__
        found = [f"{path}.{k}: missing" for k in sorted(hint.__required_keys__ - value.keys())]
        found += [f"{path}.{k}: not declared" for k in sorted(value.keys() - declared)]
        hints = get_type_hints(hint)
        for key in sorted(value.keys() & declared):
            found += _contract_findings(value[key], hints[key], f"{path}.{key}")
        return found
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        tried = [_contract_findings(value, arg, path) for arg in args]
        return [] if any(not t for t in tried) else min(tried, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [
            f
            for i, item in enumerate(value)
            for f in _contract_findings(item, args[0], f"{path}[{i}]")
        ]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{path}: not an object"]
    if hint is type(None):
        return [] if value is None else [f"{path}: not null"]
    if hint is int and isinstance(value, bool):
        return [f"{path}: a boolean, not a number"]
    return [] if isinstance(value, hint) else [f"{path}: not {hint.__name__}"]


def test_the_frozen_content_is_its_declared_contract(db: Session, world: CertificateWorld) -> None:
    """What a certificate freezes is exactly what certificates.content declares (nothing missing,
    nothing undeclared, every value of its type), and so is the content of a certificate issued
    before evidence commitments, badges and coverage (the ``NotRequired`` keys)."""
    certificate = issue(db, world)
    content = json.loads(json.dumps(certificate.content))
    assert content["badge"] and content["standard"]["profile_competences"]
    assert _contract_findings(content, CertificateContent) == []
    older = {k: v for k, v in content.items() if k not in {"evidence_format", "badge"}}
    older["standard"] = {k: v for k, v in content["standard"].items() if k != "profile_competences"}
    older["evidence"] = [
        {"sha256": "ab" * 32, "type": e["type"], "date": e["date"]} for e in content["evidence"]
    ]
    assert _contract_findings(older, CertificateContent) == []
    # The check finds what departs from the contract.
    broken = {**content, "holder": {**content["holder"], "nickname": "G"}}
    del broken["number"]
    broken["status_index"] = "7"
    assert _contract_findings(broken, CertificateContent) == [
        "content.number: missing",
        "content.holder.nickname: not declared",
        "content.status_index: not int",
    ]


# --- refusals: nothing issued --------------------------------------------------------------------


@pytest.mark.slow
def test_refusals_issue_nothing(db: Session, world: CertificateWorld) -> None:
    issuer = world.issuer
    other = make_case(
        db,
        candidate=make_candidate(db),
        ente=world.ente,
        status=CaseStatus.TRANSPARENCY_ISSUED,
        codes=("DEMO-C01",),
    )
    db.commit()
    with pytest.raises(InvalidInput) as info:
        issue_one(issuer, world.signatory.id, other.id)
    assert info.value.errors == {"case": ["not_certified"]}
    with pytest.raises(NotPermitted):  # a certifier is not a signatory
        issue_one(issuer, world.certifier.id, world.case.id)
    wrong = Issuer(**{**issuer.__dict__, "passphrase": b"wrong", "_signers": {}})
    with pytest.raises(KeyPassphraseWrong):
        issue_one(wrong, world.signatory.id, world.case.id)
    assert _count(db) == 0
    issue(db, world)
    with pytest.raises(C.AlreadyIssued):  # twice for the same decision
        issue_one(issuer, world.signatory.id, world.case.id)
    assert _count(db) == 1


def test_no_keys_no_certificate(db: Session, world: CertificateWorld) -> None:
    for key in db.scalars(select(SigningKey)):
        key.retired_at = LATER  # retired keys never sign again
    db.commit()
    with pytest.raises(NoActiveKey):
        issue_one(world.issuer, world.signatory.id, world.case.id)
    assert _count(db) == 0


# --- crash points --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_crash_after_the_reservation_is_recovered(db: Session, world: CertificateWorld) -> None:
    issuer = world.issuer
    with issuer.session_factory() as session:
        actor = session.get(type(world.signatory), world.signatory.id)
        reserved = C.reserve_certificate(
            session,
            actor,
            session.get(type(world.case), world.case.id),
            ISSUE_TIME,
            base_url=BASE,
        )
        session.commit()
        code = reserved.verification_code
    # The process dies here: nothing is public, the number and index are burnt.
    db.expire_all()
    assert C.certificate_by_code(db, code) is None
    assert world.case.status == CaseStatus.CERTIFIED
    assert recover_pending(issuer) == []  # not stale yet: maybe still running
    world.clock[0] = ISSUE_TIME + dt.timedelta(hours=1)
    [result] = recover_pending(issuer)
    assert result.status == "issued" and result.verification_code == code
    db.expire_all()
    certificate = C.certificate_by_code(db, code)
    assert certificate is not None and certificate.status == CertificateStatus.ISSUED
    assert world.case.status == CaseStatus.CERTIFICATE_ISSUED


@pytest.mark.slow
def test_a_crash_after_the_pdf_is_stored_leaves_nothing_public(
    db: Session, world: CertificateWorld, storage: Any
) -> None:
    issuer = world.issuer
    with issuer.session_factory() as session:
        actor = session.get(type(world.signatory), world.signatory.id)
        case = session.get(type(world.case), world.case.id)
        reserved = C.reserve_certificate(session, actor, case, ISSUE_TIME, base_url=BASE)
        session.commit()
        certificate_id = reserved.id
    with issuer.session_factory() as session:
        certificate = session.get(Certificate, certificate_id)
        from certification.certificates.production import signer_material

        signer = issuer.signer(signer_material(session, certificate.organisation_id, None))
        produced = produce_certificate(
            certificate.content, certificate.locale, signer, issuer.renderer
        )
        C.complete_certificate(
            session,
            certificate,
            produced.pdf,
            produced.credential_json,
            seal_kid=signer.seal_kid,
            credential_kid=signer.credential_kid,
            storage=storage,
            now=ISSUE_TIME,
        )
        session.rollback()  # killed before the commit: the bytes are stored, the row is not
    db.expire_all()
    orphan = hashlib.sha256(produced.pdf).hexdigest()
    assert storage.exists(orphan)
    assert db.scalar(select(Certificate).where(Certificate.pdf_sha256 == orphan)) is None
    assert db.get(Certificate, certificate_id).status == CertificateStatus.PENDING
    world.clock[0] = ISSUE_TIME + dt.timedelta(hours=1)
    [result] = recover_pending(issuer)
    assert result.status == "issued"
    db.expire_all()
    done = db.get(Certificate, certificate_id)
    assert done.status == CertificateStatus.ISSUED
    assert check_seal(storage.get(done.pdf_sha256), _root_pem(db)).ok


@pytest.mark.slow
def test_a_failed_production_is_abandoned_and_never_reuses_number_or_index(
    db: Session, world: CertificateWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> ProducedCertificate:
        raise RenderError("template bug")

    monkeypatch.setattr("certification.certificates.issuance.produce_certificate", broken)
    with pytest.raises(RenderError):
        issue_one(world.issuer, world.signatory.id, world.case.id)
    db.expire_all()
    [abandoned] = db.scalars(select(Certificate)).all()
    assert abandoned.status == CertificateStatus.ABANDONED
    assert world.case.status == CaseStatus.CERTIFIED  # can be issued again
    monkeypatch.undo()
    certificate = issue(db, world)
    assert certificate.number != abandoned.number
    assert certificate.verification_code != abandoned.verification_code
    assert C.certificate_by_code(db, abandoned.verification_code) is None


# --- rotation and tampering ----------------------------------------------------------------------


@pytest.mark.slow
def test_rotation_keeps_old_certificates_verifying(
    db: Session, world: CertificateWorld, storage: Any
) -> None:
    old = issue(db, world)
    for purpose in (KeyPurpose.PDF_SEAL, KeyPurpose.CREDENTIAL):
        rotate_key(db, None, world.ente, purpose, PASS, ISSUE_TIME)
    db.commit()
    other = _certified_second(db, world)
    new = issue(db, world, other)
    assert new.seal_kid != old.seal_kid and new.credential_kid != old.credential_kid
    for certificate in (old, new):
        pdf = storage.get(certificate.pdf_sha256)
        assert check_seal(pdf, _root_pem(db)).ok
        credential = json.loads(storage.get(certificate.credential_sha256))
        assert credentials.verify_credential(credential, registry_resolver(db)).ok


def _certified_second(db: Session, world: CertificateWorld) -> Any:
    """A second certified case of a new candidate (same ente, same panel)."""
    from tests.support.factories import competence, make_evidence, make_experience

    candidate = make_candidate(db)
    case = make_case(
        db,
        candidate=candidate,
        ente=world.ente,
        tutor=world.tutor,
        status=CaseStatus.TRANSPARENCY_ISSUED,
        codes=("DEMO-C01", "DEMO-C02"),
    )
    evidence = make_evidence(db, make_experience(db, candidate.person))
    from certification.portfolio.operations import link_evidence

    link_evidence(db, candidate, evidence, competence(db, "DEMO-C01"), None, "", LATER)
    certified = _certified(db, replace(world, case=case, candidate=candidate, evidence=evidence))
    db.commit()
    return certified


@pytest.mark.slow
def test_tampering_is_detected(db: Session, world: CertificateWorld, storage: Any) -> None:
    certificate = issue(db, world)
    pdf = storage.get(certificate.pdf_sha256)
    root = _root_pem(db)
    flipped = bytearray(pdf)
    flipped[len(pdf) // 3] ^= 0x01
    assert not check_seal(bytes(flipped), root).ok
    assert not check_seal(pdf + b"\n%%EOF\n", root).ok
    credential = json.loads(storage.get(certificate.credential_sha256))
    credential["credentialSubject"]["achievement"]["name"] = "Laurea in medicina"
    assert (
        credentials.verify_credential(credential, registry_resolver(db)).reason == "bad_signature"
    )


# --- status --------------------------------------------------------------------------------------


def _bit(db: Session, certificate: Certificate, purpose: StatusPurpose) -> bool:
    listed = db.scalar(
        select(StatusList).where(
            StatusList.organisation_id == certificate.organisation_id, StatusList.purpose == purpose
        )
    )
    assert listed is not None and listed.credential is not None
    assert credentials.verify_credential(listed.credential, registry_resolver(db)).ok
    bits = credentials.decode_bitstring(listed.credential["credentialSubject"]["encodedList"])
    return credentials.get_bit(bits, certificate.status_index)


@pytest.mark.slow
def test_suspend_reinstate_revoke(db: Session, world: CertificateWorld) -> None:
    certificate = issue(db, world)
    signatory = world.signatory

    def publish(listed: StatusList) -> None:
        publish_status_list(db, listed, PASS, BASE, ISSUE_TIME)

    with pytest.raises(NotPermitted):
        C.revoke_certificate(db, world.certifier, certificate, "other", "No.", ISSUE_TIME)
    with pytest.raises(InvalidInput):
        C.revoke_certificate(db, signatory, certificate, "made_up", "No.", ISSUE_TIME)
    publish(
        C.suspend_certificate(
            db, signatory, certificate, "fraud_report", "Segnalazione.", ISSUE_TIME
        )
    )
    assert certificate.status == CertificateStatus.SUSPENDED
    assert _bit(db, certificate, StatusPurpose.SUSPENSION)
    publish(C.reinstate_certificate(db, signatory, certificate, "Verifica conclusa.", ISSUE_TIME))
    assert certificate.status == CertificateStatus.ISSUED
    assert not _bit(db, certificate, StatusPurpose.SUSPENSION)
    publish(
        C.revoke_certificate(db, signatory, certificate, "false_evidence", "Falso.", ISSUE_TIME)
    )
    assert certificate.status == CertificateStatus.REVOKED
    assert _bit(db, certificate, StatusPurpose.REVOCATION)
    with pytest.raises(Conflict):  # revocation is irreversible
        C.reinstate_certificate(db, signatory, certificate, "Ripensamento.", ISSUE_TIME)


@pytest.mark.slow
def test_a_correction_supersedes(db: Session, world: CertificateWorld) -> None:
    old = issue(db, world)
    world.candidate.person.family_name = "Rossi-Bianchi"
    db.commit()
    new = issue_one(
        world.issuer,
        world.signatory.id,
        world.case.id,
        supersedes_id=old.id,
        correction_note="Cognome errato.",
    )
    db.expire_all()
    assert old.status == CertificateStatus.SUPERSEDED and old.superseded_by_id == new.id
    fresh = db.get(Certificate, new.id)
    assert fresh.generation == 2 and fresh.supersedes_id == old.id
    assert fresh.content["holder"]["family_name"] == "Rossi-Bianchi"
    assert fresh.content["supersedes"] == old.number


# --- bulk ----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 1])
def test_bulk_issuance_is_idempotent(db: Session, world: CertificateWorld, workers: int) -> None:
    second = _certified_second(db, world)
    not_ready = make_case(db, candidate=make_candidate(db), ente=world.ente, codes=("DEMO-C01",))
    db.commit()
    ids = [world.case.id, second.id, not_ready.id]
    bulk, created = start_bulk(db, world.signatory, "batch-2026-11", ids, ISSUE_TIME)
    db.commit()
    assert created
    seen: list[Any] = []
    results = run_bulk(world.issuer, bulk.id, workers=workers, progress=seen.append)
    by_case = {r.case_id: r for r in results}
    assert [by_case[str(i)].status for i in ids] == ["issued", "issued", "failed"]
    assert by_case[str(not_ready.id)].error == "invalid_input" and seen == results
    db.expire_all()
    again, created = start_bulk(db, world.signatory, "batch-2026-11", ids, ISSUE_TIME)
    assert not created and again.id == bulk.id and again.finished_at is not None
    assert run_bulk(world.issuer, bulk.id, workers=workers) == []  # nothing twice
    assert _count(db) == 2
    with pytest.raises(Conflict):
        start_bulk(db, world.signatory, "batch-2026-11", ids[:1], ISSUE_TIME)


@pytest.mark.slow
def test_a_bulk_item_is_recorded_with_its_certificate(
    db: Session, world: CertificateWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The item's progress commits in the certificate's own transaction: a process that dies
    right after that commit leaves no issued certificate shown as pending."""
    bulk, _ = start_bulk(db, world.signatory, "batch-crash", [world.case.id], ISSUE_TIME)
    db.commit()

    class Killed(BaseException):
        """Stands for SIGKILL: nothing after it runs (not even an except Exception)."""

    def crash(point: str) -> None:
        if point == "committed":
            raise Killed

    monkeypatch.setattr("certification.certificates.issuance.crash_point", crash)
    with pytest.raises(Killed):
        run_bulk(world.issuer, bulk.id, workers=0)
    db.expire_all()
    [item] = db.get_one(type(bulk), bulk.id).items
    certificate = db.scalars(select(Certificate).where(Certificate.case_id == world.case.id)).one()
    assert certificate.status == CertificateStatus.ISSUED
    assert item == {
        "case_id": str(world.case.id),
        "status": "issued",
        "certificate_id": str(certificate.id),
        "number": certificate.number,
        "verification_code": certificate.verification_code,
    }
    assert db.get_one(type(bulk), bulk.id).finished_at is not None


@pytest.mark.slow
def test_a_bulk_request_completes_in_one_transaction_and_a_kill_inside_it_leaves_all_pending(
    db: Session, world: CertificateWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certificates of a bulk request are completed in batches, one commit per batch;
    killed half-way through a batch (one item written, none committed), every item of it is
    PENDING with no files recorded, and `certificates recover` then issues each one."""
    second = _certified_second(db, world)
    ids = [world.case.id, second.id]
    bulk, _ = start_bulk(db, world.signatory, "batch-kill-0001", ids, ISSUE_TIME)
    db.commit()

    class Killed(BaseException):
        """Stands for SIGKILL: nothing after it runs (not even an except Exception)."""

    reached: list[str] = []
    armed = [True]

    def crash(point: str) -> None:
        reached.append(point)
        if point == "batched" and armed[0]:
            armed[0] = False
            raise Killed

    monkeypatch.setattr("certification.certificates.issuance.crash_point", crash)
    with pytest.raises(Killed):
        run_bulk(world.issuer, bulk.id, workers=0)
    assert "committed" not in reached  # nothing of the batch was committed
    db.expire_all()
    rows = db.scalars(select(Certificate).where(Certificate.case_id.in_(ids))).all()
    assert sorted(c.status for c in rows) == [CertificateStatus.PENDING] * 2
    assert all(c.pdf_sha256 is None and c.credential_sha256 is None for c in rows)
    assert [i["status"] for i in db.get_one(type(bulk), bulk.id).items] == ["pending"] * 2
    reached.clear()
    world.clock[0] = ISSUE_TIME + dt.timedelta(hours=1)  # the reservations are stale
    recovered = recover_pending(world.issuer)
    assert sorted(r.status for r in recovered) == ["issued", "issued"]
    # The request run again finds both issued (no second certificate) and records them.
    results = run_bulk(world.issuer, bulk.id, workers=0)
    assert [r.status for r in results] == ["issued", "issued"]
    db.expire_all()
    assert [i["status"] for i in db.get_one(type(bulk), bulk.id).items] == ["issued"] * 2
    assert _count(db) == 2

    # A request whose items all reach completion together: one batch, one commit.
    third, fourth = _certified_second(db, world), _certified_second(db, world)
    batch, _ = start_bulk(
        db, world.signatory, "batch-one-commit", [third.id, fourth.id], ISSUE_TIME
    )
    db.commit()
    reached.clear()
    results = run_bulk(world.issuer, batch.id, workers=0)
    assert [r.status for r in results] == ["issued", "issued"]
    assert reached.count("batched") == 2 and reached.count("committed") == 1
    db.expire_all()
    assert db.get_one(type(batch), batch.id).finished_at is not None


# --- codes ---------------------------------------------------------------------------------------


def test_codes_are_random_and_forgiving() -> None:
    codes = {C.new_verification_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 27 for c in codes)
    assert all(C.normalise_code(c) == c for c in codes)  # their check characters hold
    code = "0123456789ABCDEFGHJKMNPQRSD"  # D: the check character of the 26 before it
    assert C.format_code(code) == "0123-4567-89AB-CDEF-GHJK-MNPQ-RSD"
    assert C.normalise_code(C.format_code(code).lower()) == code
    assert C.normalise_code("O123456789abcdefghjkmnpqrsd") == code  # O read as 0
    assert C.normalise_code(code[:-1] + "E") is None  # the check character is wrong
    assert C.normalise_code("short") is None
    assert C.normalise_code(code + "X") is None
    # A code of before the check character (26 symbols) is read as it always was.
    legacy = code[:-1]
    assert C.format_code(legacy) == "01234-56789-ABCDE-FGHJK-MNPQRS"
    assert C.normalise_code(C.format_code(legacy).lower()) == legacy
