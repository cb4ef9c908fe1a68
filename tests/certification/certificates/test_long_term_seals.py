"""Seals that outlive their certificates (issue 21 item 4): PAdES B-LTA with Attesta's own
time-stamping authority, validation as of the time-stamp, compromise, renewal, a failing TSA."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from asn1crypto import tsp
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.certificates.issuance import issue_one, recover_pending
from certification.certificates.production import (
    IssuerSigner,
    produce_certificate,
    signer_material,
    timestamp_source,
)
from certification.certificates.sealing import check_seal
from certification.certificates.timestamps import (
    TimestampKeyExpiring,
    local_tsa_ends,
    refresh_timestamps,
)
from certification.certificates.tsa import (
    DEMO_POLICY,
    DemoTimestampAuthority,
    TimestampUnavailable,
)
from certification.keys.management import TIMESTAMP_NAME, init_keys, mark_compromised
from certification.keys.material import KeyMaterial, active_key
from certification.keys.revocation import root_crl
from certification.models import Certificate, CertificateStatus, KeyPurpose, SigningKey
from certification.portfolio.sandbox import SealChecker
from certification.verification.checks import verify_pdf
from tests.support.certificates import (
    ISSUE_TIME,
    PASS,
    CertificateWorld,
    found_again,
    make_issuer,
)
from tests.support.transactions import savepoint
from tests.support.worlds import another_case, certified


def _root_pem(db: Session) -> str:
    return active_key(db, None, KeyPurpose.ROOT_CA).certificate_pem or ""


# --- one certificate for the module (as tests.support.certificates says) -------------------
# The tests share one sealed certificate; what a test changes in the register (a compromised
# key, a refreshed file, a renewed TSA) is rolled back with its SAVEPOINT (a refreshed file
# stays in the module's store, under its own digest, referred to by nothing). The tests of a
# failing TSA need a certificate still to issue: another case of the same ente (``another``).
pytestmark = pytest.mark.xdist_group("long-term-seals")


@pytest.fixture
def connection(
    module_connection: Connection, module_certificate: dict[str, Any]
) -> Iterator[Connection]:
    """The suite's ``connection``, here a SAVEPOINT of the module's transaction."""
    yield from savepoint(module_connection)


@pytest.fixture
def storage(module_certificate: dict[str, Any]) -> Any:
    return module_certificate["storage"]


@pytest.fixture
def world(
    db: Session, connection: Connection, module_certificate: dict[str, Any], renderer: Any
) -> CertificateWorld:
    """The module's world as the test's session sees it, with an issuer of its own on the
    test's SAVEPOINT."""
    found = found_again(db, module_certificate["rows"])
    found.pop("certificate")
    found.pop("row", None)
    clock = [ISSUE_TIME]
    return CertificateWorld(
        **found,
        issuer=make_issuer(connection, module_certificate["storage"], renderer, clock),
        clock=clock,
    )


@pytest.fixture
def certificate(db: Session, module_certificate: dict[str, Any]) -> Certificate:
    """The module's sealed certificate."""
    found = found_again(db, module_certificate["rows"])["certificate"]
    assert isinstance(found, Certificate)
    return found


@pytest.fixture
def another(db: Session, world: CertificateWorld) -> CertificateWorld:
    """The world with another certified case of its ente, its certificate not issued yet."""
    w = another_case(db, world)
    case = certified(db, w)
    db.commit()
    return dataclasses.replace(w, case=case)


def _ends(pem: str | None) -> dt.datetime:
    return x509.load_pem_x509_certificate((pem or "").encode()).not_valid_after_utc


