"""Every forgery of tests/support/forgeries.py (security.md §2.1) is refused by the strict
seal check."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy.orm import Session

from certification.certificates.sealing import PdfSealer, check_seal
from certification.demo.portfolio import simple_pdf
from certification.keys.management import init_keys
from certification.keys.material import active_key
from certification.models import KeyPurpose
from certification.people.roles import OrganisationKind
from tests.support import forgeries
from tests.support.clock import NOW
from tests.support.factories import make_organisation

PASS = b"test passphrase"
CREDENTIAL = json.dumps({"type": ["VerifiableCredential"], "name": "Giulia Rossi"}).encode()


def _with_credential(pdf: bytes) -> bytes:
    """``pdf`` with ``credential.json`` embedded, like a real certificate (which WeasyPrint
    renders as PDF/A-3; that costs more than this test needs)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    data = embed.EmbeddedFileObject.from_file_data(writer, CREDENTIAL, mime_type="application/json")
    embed.embed_file(writer, embed.FileSpec(file_spec_string="credential.json", embedded_data=data))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def sealed(db: Session) -> dict[str, Any]:
    ente = make_organisation(
        db, OrganisationKind.ENTE_TITOLATO, code="CML", legal_name="Consorzio Test"
    )
    init_keys(db, None, PASS, NOW)
    root = active_key(db, None, KeyPurpose.ROOT_CA)
    seal = active_key(db, ente.id, KeyPurpose.PDF_SEAL)
    pdf = PdfSealer(seal, root, PASS).seal(
        _with_credential(simple_pdf("Certificato", ["Giulia Rossi", "DEMO-C01"])),
        reason="Certificato di competenze",
        location="Cremona",
    )
    return {"pdf": pdf, "root": root.certificate_pem, "seal": seal}


def test_the_genuine_seal_checks_out(sealed: dict[str, Any]) -> None:
    result = check_seal(sealed["pdf"], sealed["root"], attachment="credential.json")
    assert result.ok, result
    assert result.signer_kid == sealed["seal"].kid
    assert result.attachment == CREDENTIAL


Forge = Callable[[bytes], bytes]

FORGERIES = [
    pytest.param(forgeries.incremental_update, "not_entire_file", id="A1-isa"),
    pytest.param(forgeries.shadow_swap_contents, "not_entire_file", id="A2-shadow"),
    pytest.param(
        lambda pdf: forgeries.replace_attachment(pdf, b'{"name": "Mallory Attacker"}'),
        "not_entire_file",
        id="attachment-swapped",
    ),
    pytest.param(forgeries.append_object_without_xref, "malformed", id="A3-bare-object"),
    pytest.param(
        lambda pdf: forgeries.append_object_without_xref(pdf, eof_marker=False),
        "not_entire_file",
        id="A3-bare-object-no-eof",
    ),
    pytest.param(forgeries.append_garbage, "not_entire_file", id="A4-tail"),
    pytest.param(forgeries.zero_signature_contents, "malformed", id="A5-usf-contents"),
    pytest.param(forgeries.remove_byterange, "malformed", id="A6-usf-no-byterange"),
    pytest.param(forgeries.zero_byterange, "not_intact", id="A7-usf-zero-byterange"),
    pytest.param(forgeries.flip_byte_in_signed_range, "not_intact", id="A8-flipped"),
    pytest.param(forgeries.add_second_signature, "signature_count", id="A12-second-signature"),
    pytest.param(forgeries.truncate, "malformed", id="truncated"),
    pytest.param(lambda _: forgeries.garbage(), "malformed", id="garbage"),
    # Any refusal will do for these two.
    pytest.param(forgeries.encrypt, "", id="encrypted-sealed"),
    pytest.param(
        lambda _: forgeries.encrypt(simple_pdf("Certificato", ["Giulia Rossi"])),
        "",
        id="encrypted-unsigned",
    ),
    # Refused by pyHanko's decode limit (256 MiB per stream) in ~0.2 s, ~130 MiB peak.
    pytest.param(lambda _: forgeries.flate_bomb(), "", id="flate-bomb"),
]


@pytest.mark.parametrize(("forge", "reason"), FORGERIES)
def test_forgeries_are_refused(sealed: dict[str, Any], forge: Forge, reason: str) -> None:
    forged = forge(sealed["pdf"])
    assert forged != sealed["pdf"]
    result = check_seal(forged, sealed["root"], attachment="credential.json")
    assert not result.ok, result
    assert result.reason.startswith(reason), result
