"""Certificates on the web: the signatory issues, the holder downloads, status changes publish."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
import uuid
from typing import Any
from urllib.parse import unquote_plus

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import credentials
from certification.keys import init_keys
from certification.models import Certificate, CertificateStatus, OutboxMessage
from certification.roles import Role
from certification.states import CaseStatus
from tests.certification.test_assessment import w  # noqa: F401 - the `w` fixture
from tests.certification.test_certificates import _resolver, embedded_credential
from tests.conftest import NOW, login, post_form, require_tool
from tests.factories import PASSWORD, make_account, make_candidate
from tests.worlds import certified as _certified


@pytest.fixture
def stage(db: Session, app: Flask, w: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    w["signatory"] = make_account(db, roles=(Role.SIGNATORY,), organisation=w["ente"])
    case = _certified(db, w)
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
    db.commit()
    return {**w, "case": case}


def _issue(app: Flask, stage: dict[str, Any], db: Session) -> Certificate:
    client = app.test_client()
    login(client, stage["signatory"].email, PASSWORD)
    page = client.get(f"/cases/{stage['case'].id}").get_data(as_text=True)
    assert "Rilascia e sigilla il certificato" in page
    response = post_form(
        client, f"/cases/{stage['case'].id}/certificate", {}, page=f"/cases/{stage['case'].id}"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.expire_all()
    certificate = db.scalar(select(Certificate))
    assert certificate is not None
    assert response.headers["Location"].endswith(f"/certificates/{certificate.id}")
    return certificate


def _told(db: Session, stage: dict[str, Any], certificate: Certificate) -> int:
    """How many "your certificate is ready" e-mails the holder got for ``certificate``."""
    return sum(
        certificate.number in m.subject
        for m in db.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == stage["candidate"].email)
        )
    )


def test_signatory_issues_and_holder_downloads(
    app: Flask, stage: dict[str, Any], db: Session
) -> None:
    certificate = _issue(app, stage, db)
    assert certificate.status == CertificateStatus.ISSUED
    assert stage["case"].status == CaseStatus.CERTIFICATE_ISSUED
    assert _told(db, stage, certificate) == 1

    holder = app.test_client()
    login(holder, stage["candidate"].email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert certificate.number in page and "linkedin.com/profile/add" in page
    pdf = holder.get(f"/certificates/{certificate.id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert hashlib.sha256(pdf.data).hexdigest() == certificate.pdf_sha256  # the stored bytes
    assert pdf.content_length == len(pdf.data) and "no-store" in pdf.headers["Cache-Control"]
    # Streamed from the store, a resumed download still gets just the bytes it asks for.
    part = holder.get(
        f"/certificates/{certificate.id}/certificate.pdf", headers={"Range": "bytes=0-7"}
    )
    assert part.status_code == 206 and part.data == pdf.data[:8] == b"%PDF-1.7"
    raw = holder.get(f"/certificates/{certificate.id}/credential.json").data
    assert raw == embedded_credential(pdf.data)
    assert credentials.verify_credential(json.loads(raw), _resolver_for(app, db)).ok
    dashboard = holder.get("/dashboard").get_data(as_text=True)
    assert certificate.number in dashboard

    stranger = app.test_client()
    other = make_candidate(db)
    db.commit()
    login(stranger, other.email, PASSWORD)
    assert stranger.get(f"/certificates/{certificate.id}/certificate.pdf").status_code == 404


def test_a_partial_certificate_says_partial_on_every_page(
    app: Flask, stage: dict[str, Any], db: Session
) -> None:
    """Issue 19: the holder's page and home, the LinkedIn name, the public page and the API
    say that a certificate of single competences covers part of the profile."""
    certificate = _issue(app, stage, db)
    total = len(certificate.content["standard"]["profile_competences"])
    assert total > 1
    named = f"— singole competenze (1 di {total})"
    holder = app.test_client()
    login(holder, stage["candidate"].email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert re.search(rf"<h1>[^<]*{re.escape(named)}</h1>", page)
    assert "Certificazione di singole competenze" in page and "DEMO-C02" in page
    linkedin = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', page)
    assert linkedin and named in unquote_plus(html.unescape(linkedin.group(1)))
    assert named in holder.get("/dashboard").get_data(as_text=True)
    code = certificate.verification_code
    public = app.test_client().get(f"/verify/{code}").get_data(as_text=True)
    assert f"Singole competenze: 1 delle {total} del profilo" in public
    answer = app.test_client().get(f"/api/v1/verify/{code}").get_json()["certificate"]
    assert answer["coverage"]["partial"] is True
    assert (answer["coverage"]["covered"], answer["coverage"]["total"]) == (1, total)
    assert "DEMO-C02" in {m["code"] for m in answer["coverage"]["missing"]}


def test_the_holder_shares_the_link_and_the_qr_code(
    app: Flask, stage: dict[str, Any], db: Session, tmp_path: Any
) -> None:
    """Issue 19: the link to copy, the share sheet where there is one, the QR code on screen
    and to save as PNG and SVG; the PNG decodes to the public check of this certificate."""
    certificate = _issue(app, stage, db)
    url = f"{app.config['BASE_URL'].rstrip('/')}/verify/{certificate.verification_code}"
    holder = app.test_client()
    login(holder, stage["candidate"].email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert f'id="share-link" type="url" value="{url}" readonly' in page
    assert "data-copy=" in page and "data-share-url=" in page and "js/share.js" in page
    screen = holder.get(f"/certificates/{certificate.id}/qr").get_data(as_text=True)
    assert f"/certificates/{certificate.id}/qr.svg" in screen and certificate.number in screen
    png = holder.get(f"/certificates/{certificate.id}/qr.png")
    assert png.mimetype == "image/png" and "attachment" in png.headers["Content-Disposition"]
    svg = holder.get(f"/certificates/{certificate.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<?xml")
    (tmp_path / "qr.png").write_bytes(png.data)
    done = subprocess.run(
        [require_tool("zbarimg"), "-q", "--raw", str(tmp_path / "qr.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == url
    # The staff who manage it see no share section (it is the holder's), and strangers get 404.
    staff = app.test_client()
    login(staff, stage["signatory"].email, PASSWORD)
    assert "share-link" not in staff.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    stranger = app.test_client()
    other = make_candidate(db)
    db.commit()
    login(stranger, other.email, PASSWORD)
    assert stranger.get(f"/certificates/{certificate.id}/qr.png").status_code == 404


def _resolver_for(app: Flask, db: Session) -> Any:
    return _resolver(db, app.config["BASE_URL"].rstrip("/"))


def test_a_request_run_again_after_issuing_does_not_issue_twice(
    app: Flask, stage: dict[str, Any], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request finds the database busy after the certificate was issued (in its own
    transactions), as its commit would: it runs again and answers with that certificate
    instead of issuing another or refusing."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    import app.certificates.views as views

    issued: list[Any] = []
    real_issue, real_flash = views.issue_one, views.flash

    def counted_issue(*args: Any, **kwargs: Any) -> Any:
        issued.append(real_issue(*args, **kwargs))
        return issued[-1]

    def busy_once(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(views, "flash", real_flash)
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(views, "issue_one", counted_issue)
    monkeypatch.setattr(views, "flash", busy_once)
    certificate = _issue(app, stage, db)
    assert [c.id for c in issued] == [certificate.id]
    assert certificate.status == CertificateStatus.ISSUED
    assert len(db.scalars(select(Certificate)).all()) == 1


def test_revocation_is_published(app: Flask, stage: dict[str, Any], db: Session) -> None:
    certificate = _issue(app, stage, db)
    client = app.test_client()
    login(client, stage["signatory"].email, PASSWORD)
    url = f"/certificates/{certificate.id}"
    refused = post_form(
        client, f"{url}/revoke", {"revoke-reason_code": "made_up", "revoke-reason": "x"}, page=url
    )
    assert refused.status_code == 302
    db.expire_all()
    assert certificate.status == CertificateStatus.ISSUED
    revocation = {
        "revoke-reason_code": "false_evidence",
        "revoke-reason": "Testimonianza non autentica.",
    }
    # Not confirmed with this certificate's number: nothing changes, and the page says why.
    for typed in ("", "LOM-CML-0000-000000"):
        wrong = post_form(
            client, f"{url}/revoke", {**revocation, "revoke-confirm_number": typed}, page=url
        )
        assert wrong.status_code == 302
        db.expire_all()
        assert certificate.status == CertificateStatus.ISSUED
    assert "non è quello di questo certificato" in client.get(url).get_data(as_text=True)
    typed = certificate.number.lower().replace("-", "- ", 1)  # case and spaces are forgiven
    response = post_form(
        client, f"{url}/revoke", {**revocation, "revoke-confirm_number": typed}, page=url
    )
    assert response.status_code == 302
    db.expire_all()
    assert certificate.status == CertificateStatus.REVOKED
    listed = app.test_client().get(f"/status/{certificate.organisation_id}/revocation.json")
    assert listed.status_code == 200 and listed.headers["Access-Control-Allow-Origin"] == "*"
    body = listed.get_json()
    assert credentials.verify_credential(body, _resolver_for(app, db)).ok
    bits = credentials.decode_bitstring(body["credentialSubject"]["encodedList"])
    assert credentials.get_bit(bits, certificate.status_index)
    # The reason stays internal: nothing of it in what verifiers see.
    assert "Testimonianza" not in json.dumps(body)
    # A certifier is no signatory: no revoke, no issue.
    certifier = app.test_client()
    login(certifier, stage["certifier"].email, PASSWORD)
    assert (
        post_form(
            certifier,
            f"{url}/suspend",
            {"suspend-reason_code": "other", "suspend-reason": "x"},
            page=url,
        ).status_code
        == 403
    )


def test_an_issued_credential_verifies_in_an_independent_verifier(
    app: Flask, stage: dict[str, Any], db: Session, tmp_path: Any
) -> None:
    """The credential inside the sealed PDF, the issuer profile and the status lists exactly as
    the app publishes them: digitalbazaar's verifier accepts it, then sees the revocation."""
    import subprocess

    from tests.certification.test_credentials_independent import TOOL, verifier_command

    command = verifier_command()
    certificate = _issue(app, stage, db)
    public = app.test_client()
    base = app.config["BASE_URL"].rstrip("/")
    org = certificate.organisation_id

    def run() -> tuple[int, dict[str, Any]]:
        holder_pdf = _download(app, stage, certificate)
        (tmp_path / "credential.json").write_bytes(embedded_credential(holder_pdf))
        documents = {
            f"{base}/issuers/{org}.json": public.get(f"/issuers/{org}.json").data,
            f"{base}/status/{org}/revocation.json": public.get(
                f"/status/{org}/revocation.json"
            ).data,
            f"{base}/status/{org}/suspension.json": public.get(
                f"/status/{org}/suspension.json"
            ).data,
        }
        arguments = [*command, str(tmp_path / "credential.json"), "--status"]
        for number, (url, body) in enumerate(documents.items()):
            path = tmp_path / f"doc{number}.json"
            path.write_bytes(body)
            arguments += ["--doc", f"{url}={path}"]
        done = subprocess.run(arguments, capture_output=True, text=True, timeout=60, cwd=TOOL)
        return done.returncode, json.loads(done.stdout or "{}")

    code, result = run()
    assert code == 0 and result["verified"], result
    client = app.test_client()
    login(client, stage["signatory"].email, PASSWORD)
    url = f"/certificates/{certificate.id}"
    post_form(
        client,
        f"{url}/revoke",
        {
            "revoke-reason_code": "identity",
            "revoke-reason": "Persona diversa.",
            "revoke-confirm_number": certificate.number,
        },
        page=url,
    )
    code, result = run()
    assert code == 1 and result["verified"], result  # the proof holds, the status says revoked
    assert {s["purpose"]: s["set"] for s in result["statuses"]} == {
        "revocation": True,
        "suspension": False,
    }


