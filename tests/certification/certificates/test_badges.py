"""The profile badge: drawn the same way every time, frozen in a new certificate's content,
the achievement's ``image`` in the credential (also inside the sealed PDF), verified by our
checks and by digitalbazaar's verifier; certificates issued before badges stay as issued."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from certification.certificates import badges, credentials
from certification.certificates import lifecycle as C
from certification.certificates.issuance import recover_pending
from certification.models import Certificate, CertificateStatus
from certification.verification.checks import (
    Verdict,
    verify_code,
    verify_credential_json,
    verify_pdf,
)
from tests.support.certificates import (
    BASE,
    ISSUE_TIME,
    CertificateWorld,
    NoChecker,
    embedded_credential,
    issue,
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

NOW = ISSUE_TIME + dt.timedelta(days=30)
PNG_PREFIX = "data:image/png;base64,"


def _png(data_uri: str) -> Image.Image:
    assert data_uri.startswith(PNG_PREFIX)
    raw = base64.b64decode(data_uri[len(PNG_PREFIX) :], validate=True)
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(raw) < 8_000  # a few kilobytes in every credential
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def test_the_badge_is_deterministic_per_profile_and_language() -> None:
    title = "Animatore di spazi di coworking e community"
    first = badges.badge_png("DEMO-P01", title, "it")
    badges.badge_png.cache_clear()
    assert badges.badge_png("DEMO-P01", title, "it") == first
    assert badges.badge_png("DEMO-P02", title, "it") != first
    assert badges.badge_png("DEMO-P01", "Co-working space and community animator", "en") != first
    image = Image.open(io.BytesIO(first))
    assert (image.format, image.size) == ("PNG", (200, 200))
    # Outside the disc is transparent; the centre is drawn.
    rgba = image.convert("RGBA")
    assert rgba.getpixel((0, 0))[3] == 0 and rgba.getpixel((100, 30))[3] == 255
    with pytest.raises(ValueError, match="no badge language"):
        badges.badge_png("DEMO-P01", title, "de")


def test_a_long_title_is_cut_to_three_lines_with_an_ellipsis() -> None:
    lines = badges.short_title("parola " * 30)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert badges.short_title("Breve titolo") == ["Breve titolo"]


@pytest.mark.slow
def test_a_new_certificate_carries_the_badge_in_its_achievement(
    db: Session,
    world: CertificateWorld,
    storage: Any,
) -> None:
    certificate = issue(db, world)
    profile = certificate.content["standard"]
    credential = json.loads(storage.get(certificate.credential_sha256))
    image = credential["credentialSubject"]["achievement"]["image"]
    assert image["type"] == "Image"
    assert image["caption"] == badges.caption(
        profile["profile_code"], profile[f"profile_title_{certificate.locale}"], certificate.locale
    )
    assert profile["profile_code"] in image["caption"]
    assert image["id"] == certificate.content["badge"]["image"]
    assert _png(image["id"]).size == (200, 200)
    # The credential sealed in the PDF is the same, image included.
    inside = json.loads(embedded_credential(storage.get(certificate.pdf_sha256)))
    assert inside["credentialSubject"]["achievement"]["image"] == image
    # Our own checks hold.
    assert verify_code(db, certificate.verification_code, NOW).verdict == Verdict.VALID
    credential_json = storage.get(certificate.credential_sha256)
    assert verify_credential_json(db, storage, credential_json, NOW).verdict == Verdict.VALID


@pytest.mark.slow
def test_a_certificate_issued_before_badges_stays_as_issued(
    db: Session,
    world: CertificateWorld,
    storage: Any,
) -> None:
    """Content without ``badge`` (as frozen before badges), produced by the real pipeline: no
    image in its credential, and it verifies as before."""
    reserved = C.reserve_certificate(
        db, world.signatory, world.case, ISSUE_TIME - dt.timedelta(hours=1), base_url=BASE
    )
    reserved.content = {k: v for k, v in reserved.content.items() if k != "badge"}
    frozen = dict(reserved.content)
    db.commit()
    (result,) = recover_pending(world.issuer)
    assert result.status == "issued", result
    db.expire_all()
    found = db.get(Certificate, reserved.id)
    assert found is not None and found.status == CertificateStatus.ISSUED
    assert found.content == frozen and "badge" not in found.content
    credential_json = storage.get(found.credential_sha256)
    assert "image" not in json.loads(credential_json)["credentialSubject"]["achievement"]
    assert verify_credential_json(db, storage, credential_json, NOW).verdict == Verdict.VALID
    pdf = storage.get(found.pdf_sha256)
    assert verify_pdf(db, pdf, NoChecker(), NOW).verdict == Verdict.VALID


@pytest.mark.slow
def test_the_independent_verifier_accepts_the_credential_with_its_image(
    db: Session,
    world: CertificateWorld,
    storage: Any,
    tmp_path: Any,
) -> None:
    """digitalbazaar's verifier (tools/vc-verify) on our credential with its badge image,
    re-signed under the test issuer whose profile and status lists it is given."""
    verifier = verifier_command()
    issued = json.loads(storage.get(issue(db, world).credential_sha256))
    credential = {k: v for k, v in issued.items() if k != "proof"}
    credential["issuer"] = {**credential["issuer"], "id": ISSUER_ID}
    credential["credentialStatus"] = [
        credentials.status_entry(REVOCATION_LIST, "revocation", STATUS_INDEX),
        credentials.status_entry(SUSPENSION_LIST, "suspension", STATUS_INDEX),
    ]
    assert credential["credentialSubject"]["achievement"]["image"]["id"].startswith(PNG_PREFIX)
    key = issuer_key()
    signed = credentials.sign_credential(credential, key, method_of(key), CREATED)
    code, output = run_verifier(verifier, tmp_path, signed)
    assert (code, output["verified"], output["errors"]) == (0, True, []), output
