"""Certificates on the web: the signatory issues, the holder downloads, status changes publish."""

from __future__ import annotations

import hashlib
import html
import http.server
import json
import re
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.certificates import credentials
from certification.keys.material import active_key
from certification.models import Certificate, CertificateStatus, KeyPurpose, OutboxMessage
from tests.support.certificates import (
    download,
    embedded_credential,
    issue_on_the_web,
    registry_resolver,
)
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_candidate
from tests.support.services import require_tool
from tests.support.web import login, post_form
from tests.support.worlds import CaseWorld


def _told(db: Session, stage: CaseWorld, certificate: Certificate) -> int:
    """How many "your certificate is ready" e-mails the holder got for ``certificate``."""
    return sum(
        certificate.number in m.subject
        for m in db.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == stage.candidate.email)
        )
    )


@pytest.mark.slow
def test_signatory_issues_and_holder_downloads(app: Flask, stage: CaseWorld, db: Session) -> None:
    certificate = issue_on_the_web(app, stage, db)
    assert certificate.status == CertificateStatus.ISSUED
    assert stage.case.status == CaseStatus.CERTIFICATE_ISSUED
    assert _told(db, stage, certificate) == 1

    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
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


@pytest.mark.slow
def test_a_partial_certificate_says_partial_on_every_page(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    """Issue 19: the holder's page and home, the LinkedIn name, the public page and the API
    say that a certificate of single competences covers part of the profile."""
    certificate = issue_on_the_web(app, stage, db)
    total = len(certificate.content["standard"]["profile_competences"])
    assert total > 1
    named = f"— singole competenze (1 di {total})"
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
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


@pytest.mark.slow
def test_the_holder_shares_the_link_and_the_qr_code(
    app: Flask, stage: CaseWorld, db: Session, tmp_path: Any
) -> None:
    """Issue 19: the link to copy, the share sheet where there is one, the QR code on screen
    and to save as PNG and SVG; the PNG decodes to the public check of this certificate."""
    certificate = issue_on_the_web(app, stage, db)
    url = f"{app.config['BASE_URL'].rstrip('/')}/verify/{certificate.verification_code}"
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
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
    login(staff, stage.signatory.email, PASSWORD)
    assert "share-link" not in staff.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    stranger = app.test_client()
    other = make_candidate(db)
    db.commit()
    login(stranger, other.email, PASSWORD)
    assert stranger.get(f"/certificates/{certificate.id}/qr.png").status_code == 404


def _resolver_for(app: Flask, db: Session) -> Any:
    return registry_resolver(db, app.config["BASE_URL"].rstrip("/"))


@pytest.mark.slow
def test_a_request_run_again_after_issuing_does_not_issue_twice(
    app: Flask, stage: CaseWorld, db: Session, monkeypatch: pytest.MonkeyPatch
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
    certificate = issue_on_the_web(app, stage, db)
    assert [c.id for c in issued] == [certificate.id]
    assert certificate.status == CertificateStatus.ISSUED
    assert len(db.scalars(select(Certificate)).all()) == 1


@pytest.mark.slow
def test_revocation_is_published(app: Flask, stage: CaseWorld, db: Session) -> None:
    certificate = issue_on_the_web(app, stage, db)
    client = app.test_client()
    login(client, stage.signatory.email, PASSWORD)
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
    login(certifier, stage.certifier.email, PASSWORD)
    assert (
        post_form(
            certifier,
            f"{url}/suspend",
            {"suspend-reason_code": "other", "suspend-reason": "x"},
            page=url,
        ).status_code
        == 403
    )


@pytest.mark.slow
def test_an_issued_credential_verifies_in_an_independent_verifier(
    app: Flask, stage: CaseWorld, db: Session, tmp_path: Any
) -> None:
    """The credential inside the sealed PDF, the issuer profile and the status lists exactly as
    the app publishes them: digitalbazaar's verifier accepts it, then sees the revocation."""
    import subprocess

    from tests.support.credentials import TOOL, verifier_command

    command = verifier_command()
    certificate = issue_on_the_web(app, stage, db)
    public = app.test_client()
    base = app.config["BASE_URL"].rstrip("/")
    org = certificate.organisation_id

    def run() -> tuple[int, dict[str, Any]]:
        holder_pdf = download(app, stage, certificate)
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
    login(client, stage.signatory.email, PASSWORD)
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


@pytest.mark.slow
def test_bulk_issuance_over_the_api(app: Flask, stage: CaseWorld, db: Session) -> None:
    from certification.people.accounts import create_api_token

    _token, secret = create_api_token(db, stage.signatory, "bulk", NOW)
    _other, other_secret = create_api_token(db, stage.certifier, "x", NOW)
    db.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "bulk-2026-11-22-a"}
    body = {"case_ids": [str(stage.case.id)]}
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
    assert item["status"] == "issued" and len(item["verification_code"]) == 27
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


@pytest.mark.slow
def test_a_signatory_issues_in_bulk_and_follows_the_progress(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    client = app.test_client()
    login(client, stage.signatory.email, PASSWORD)
    page = client.get("/certificates/bulk/", headers={"Accept-Language": "it"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and stage.case.protocol_number in html
    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', html)
    assert key is not None
    empty = post_form(client, "/certificates/bulk/", {"request_key": key.group(1)})
    assert empty.status_code == 200 and "Scegli almeno un caso." in empty.get_data(as_text=True)
    form = {"cases": [str(stage.case.id)], "request_key": key.group(1)}
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
        stage.case.protocol_number
        not in client.get("/certificates/bulk/").get_data(as_text=True).split("<h2>")[0]
    )  # nothing left to issue


class _GarbageTsa(http.server.BaseHTTPRequestHandler):
    """A time-stamping authority on the loopback that answers every request with garbage."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"this is not a time-stamp response"
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_a_tsa_answering_garbage_fails_the_issuance_cleanly_and_recover_finishes_it(
    app_factory: Any, stage: CaseWorld, db: Session, tmp_path: Path
) -> None:
    # The TSA's root (here any certificate: the TSA never gets as far as a token).
    roots = tmp_path / "tsa-roots.pem"
    roots.write_text(active_key(db, None, KeyPurpose.ROOT_CA).certificate_pem or "")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GarbageTsa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = app_factory(
            TIMESTAMP_URL=f"http://127.0.0.1:{server.server_address[1]}/tsa",
            TIMESTAMP_ROOTS=str(roots),
        )
        client = app.test_client()
        login(client, stage.signatory.email, PASSWORD)
        case_page = f"/cases/{stage.case.id}"
        response = post_form(client, f"{case_page}/certificate", {}, page=case_page)
    finally:
        server.shutdown()
        server.server_close()
    # Refused with the reason, in the signatory's language (Italian), and nothing issued.
    assert response.status_code == 302 and response.headers["Location"].endswith(case_page)
    page = client.get(case_page).get_data(as_text=True)
    assert "Il servizio di marcatura temporale non ha risposto correttamente" in html.unescape(page)
    db.expire_all()
    [pending] = db.scalars(select(Certificate)).all()
    assert pending.status == CertificateStatus.PENDING
    assert pending.pdf_sha256 is None and pending.credential_sha256 is None
    assert stage.case.status == CaseStatus.CERTIFIED
    assert _told(db, stage, pending) == 0
    # The TSA answers again (here: the demo's): `certificates recover` finishes the reservation.
    working = app_factory()
    recovered = working.test_cli_runner().invoke(args=["certificates", "recover", "--minutes", "0"])
    assert recovered.exit_code == 0, recovered.output
    db.expire_all()
    done = db.get(Certificate, pending.id)
    assert done is not None and done.status == CertificateStatus.ISSUED
    assert done.number == pending.number and done.pdf_sha256 is not None