def _download(app: Flask, stage: dict[str, Any], certificate: Certificate) -> bytes:
    holder = app.test_client()
    login(holder, stage["candidate"].email, PASSWORD)
    return holder.get(f"/certificates/{certificate.id}/certificate.pdf").data


def test_bulk_issuance_over_the_api(app: Flask, stage: dict[str, Any], db: Session) -> None:
    from certification.accounts import create_api_token

    _token, secret = create_api_token(db, stage["signatory"], "bulk", NOW)
    _other, other_secret = create_api_token(db, stage["certifier"], "x", NOW)
    db.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "bulk-2026-11-22-a"}
    body = {"case_ids": [str(stage["case"].id)]}
    assert client.post("/api/v1/certificates/bulk", json=body).status_code == 401
    missing_key = client.post(
        "/api/v1/certificates/bulk", json=body, headers={"Authorization": auth["Authorization"]}
    )
    assert missing_key.status_code == 422
    assert client.post("/api/v1/certificates/bulk", json={}, headers=auth).status_code == 422
    first = client.post("/api/v1/certificates/bulk", json=body, headers=auth)
    assert first.status_code == 202, first.get_json()
    location = first.headers["Location"]
    progress = client.get(location, headers=auth).get_json()
    assert progress["done"] == 1 and progress["finished_at"] is not None
    [item] = progress["items"]
    assert item["status"] == "issued" and len(item["verification_code"]) == 26
    again = client.post("/api/v1/certificates/bulk", json=body, headers=auth)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    other_cases = {"case_ids": [str(uuid.uuid4())]}
    assert (
        client.post("/api/v1/certificates/bulk", json=other_cases, headers=auth).status_code == 409
    )
    assert (
        client.get(location, headers={"Authorization": f"Bearer {other_secret}"}).status_code == 404
    )
    db.expire_all()
    [certificate] = db.scalars(select(Certificate)).all()  # never twice
    assert _told(db, stage, certificate) == 1  # the holder is told once, as for one issuance