def test_attestas_tsa_is_a_demo_tsa_under_the_root(db: Session, world: CertificateWorld) -> None:
    tsa = active_key(db, None, KeyPurpose.TIMESTAMP)
    root = active_key(db, None, KeyPurpose.ROOT_CA)
    certificate = x509.load_pem_x509_certificate((tsa.certificate_pem or "").encode())
    assert TIMESTAMP_NAME in certificate.subject.rfc4514_string()
    assert "DEMO" in TIMESTAMP_NAME
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical and list(usage.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
    assert (
        certificate.issuer
        == x509.load_pem_x509_certificate((root.certificate_pem or "").encode()).subject
    )
    assert "ENCRYPTED" in tsa.private_key_pem  # stored like every other key
    assert init_keys(db, None, PASS, ISSUE_TIME) == []  # idempotent


def test_a_certificate_is_sealed_pades_b_lta_and_stays_pdf_1_7(
    db: Session, certificate: Certificate, storage: Any
) -> None:
    pdf = storage.get(certificate.pdf_sha256)
    reader = PdfFileReader(io.BytesIO(pdf))
    kinds = [str(s.sig_object_type) for s in reader.embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp"]
    seal = reader.embedded_signatures[0]
    # the signature time-stamp (B-T), from the demo TSA under its demo policy
    token = next(extract_tst_data_iter(seal.signer_info, signed=False), None)
    assert token is not None
    info = token["encap_content_info"]["content"].parsed
    assert info["policy"].dotted == DEMO_POLICY
    assert TIMESTAMP_NAME in info["tsa"].chosen.human_friendly
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) >= 1 and len(dss["/Certs"]) >= 2  # B-LT: chain and our CRL
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert opened.pdf_version == "1.7"  # the PDF/A-3 claim holds after sealing
    result = check_seal(pdf, _root_pem(db), now=ISSUE_TIME)
    assert result.ok, result
    assert result.signed_at == ISSUE_TIME
    assert result.signatures == 2


@pytest.mark.slow
def test_the_seal_outlives_its_certificate_but_a_plain_seal_does_not(
    db: Session,
    world: CertificateWorld,
    certificate: Certificate,
    storage: Any,
    checker: SealChecker,
) -> None:
    pdf = storage.get(certificate.pdf_sha256)
    seal = db.get(SigningKey, certificate.seal_kid)
    after = _ends(seal.certificate_pem) + dt.timedelta(days=30)
    assert after < _ends(active_key(db, None, KeyPurpose.TIMESTAMP).certificate_pem)
    assert check_seal(pdf, _root_pem(db), now=ISSUE_TIME).ok
    later = check_seal(pdf, _root_pem(db), now=after)
    assert later.ok, later
    assert later.signed_at == ISSUE_TIME
    # By upload, in the limited child process, as of that later day: still valid.
    assert verify_pdf(db, pdf, checker, after).verdict.value == "valid"
    checked = checker.check(pdf, [_root_pem(db)], attachment="credential.json", now=after)
    assert checked.ok, checked
    # The same seal without a time-stamp proves nothing once its certificate expired.
    plain = IssuerSigner(
        dataclasses.replace(
            signer_material(db, certificate.organisation_id, None), timestamping=None
        ),
        PASS,
    )
    produced = produce_certificate(
        certificate.content,
        certificate.locale,
        plain,
        world.issuer.renderer,
        clock=lambda: ISSUE_TIME,
    )
    assert check_seal(produced.pdf, _root_pem(db), now=ISSUE_TIME).ok
    assert check_seal(produced.pdf, _root_pem(db), now=after).reason == "expired"


def test_a_seal_made_after_the_keys_compromise_does_not_verify(
    db: Session,
    world: CertificateWorld,
    certificate: Certificate,
    storage: Any,
    checker: SealChecker,
) -> None:
    good = storage.get(certificate.pdf_sha256)
    material = signer_material(db, certificate.organisation_id, None)
    compromised_at = ISSUE_TIME + dt.timedelta(days=2)
    mark_compromised(db, None, certificate.seal_kid, compromised_at, compromised_at)
    db.commit()
    # The CRL published from now on lists the seal certificate, as of the compromise.
    crl = x509.load_der_x509_crl(root_crl(db, PASS, compromised_at + dt.timedelta(hours=1)))
    seal_serial = x509.load_pem_x509_certificate(
        (material.seal.certificate_pem or "").encode()
    ).serial_number
    revoked = crl.get_revoked_certificate_by_serial_number(seal_serial)
    assert revoked is not None and revoked.revocation_date_utc == compromised_at
    # A thief with the key seals the same certificate (a changed copy) after the compromise.
    stolen = dataclasses.replace(
        material,
        seal=KeyMaterial(
            material.seal.kid, material.seal.private_key_pem, material.seal.certificate_pem
        ),
    )
    forged = produce_certificate(
        certificate.content,
        certificate.locale,
        IssuerSigner(stolen, PASS),
        world.issuer.renderer,
        clock=lambda: compromised_at + dt.timedelta(days=1),
    ).pdf
    when = compromised_at + dt.timedelta(days=3)
    result = verify_pdf(db, forged, checker, when)
    assert result.verdict.value != "valid"
    assert result.dimension("signature").state == "key_compromised"
    # What was sealed before the compromise stays valid, by the register and by its seal.
    assert verify_pdf(db, good, checker, when).verdict.value == "valid"
    assert check_seal(good, _root_pem(db), now=when).signed_at == ISSUE_TIME


class _Down(TimeStamper):
    async def async_timestamp(self, message_digest: Any, md_algorithm: Any) -> Any:
        raise OSError("connection refused")


class _Garbage(TimeStamper):
    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp({"status": {"status": "granted"}})  # no token at all


class _OtherDigest(TimeStamper):
    """A TSA that answers with a well-signed token over another digest (a replayed token)."""

    def __init__(self, authority: DemoTimestampAuthority) -> None:
        super().__init__()
        self._authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        imprint = req["message_imprint"]
        other = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {
                    "hash_algorithm": imprint["hash_algorithm"],
                    "hashed_message": bytes(32),
                },
                "nonce": req["nonce"],
                "cert_req": True,
            }
        )
        return self._authority.respond(other, ISSUE_TIME)


