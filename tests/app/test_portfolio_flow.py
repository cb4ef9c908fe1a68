"""The candidate and tutor journeys of identification, through the web layer."""

from __future__ import annotations

import gc
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services import upload_pool
from certification.cases import workflow
from certification.cases.states import CaseStatus
from certification.models import (
    CertificationCase,
    ErasureRecord,
    Evidence,
    Experience,
    OutboxMessage,
    StoredFile,
)
from certification.people.roles import OrganisationKind, Role
from tests.support.factories import (
    PASSWORD,
    make_account,
    make_candidate,
    make_organisation,
)
from tests.support.files import jpeg_with_gps, pdf_bytes
from tests.support.portfolio import add_experience, upload_evidence
from tests.support.web import login, post_form


@pytest.fixture
def people(db: Session) -> dict[str, Any]:
    ente = make_organisation(
        db, OrganisationKind.ENTE_TITOLATO, code="CML", short_name="Consorzio Test"
    )
    host = make_organisation(db, OrganisationKind.HOST, short_name="COBOX")
    accounts = {
        "giulia": make_candidate(db, email="giulia@example.org", given_name="Giulia"),
        "luca": make_candidate(db, email="luca@example.org"),
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=ente, given_name="Marco"),
    }
    db.commit()
    return {"ente": ente, "host": host, **accounts}


def _version(client: FlaskClient, url: str) -> str:
    """The case version the page's forms carry, as a browser would send it back."""
    match = re.search(
        r'name="version" type="hidden" value="(\d+)"', client.get(url).get_data(as_text=True)
    )
    assert match, url
    return match.group(1)


def test_candidate_builds_a_portfolio(
    client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    giulia = people["giulia"]
    pid = giulia.person_id
    login(client, "giulia@example.org", PASSWORD)
    assert client.get("/portfolio/").headers["Location"] == f"/portfolio/{pid}/"
    experience_url = add_experience(client, pid, people["host"].id)
    page = client.get(experience_url).get_data(as_text=True)
    assert "Community host" in page and "COBOX" in page

    response = upload_evidence(client, experience_url, jpeg_with_gps(), "foto evento.jpeg", "Foto")
    assert response.status_code == 302
    evidence_url = response.headers["Location"]
    download = client.get(evidence_url + "/file")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "foto evento.jpg" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert b"PhoneMaker" not in download.data  # the EXIF block is gone

    # choose a profile and link the evidence to a criterion
    profile_id = client.get(f"/portfolio/{pid}/mapping").get_data(as_text=True)
    match = re.search(r'<option value="([0-9a-f-]{36})">DEMO-P01', profile_id)
    assert match
    post_form(client, f"/portfolio/{pid}/mapping", {"profile": match.group(1)})
    page = client.get(evidence_url).get_data(as_text=True)
    criterion = re.search(r'<option value="([0-9a-f-]{36}:[0-9a-f-]{36})">DEMO-C01-I1', page)
    assert criterion
    response = post_form(
        client,
        evidence_url + "/links",
        {"target": criterion.group(1), "note": "foto dell'onboarding"},
        page=evidence_url,
    )
    assert response.status_code == 302
    mapping = client.get(f"/portfolio/{pid}/mapping").get_data(as_text=True)
    assert "1 di 3 criteri con evidenze" in mapping


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b"<html><script>alert(1)</script></html>",
            "attestato.pdf",
            "Questo tipo di file non è accettato",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "logo.svg",
            "Questo tipo di file non è accettato",
        ),
        (
            # The attack run's: names written with # escapes, which matching bytes missed.
            pdf_bytes(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"),
            "x.pdf",
            "Il PDF contiene JavaScript",
        ),
    ],
)
def test_disguised_uploads_are_refused(
    client: FlaskClient, db: Session, people: dict[str, Any], data: bytes, name: str, message: str
) -> None:
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    response = upload_evidence(client, experience_url, data, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(Evidence)) is None
    assert db.scalar(select(StoredFile)) is None


# Werkzeug's test client spools a large body to a temporary file and leaves it open when the
# request is refused (413) before reading it; collect it here, where that is expected.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_oversized_upload(app_factory: Any, db: Session, people: dict[str, Any]) -> None:
    client = app_factory(MAX_UPLOAD_MB=1).test_client()
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    response = upload_evidence(
        client, experience_url, pdf_bytes(b"x" * (2 * 1024 * 1024)), "big.pdf"
    )
    status, html = response.status_code, response.get_data(as_text=True)
    del response
    gc.collect()
    assert status == 413
    assert "supera la dimensione consentita" in html


