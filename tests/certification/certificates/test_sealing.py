from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification.certificates.sealing import PdfSealer, check_seal
from certification.demo.portfolio import simple_pdf
from certification.keys.management import init_keys
from certification.keys.material import active_key
from certification.models import KeyPurpose
from certification.people.roles import OrganisationKind
from tests.support.clock import NOW
from tests.support.factories import make_organisation
from tests.support.services import require_tool

PASS = b"test passphrase"


@pytest.fixture
def sealed(db: Session) -> dict[str, Any]:
    ente = make_organisation(
        db, OrganisationKind.ENTE_TITOLATO, code="CML", legal_name="Consorzio Test"
    )
    init_keys(db, None, PASS, NOW)
    root = active_key(db, None, KeyPurpose.ROOT_CA)
    seal = active_key(db, ente.id, KeyPurpose.PDF_SEAL)
    sealer = PdfSealer(seal, root, PASS)
    pdf = sealer.seal(
        simple_pdf("Certificato", ["Giulia Rossi", "DEMO-C01"]),
        reason="Certificato di competenze",
        location="Cremona",
    )
    return {"pdf": pdf, "root": root.certificate_pem, "seal": seal, "sealer": sealer}


def test_a_sealed_pdf_checks_out(sealed: dict[str, Any]) -> None:
    result = check_seal(sealed["pdf"], sealed["root"])
    assert result.ok, result
    assert result.signer_kid == sealed["seal"].kid


def test_pdfsig_independently_reports_the_seal_valid_and_trusted(
    sealed: dict[str, Any], tmp_path: Any
) -> None:
    pdfsig, certutil = require_tool("pdfsig"), require_tool("certutil")
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed["pdf"])
    nss = tmp_path / "nss"
    nss.mkdir()
    root = tmp_path / "root.pem"
    root.write_text(sealed["root"])
    subprocess.run([certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        [
            certutil,
            "-A",
            "-n",
            "attesta-root",
            "-t",
            "CT,CT,CT",
            "-i",
            str(root),
            "-d",
            f"sql:{nss}",
        ],
        check=True,
    )
    out = subprocess.run(
        [pdfsig, "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True, check=False
    ).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out
    assert "Total document signed" in out and "Consorzio Test" in out


def _other_root_sealer(db: Session) -> PdfSealer:
    # A look-alike: a second installation with the same names, hence another root CA.
    from certification.models import SigningKey

    for key in db.query(SigningKey).all():
        key.retired_at = NOW
    db.flush()
    ente = make_organisation(
        db,
        OrganisationKind.ENTE_TITOLATO,
        code="FAKE",
        legal_name="Consorzio Test",
        tax_code="T-FAKE",
    )
    init_keys(db, None, PASS, NOW)
    return PdfSealer(
        active_key(db, ente.id, KeyPurpose.PDF_SEAL), active_key(db, None, KeyPurpose.ROOT_CA), PASS
    )


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("appended", "not_entire_file"),
        ("flipped", "not_intact"),
        ("second_signature", "signature_count"),
        ("lookalike_ca", "not_trusted"),
        ("unsigned", "signature_count"),
        ("garbage", "malformed"),
        ("truncated", "malformed"),
    ],
)
def test_attacks_on_the_seal_are_refused(
    db: Session, sealed: dict[str, Any], attack: str, reason: str
) -> None:
    pdf = sealed["pdf"]
    if attack == "appended":
        pdf = pdf + b"\n% a trailing comment\n"
    elif attack == "flipped":
        index = pdf.index(b"Giulia")
        pdf = pdf[:index] + b"Giulio" + pdf[index + 6 :]
    elif attack == "second_signature":
        # pyHanko refuses to sign over our no-changes seal; another tool would not, so build a
        # document with two genuine signatures and check that more than one is refused.
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers

        pdf = simple_pdf("Certificato", ["Giulia Rossi"])
        for name in ("Prima", "Seconda"):
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            meta = signers.PdfSignatureMetadata(field_name=name)
            pdf = bytes(signers.sign_pdf(writer, meta, signer=sealed["sealer"]._signer).getbuffer())
        assert check_seal(pdf, sealed["root"]).reason == "signature_count"
    elif attack == "lookalike_ca":
        pdf = _other_root_sealer(db).seal(
            simple_pdf("Certificato", ["Giulia Rossi"]), reason="x", location="y"
        )
    elif attack == "unsigned":
        pdf = simple_pdf("Certificato", ["Giulia Rossi"])
    elif attack == "garbage":
        pdf = b"%PDF-1.7\nnot really"
    elif attack == "truncated":
        pdf = pdf[: len(pdf) // 2]
    result = check_seal(pdf, sealed["root"])
    assert not result.ok, attack
    assert result.reason.startswith(reason), result