@pytest.mark.slow
@pytest.mark.parametrize("failing", ["down", "garbage", "other digest"])
def test_a_failing_tsa_leaves_the_reservation_pending_for_recover(
    db: Session, another: CertificateWorld, storage: Any, failing: str
) -> None:
    world = another
    issuer = world.issuer
    with issuer.session_factory() as session:
        signer = issuer.signer(signer_material(session, world.ente.id, None))
    working = signer.sealer.timestamps
    assert isinstance(working, DemoTimestampAuthority)
    stubs: dict[str, Callable[[], TimeStamper]] = {
        "down": _Down,
        "garbage": _Garbage,
        "other digest": lambda: _OtherDigest(working),
    }
    signer.sealer.timestamps = lambda now: stubs[failing]()
    with pytest.raises(TimestampUnavailable) as raised:
        issue_one(issuer, world.signatory.id, world.case.id)
    assert raised.value.code == "timestamp_unavailable"
    db.expire_all()
    [pending] = db.query(Certificate).filter(Certificate.case_id == world.case.id).all()
    assert pending.status == CertificateStatus.PENDING and pending.pdf_sha256 is None
    # Still down: recover leaves it pending and says why.
    world.clock[0] = ISSUE_TIME + dt.timedelta(hours=1)
    [result] = recover_pending(issuer)
    assert result.status == "failed" and result.error == "timestamp_unavailable"
    db.expire_all()
    assert db.get(Certificate, pending.id).status == CertificateStatus.PENDING
    # The TSA is back: recover finishes the same reservation.
    signer.sealer.timestamps = working
    [result] = recover_pending(issuer)
    assert result.status == "issued" and result.number == pending.number
    db.expire_all()
    done = db.get(Certificate, pending.id)
    assert done.status == CertificateStatus.ISSUED
    assert check_seal(storage.get(done.pdf_sha256), _root_pem(db)).ok