def test_a_signatory_issues_in_bulk_and_follows_the_progress(
    app: Flask, stage: dict[str, Any], db: Session
) -> None:
    client = app.test_client()
    login(client, stage["signatory"].email, PASSWORD)
    page = client.get("/certificates/bulk/", headers={"Accept-Language": "it"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and stage["case"].protocol_number in html
    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', html)
    assert key is not None
    empty = post_form(client, "/certificates/bulk/", {"request_key": key.group(1)})
    assert empty.status_code == 200 and "Scegli almeno un caso." in empty.get_data(as_text=True)
    form = {"cases": [str(stage["case"].id)], "request_key": key.group(1)}
    started = post_form(client, "/certificates/bulk/", form, page="/certificates/bulk/")
    assert started.status_code == 302 and "/certificates/bulk/" in started.headers["Location"]
    again = post_form(client, "/certificates/bulk/", form, page="/certificates/bulk/")
    assert again.headers["Location"] == started.headers["Location"]  # same request, not twice
    db.expire_all()
    [certificate] = db.scalars(select(Certificate)).all()
    assert _told(db, stage, certificate) == 1  # also after the repeated submission
    progress = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Emesso" in progress and certificate.number in progress
    assert 'http-equiv="refresh"' not in progress  # finished: no more reloading
    assert (
        stage["case"].protocol_number
        not in client.get("/certificates/bulk/").get_data(as_text=True).split("<h2>")[0]
    )  # nothing left to issue
