"""Preview and confirm before every legal act (#18): the signatory sees the certificate before
sealing it, suspending, withdrawing and cancelling ask first and name the consequence, and a
second identical submission does nothing twice."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.db import ModelBase as Base
from certification.keys.management import init_keys
from certification.models import Certificate, CertificateStatus, CertificationCase
from certification.people.roles import Role
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_account
from tests.support.services import require_tool
from tests.support.web import login, post_form
from tests.support.worlds import CaseWorld
from tests.support.worlds import certified as _certified


@pytest.fixture
def stage(db: Session, app: Flask, w: CaseWorld) -> dict[str, Any]:
    w.signatory = make_account(db, roles=(Role.SIGNATORY,), organisation=w.ente)
    case = _certified(db, w)
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
    db.commit()
    return replace(w, case=case)


def _client(app: Flask, account: Any) -> Any:
    client = app.test_client()
    login(client, account.email, PASSWORD)
    return client


def _rows(db: Session) -> dict[str, int]:
    db.expire_all()
    return {
        table.name: db.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def _blobs(app: Flask) -> list[Path]:
    return sorted(p for p in Path(app.instance_path).rglob("*") if p.is_file())


def _text(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "preview.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], capture_output=True, check=True, text=True
    ).stdout


# --- the preview ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_signatory_previews_the_certificate_and_nothing_is_written(
    app: Flask, stage: CaseWorld, db: Session, tmp_path: Path
) -> None:
    client = _client(app, stage.signatory)
    url = f"/cases/{stage.case.id}"
    assert f"{url}/certificate/preview.pdf" in client.get(url).get_data(as_text=True)
    rows, blobs = _rows(db), _blobs(app)

    response = client.get(f"{url}/certificate/preview.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert "anteprima-preview-" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    text = _text(response.data, tmp_path)
    pages = [" ".join(page.split()) for page in text.split("\f")[:-1]]
    assert len(pages) >= 1
    for page in pages:  # the mark on every page, in both languages
        assert "ANTEPRIMA — non valido · PREVIEW — not valid" in page
    assert "ANTEPRIMA-PREVIEW" in text and stage.candidate.person.family_name in text
    assert b"/ByteRange" not in response.data  # not sealed
    assert _rows(db) == rows and _blobs(app) == blobs  # no number, no index, no audit, no file
    assert stage.case.status == CaseStatus.CERTIFIED


@pytest.mark.slow
def test_only_the_signatory_previews_and_only_a_certified_case(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    url = f"/cases/{stage.case.id}/certificate/preview.pdf"
    assert _client(app, stage.candidate).get(url).status_code == 403
    assert _client(app, stage.certifier).get(url).status_code == 403
    client = _client(app, stage.signatory)
    post_form(client, f"/cases/{stage.case.id}/certificate", {}, page=f"/cases/{stage.case.id}")
    assert client.get(url).status_code == 409  # issued: the certificate itself is there


# --- double submits -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_issue_answers_with_the_first_certificate(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    client = _client(app, stage.signatory)
    url = f"/cases/{stage.case.id}"
    first = post_form(client, f"{url}/certificate", {}, page=url)
    second = post_form(client, f"{url}/certificate", {}, page=url)
    db.expire_all()
    issued = db.scalars(select(Certificate)).all()
    assert len(issued) == 1
    assert first.status_code == second.status_code == 302
    assert second.location == first.location == f"/certificates/{issued[0].id}"
    page = client.get(second.location).get_data(as_text=True)
    assert "già stato rilasciato" in page


def _issued(app: Flask, stage: CaseWorld, db: Session) -> tuple[Any, Certificate]:
    client = _client(app, stage.signatory)
    url = f"/cases/{stage.case.id}"
    post_form(client, f"{url}/certificate", {}, page=url)
    db.expire_all()
    certificate = db.scalars(select(Certificate)).one()
    return client, certificate


@pytest.mark.slow
def test_a_revoke_without_the_number_changes_nothing_and_a_second_revoke_nothing_more(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    client, certificate = _issued(app, stage, db)
    url = f"/certificates/{certificate.id}"
    fields = {"revoke-reason_code": "identity", "revoke-reason": "Persona diversa."}
    rows = _rows(db)
    wrong = post_form(
        client, f"{url}/revoke", {**fields, "revoke-confirm_number": "LOM-X"}, page=url
    )
    assert wrong.status_code == 302
    assert _rows(db) == rows
    assert db.get_one(Certificate, certificate.id).status == CertificateStatus.ISSUED

    done = {**fields, "revoke-confirm_number": certificate.number}
    assert post_form(client, f"{url}/revoke", done, page=url).status_code == 302
    rows = _rows(db)
    again = post_form(client, f"{url}/revoke", done, page=url)
    assert again.status_code == 302 and again.location == url
    assert "Nessuna modifica" in client.get(url).get_data(as_text=True)
    assert _rows(db) == rows  # no second audit entry, no second e-mail
    assert db.get_one(Certificate, certificate.id).status == CertificateStatus.REVOKED


@pytest.mark.slow
def test_suspending_asks_first_naming_the_consequence(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    client, certificate = _issued(app, stage, db)
    url = f"/certificates/{certificate.id}"
    assert f'href="{url}/suspend"' in client.get(url).get_data(as_text=True)
    page = client.get(f"{url}/suspend")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "data-confirm" in text and "sospeso" in text and "<script>" not in text
    fields = {"suspend-reason_code": "fraud_report", "suspend-reason": "Segnalazione."}
    rows = _rows(db)

    unconfirmed = post_form(client, f"{url}/suspend", fields, page=f"{url}/suspend")
    assert unconfirmed.status_code == 422
    assert "Spunta la casella" in unconfirmed.get_data(as_text=True)
    assert _rows(db) == rows
    assert db.get_one(Certificate, certificate.id).status == CertificateStatus.ISSUED

    confirmed = {**fields, "suspend-confirm": "y"}
    assert post_form(client, f"{url}/suspend", confirmed, page=f"{url}/suspend").status_code == 302
    rows = _rows(db)
    again = post_form(client, f"{url}/suspend", confirmed, page=url)
    assert again.status_code == 302 and _rows(db) == rows
    assert db.get_one(Certificate, certificate.id).status == CertificateStatus.SUSPENDED


def _asks_first_then_acts_once(
    client: Any, db: Session, case: CertificationCase, action: str, *says: str
) -> None:
    """The case page links to the action's own page, which says ``says``; posting without the
    confirmation box writes nothing (422); with it the action is done (302), and done again
    writes nothing more."""
    url = f"/cases/{case.id}"
    assert f'href="{url}/{action}"' in client.get(url).get_data(as_text=True)
    page = client.get(f"{url}/{action}").get_data(as_text=True)
    assert all(text in page for text in says)
    version = {"version": str(case.version)}
    rows = _rows(db)
    refused = post_form(client, f"{url}/{action}", version, page=f"{url}/{action}")
    assert refused.status_code == 422 and _rows(db) == rows
    done = post_form(client, f"{url}/{action}", {**version, "confirm": "y"}, page=url)
    assert done.status_code == 302
    rows = _rows(db)
    again = post_form(client, f"{url}/{action}", {**version, "confirm": "y"}, page=url)
    assert again.status_code == 302 and _rows(db) == rows


@pytest.mark.slow
def test_withdrawing_asks_first_and_a_second_withdrawal_does_nothing(
    app: Flask,
    db: Session,
    w: CaseWorld,
) -> None:
    case = w.case
    db.commit()
    client = _client(app, w.candidate)
    _asks_first_then_acts_once(client, db, case, "withdraw", "non sarà valutata")
    assert "già stato fatto" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert db.get_one(CertificationCase, case.id).status == CaseStatus.WITHDRAWN


def test_stopping_after_the_transparency_document_asks_first(
    app: Flask,
    db: Session,
    w: CaseWorld,
) -> None:
    """Seen by eye: "Fermati qui e conserva il Documento di trasparenza" closed the application
    for good in one tap, unlike withdrawing; it now asks first and names the consequence."""
    case = w.case
    case.status = CaseStatus.TRANSPARENCY_ISSUED
    db.commit()
    client = _client(app, w.candidate)
    says = ("non si può riprendere", "resta valido e tuo")
    _asks_first_then_acts_once(client, db, case, "stop", *says)
    assert db.get_one(CertificationCase, case.id).status == CaseStatus.CLOSED_TRANSPARENCY_ONLY


# --- the outcomes: from the ratings, previewed, recorded once -----------------------------------


@pytest.mark.slow
def test_the_outcomes_start_from_the_ratings_and_are_recorded_once(
    app: Flask,
    db: Session,
    w: CaseWorld,
) -> None:
    from certification.cases import assessment as A
    from tests.support.worlds import LATER, rate_all, to_session

    case = to_session(db, w)
    rate_all(db, w, "DEMO-C01", "L3")  # every criterion passing
    db.commit()
    client = _client(app, w.certifier)
    url = f"/cases/{case.id}/outcomes"
    page = client.get(url).get_data(as_text=True)
    c01, c02 = page.split('id="outcome-DEMO-C02"')
    assert '<option value="validata" selected>' in c01  # what the ratings say, still editable
    assert '<option value="" selected>' in c02  # nothing rated: nothing chosen for the panel
    assert "Criteri non ancora valutati" in c02

    fields = {
        "version": str(case.version),
        "outcome-DEMO-C01": "validata",
        "rationale-DEMO-C01": "Colloquio convincente.",
        "methods-DEMO-C01": "colloquio_tecnico",
        "outcome-DEMO-C02": "validata",
        "rationale-DEMO-C02": "Da valutare.",
        "methods-DEMO-C02": "colloquio_tecnico",
    }
    unrated = post_form(client, url, fields)
    assert unrated.status_code == 422
    text = unrated.get_data(as_text=True)
    assert "non sono ancora valutati" in text and "a un livello sufficiente: non" not in text

    for criterion in A.snapshot_competences(case)[1]["criteria"]:
        A.rate_criterion(db, w.assessor, case, "DEMO-C02", criterion["code"], "L1", "", LATER)
    db.commit()
    c02 = client.get(url).get_data(as_text=True).split('id="outcome-DEMO-C02"')[1]
    assert '<option value="non_validata" selected>' in c02 and "non tutti" in c02
    insufficient = post_form(client, url, fields)
    assert "a un livello sufficiente" in insufficient.get_data(as_text=True)

    decided = {
        **fields,
        "outcome-DEMO-C02": "non_validata",
        "feedback-DEMO-C02": "Manca il report.",
        "step": "confirm",
    }
    assert post_form(client, url, decided).status_code == 302
    rows = _rows(db)
    again = post_form(client, url, decided, page=f"/cases/{case.id}")
    assert again.status_code == 302 and again.location == f"/cases/{case.id}"
    assert _rows(db) == rows  # no second verbale, no second e-mail
    assert "già stato fatto" in client.get(again.location).get_data(as_text=True)


# --- the bulk screen --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_bulk_screen_filters_selects_all_and_links_each_preview(
    app: Flask, stage: CaseWorld, db: Session
) -> None:
    import re

    from certification.models import BulkIssuance

    client = _client(app, stage.signatory)
    case = stage.case
    page = client.get("/certificates/bulk/").get_data(as_text=True)
    assert f"/cases/{case.id}/certificate/preview.pdf" in page
    assert "data-select-all" in page and "<script>" not in page
    profile = f"/certificates/bulk/?profile={case.target_profile.code}&ente={case.ente_titolato_id}"
    assert case.protocol_number in client.get(profile).get_data(as_text=True)
    wrong = client.get("/certificates/bulk/?profile=NOPE")
    assert wrong.status_code == 200
    text = wrong.get_data(as_text=True)
    assert "Quel filtro" in text and case.protocol_number in text  # said, and the whole list

    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', page)
    assert key is not None
    box = f'value="{case.id}"'
    assert box in page and not re.search(box + r"\s+checked", page)  # nothing ticked at first
    assert 'name="select" value="all"' in page  # the submit that selects without JavaScript
    none = post_form(
        client,
        "/certificates/bulk/",
        {"request_key": key.group(1), "select": "none", "cases": [str(case.id)]},
        page="/certificates/bulk/",
    ).get_data(as_text=True)
    assert box in none and not re.search(box + r"\s+checked", none)
    everything = post_form(
        client, "/certificates/bulk/", {"request_key": key.group(1), "select": "all"}
    ).get_data(as_text=True)
    assert re.search(box + r"\s+checked", everything)
    assert (
        db.scalar(select(func.count()).select_from(BulkIssuance)) == 0
    )  # selecting issues nothing


@pytest.mark.slow
def test_the_bulk_screen_select_all_checkbox_works_in_a_browser(
    app: Flask, stage: CaseWorld
) -> None:
    """With JavaScript the buttons give way to a "select all" checkbox that ticks and unticks
    every case shown (the page itself ticks none). Debian's Chromium: skipped without it, except
    in CI, which installs it before the tests (scripts/browser-deps.sh)."""
    from playwright.sync_api import Route, sync_playwright

    chromium = require_tool("chromium")

    client = _client(app, stage.signatory)

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix("http://attesta.test")
        answer = client.get(path)
        route.fulfill(
            status=answer.status_code,
            body=answer.get_data(),
            headers={"Content-Type": answer.content_type},
        )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("http://attesta.test/**", serve)
            page.goto("http://attesta.test/certificates/bulk/")
            boxes = page.locator("input[name=cases]")
            assert boxes.count() == 1 and not boxes.first.is_checked()
            assert page.locator("[data-select-all-fallback]").is_hidden()
            everything = page.locator("[data-select-all] input")
            everything.check()
            assert boxes.first.is_checked()
            everything.uncheck()
            assert not boxes.first.is_checked()
        finally:
            browser.close()