@pytest.mark.slow
def test_refresh_adds_a_document_timestamp_before_the_tsa_expires_once(
    db: Session, certificate: Certificate, storage: Any, checker: SealChecker
) -> None:
    first = storage.get(certificate.pdf_sha256)
    old_tsa = active_key(db, None, KeyPurpose.TIMESTAMP)
    near = _ends(old_tsa.certificate_pem) - dt.timedelta(days=30)

    def refresh(at: dt.datetime) -> list[Any]:
        material = signer_material(db, certificate.organisation_id, None)
        source = timestamp_source(material, PASS)
        assert source is not None
        return refresh_timestamps(
            db,
            None,
            storage,
            source,
            _root_pem(db),
            root_crl(db, PASS, at),
            at,
            within=dt.timedelta(days=60),
            tsa_ends=local_tsa_ends(source),
        )

    with pytest.raises(TimestampKeyExpiring):  # the TSA itself is about to expire: renew it
        refresh(near)
    [renewed_tsa] = init_keys(db, None, PASS, near)
    assert renewed_tsa.purpose == KeyPurpose.TIMESTAMP
    assert db.get(SigningKey, old_tsa.kid).retired_at == near
    [renewal] = refresh(near)
    assert refresh(near) == []  # idempotent: the latest time-stamp is the new TSA's
    db.expire_all()
    stored = db.get(Certificate, certificate.id)
    assert stored.pdf_sha256 == renewal.new_sha256 != renewal.old_sha256
    renewed = storage.get(stored.pdf_sha256)
    assert renewed.startswith(first)  # an incremental update: the seal untouched
    kinds = [str(s.sig_object_type) for s in PdfFileReader(io.BytesIO(renewed)).embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp", "/DocTimeStamp"]
    # Past the first TSA's expiry: the renewed file still verifies, the old one cannot.
    past = _ends(old_tsa.certificate_pem) + dt.timedelta(days=1)
    result = check_seal(renewed, _root_pem(db), now=past)
    assert result.ok, result
    assert result.signed_at == ISSUE_TIME
    assert check_seal(first, _root_pem(db), now=past).reason == "expired"
    # By upload, both the renewed file and the holder's earlier download are the certificate
    # we issued, byte for byte (the earlier one by the digest kept at the renewal).
    for uploaded in (renewed, first):
        result = verify_pdf(db, uploaded, checker, past)
        assert result.verdict.value == "valid", result
        assert result.dimension("identical").state == "identical"
        assert result.certificate is not None and result.certificate.id == certificate.id
    # Bytes that are neither (the earlier download with a byte changed) are not.
    changed = first[:-200] + bytes([first[-200] ^ 1]) + first[-199:]
    assert verify_pdf(db, changed, checker, past).verdict.value != "valid"


@pytest.mark.slow
def test_pyhankos_own_validator_finds_the_seal_intact_trusted_and_time_stamped(
    db: Session, certificate: Certificate, storage: Any, tmp_path: Path
) -> None:
    """The independent check of the issue: `pyhanko sign validate --trust root.pem`."""
    pyhanko = Path(sys.executable).with_name("pyhanko")
    if not pyhanko.exists():
        pytest.skip("pyhanko-cli is not installed (make install puts it in the dev tools)")
    pdf = tmp_path / "certificato.pdf"
    pdf.write_bytes(storage.get(certificate.pdf_sha256))
    root = tmp_path / "root.pem"
    root.write_text(_root_pem(db))
    done = subprocess.run(
        [
            str(pyhanko),
            *("sign", "validate", "--trust", str(root), "--trust-replace"),
            "--pretty-print",
            str(pdf),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = done.stdout
    assert done.returncode == 0, report + done.stderr
    assert "The signer's certificate is trusted." in report
    assert "Signature timestamp token: 2026-11-10T09:30:00+00:00" in report  # ISSUE_TIME
    assert 'TSA certificate subject: "Common Name: Attesta DEMO timestamping authority' in report
    assert "The TSA certificate is trusted." in report
    assert "All modifications relate to signature maintenance" in report  # the DSS, the stamp
    assert "The signature is judged VALID." in report