def test_evidence_waits_for_a_slot_of_the_upload_pool(
    app_factory: Any, db: Session, people: dict[str, Any]
) -> None:
    """Evidence files are checked in the machine's bounded pool: with every slot taken the
    upload gets 503 with Retry-After and a message, and nothing is stored."""
    app = app_factory(UPLOAD_SLOTS=1, UPLOAD_QUEUE=0, UPLOAD_WAIT_MS=0)
    client = app.test_client()
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    with upload_pool(app).slots.slot():
        response = upload_evidence(client, experience_url, pdf_bytes(), "attestato.pdf")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "si stanno controllando molti file" in response.get_data(as_text=True)
    assert db.scalars(select(Evidence)).all() == []
    # The slot free again: checked in a child, stored.
    assert upload_evidence(client, experience_url, pdf_bytes(), "attestato.pdf").status_code == 302
    assert [e.file_name for e in db.scalars(select(Evidence))] == ["attestato.pdf"]


def test_another_candidates_ids_get_404_and_change_nothing(
    client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    login(client, "giulia@example.org", PASSWORD)
    giulia_experience = add_experience(client, people["giulia"].person_id)
    post_form(client, "/logout", {}, page="/dashboard")
    login(client, "luca@example.org", PASSWORD)
    luca_pid = people["luca"].person_id
    experience_id = giulia_experience.rsplit("/", 1)[1]
    # Luca's own portfolio URL with Giulia's experience id, and Giulia's portfolio URL
    for url in (
        f"/portfolio/{luca_pid}/experiences/{experience_id}",
        giulia_experience,
        giulia_experience + "/edit",
    ):
        assert client.get(url).status_code == 404
    response = post_form(client, giulia_experience + "/delete", {}, page="/dashboard")
    assert response.status_code == 404
    response = post_form(
        client, f"/portfolio/{luca_pid}/experiences/{experience_id}/delete", {}, page="/dashboard"
    )
    assert response.status_code == 404
    assert (
        db.scalar(select(Experience).where(Experience.person_id == people["giulia"].person_id))
        is not None
    )


def test_html_in_text_fields_shows_literally(client: FlaskClient, people: dict[str, Any]) -> None:
    login(client, "giulia@example.org", PASSWORD)
    url = add_experience(
        client,
        people["giulia"].person_id,
        role_title='<img src=x onerror="alert(1)">',
        description="<script>fetch('//evil')</script>",
    )
    html = client.get(url).get_data(as_text=True)
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "<script>fetch" not in html


@pytest.mark.slow
def test_application_reception_tutor_and_transparency(
    app: Flask, db: Session, people: dict[str, Any]
) -> None:
    giulia, operator, tutor = (app.test_client() for _ in range(3))
    login(giulia, "giulia@example.org", PASSWORD)
    pid = people["giulia"].person_id
    experience_url = add_experience(giulia, pid)
    evidence_url = upload_evidence(giulia, experience_url, pdf_bytes(), "attestato.pdf").headers[
        "Location"
    ]

    page = giulia.get("/cases/new").get_data(as_text=True)
    profile = re.search(r'name="profile" value="([0-9a-f-]{36})"', page)
    assert profile
    response = post_form(
        giulia,
        "/cases/new",
        {"ente": str(people["ente"].id), "profile": profile.group(1), "scope": "full_profile"},
    )
    assert response.status_code == 302
    case_url = response.headers["Location"]
    case = db.scalar(select(CertificationCase))
    assert case is not None and case.status == CaseStatus.DRAFT
    # Her home shows where she stands: the first stage of the path, and that it is her turn.
    home = giulia.get("/dashboard").get_data(as_text=True)
    assert '<ol class="stepper" aria-label="Fasi del percorso IVC">' in home
    assert re.search(
        r'aria-current="step">\s*<span class="visually-hidden">in corso:</span>Domanda', home
    )
    assert "Tocca a te" in home and "completa il portfolio" in home

    # submitting without the consents changes nothing
    response = post_form(
        giulia,
        case_url + "/submit",
        {
            "version": "1",
            "birth_date": "2001-04-02",
            "birth_place": "Cremona",
            "codice_fiscale": "",
        },
        page=case_url,
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Every mistake at once: the consents, and the competences that have no evidence, named.
    assert "È necessario per proseguire." in page
    assert "non hanno ancora evidenze collegate" in page
    assert "Alcune competenze non hanno evidenze: spunta la casella" in page
    gaps = workflow.competences_without_evidence(db, case)
    assert gaps and all(c.code in page for c in gaps)
    submission = {
        "version": "1",
        "birth_date": "2001-04-02",
        "birth_place": "Cremona",
        "codice_fiscale": "",
        "consent_processing": "y",
        "declaration_accepted": "y",
    }
    response = post_form(giulia, case_url + "/submit", submission, page=case_url)
    assert response.status_code == 422 and case.status == CaseStatus.DRAFT
    response = post_form(
        giulia, case_url + "/submit", {**submission, "without_evidence": "y"}, page=case_url
    )
    assert response.status_code == 302
    db.expire_all()
    assert case.status == CaseStatus.SUBMITTED and case.protocol_number == "CML-2026-000001"

    login(operator, people["operator"].email, PASSWORD)
    assert "CML-2026-000001" in operator.get("/cases/").get_data(as_text=True)
    seen = _version(operator, case_url)
    post_form(operator, case_url + "/take-charge", {"version": seen}, page=case_url)
    # a second tab still showing the old version gets a conflict, not a silent overwrite
    stale = post_form(
        operator,
        case_url + "/reject",
        {"version": seen, "reason": "other", "note": "late"},
        page=case_url,
    )
    assert stale.status_code == 409
    assert "qualcun altro ha modificato questa domanda" in stale.get_data(as_text=True)
    response = post_form(
        operator,
        case_url + "/admit",
        {"version": _version(operator, case_url), "tutor": str(people["tutor"].person_id)},
        page=case_url,
    )
    assert response.status_code == 302
    db.expire_all()
    assert case.status == CaseStatus.IDENTIFICATION

    # the tutor links the evidence with the candidate, then issues the document
    login(tutor, people["tutor"].email, PASSWORD)
    assert tutor.get(f"/portfolio/{pid}/").status_code == 200
    page = tutor.get(evidence_url).get_data(as_text=True)
    target = re.search(r'<option value="([0-9a-f-]{36}:)">DEMO-C01', page)
    assert target
    post_form(
        tutor, evidence_url + "/links", {"target": target.group(1), "note": ""}, page=evidence_url
    )
    response = post_form(
        tutor, case_url + "/transparency", {"version": _version(tutor, case_url)}, page=case_url
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.expire_all()
    assert case.status == CaseStatus.TRANSPARENCY_ISSUED
    document = case.documents[0]
    pdf = giulia.get(f"{case_url}/documents/{document.id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    # the evidence is now locked: deleting it is refused with a clear message
    response = post_form(giulia, evidence_url + "/delete", {}, page=evidence_url)
    assert response.status_code == 409
    assert "non può più essere" in response.get_data(as_text=True)
    subjects = [m.subject for m in db.scalars(select(OutboxMessage))]
    assert any("CML-2026-000001" in s for s in subjects)
    assert any(document.number in s for s in subjects)


def test_referee_confirms_without_an_account(
    app: Flask, db: Session, people: dict[str, Any]
) -> None:
    giulia, referee = app.test_client(), app.test_client()
    login(giulia, "giulia@example.org", PASSWORD)
    experience_url = add_experience(giulia, people["giulia"].person_id)
    response = post_form(
        giulia,
        experience_url + "/evidence/new?kind=testimonial",
        {
            "title": "Lettera del referente",
            "referee_name": "Paolo Neri",
            "referee_email": "paolo@example.org",
            "text": "Giulia ha <b>gestito</b> 24 eventi.",
            "issued_on": "",
        },
    )
    evidence_url = response.headers["Location"]
    post_form(giulia, evidence_url + "/ask-referee", {}, page=evidence_url)
    message = db.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "paolo@example.org")
    )
    assert message is not None
    link = re.search(r"http://localhost(/referee/\S+)", message.body_text)
    assert link
    response = referee.get(link.group(1))
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    page = response.get_data(as_text=True)
    assert "Giulia ha &lt;b&gt;gestito&lt;/b&gt; 24 eventi." in page
    response = post_form(referee, link.group(1), {"answer": "confirm"})
    assert "risposta è stata registrata" in response.get_data(as_text=True)
    evidence = db.scalar(select(Evidence).where(Evidence.title == "Lettera del referente"))
    db.refresh(evidence)
    assert evidence is not None and evidence.referee_confirmed_at is not None


def test_export_and_erase(
    app: Flask, client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    login(client, "giulia@example.org", PASSWORD)
    pid = people["giulia"].person_id
    experience_url = add_experience(client, pid)
    upload_evidence(client, experience_url, pdf_bytes(), "attestato.pdf")
    response = client.get(f"/portfolio/{pid}/export")
    assert response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("data.json"))
    assert data["experiences"][0]["role_title"] == "Community host"
    assert any(
        name.startswith("files/") and name.endswith("attestato.pdf") for name in archive.namelist()
    )
    response = post_form(client, f"/portfolio/{pid}/erase", {"confirm": "yes"})
    assert response.status_code == 200
    assert "1 esperienza eliminata" in response.get_data(as_text=True)
    assert db.scalar(select(Experience)) is None
    assert db.scalar(select(StoredFile)) is None
    # The erasure ledger says what went (kinds, ids, the file's hash), never the data; the
    # journal outside the database has the same entries, for a restore to erase them again.
    ledger = db.scalars(select(ErasureRecord).order_by(ErasureRecord.position)).all()
    kinds = [entry.object_type for entry in ledger]
    assert kinds[:2] == ["evidence", "experience"] and kinds[-1] == "stored_file"
    assert ledger[0].file_sha256 == ledger[-1].object_id and ledger[0].erased_by_user_id
    journal = Path(app.config["ERASURE_JOURNAL"]).read_text()
    assert [json.loads(line)["id"] for line in journal.splitlines()] == [
        str(entry.id) for entry in ledger
    ]
    assert "attestato" not in journal and "Community host" not in journal
