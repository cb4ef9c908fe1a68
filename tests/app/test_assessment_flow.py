"""Validation through the web: review, integration, panel, declarations, outcomes, appeal."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.models import CertificationCase, DocumentKind, OutboxMessage
from certification.people.roles import OrganisationKind, Role
from certification.portfolio.operations import link_evidence
from tests.support.factories import (
    PASSWORD,
    competence,
    make_account,
    make_candidate,
    make_case,
    make_evidence,
    make_experience,
    make_organisation,
)
from tests.support.services import require_tool
from tests.support.web import login, post_form


@pytest.fixture
def stage(db: Session, app: Flask) -> dict[str, Any]:
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE, short_name="Regione")
    ente = make_organisation(
        db, code="CML", short_name="Consorzio", accredited_by=region, city="Cremona"
    )
    people = {
        "candidate": make_candidate(db, given_name="Giulia"),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=ente),
        "certifier": make_account(db, roles=(Role.CERTIFICATORE,), organisation=ente),
        "certifier2": make_account(db, roles=(Role.CERTIFICATORE,), organisation=ente),
        "assessor": make_account(
            db, roles=(Role.ASSESSOR,), organisation=ente, years_experience=15
        ),
        "assessor2": make_account(
            db, roles=(Role.ASSESSOR,), organisation=ente, years_experience=11
        ),
        "supervisor": make_account(db, roles=(Role.REGION_SUPERVISOR,), organisation=region),
    }
    for key in ("assessor", "assessor2"):
        people[key].person.staff_roles[0].sectors = ["24"]
    case = make_case(
        db,
        candidate=people["candidate"],
        ente=ente,
        tutor=people["tutor"],
        status=CaseStatus.TRANSPARENCY_ISSUED,
        codes=("DEMO-C01", "DEMO-C02"),
    )
    evidence = make_evidence(db, make_experience(db, people["candidate"].person))
    link_evidence(
        db,
        people["candidate"],
        evidence,
        competence(db, "DEMO-C01"),
        None,
        "",
        dt.datetime.now(dt.UTC),
    )
    db.commit()
    clients = {}
    for key, account in people.items():
        clients[key] = app.test_client()
        login(clients[key], account.email, PASSWORD)
    return {"case": case, "evidence": evidence, "clients": clients, "people": people}


def _version(client: FlaskClient, url: str) -> str:
    match = re.search(r'name="version"[^>]* value="(\d+)"', client.get(url).get_data(as_text=True))
    assert match, url
    return match.group(1)


def _act(
    client: FlaskClient,
    url: str,
    action: str,
    data: dict[str, Any] | None = None,
    expect: int = 302,
) -> Any:
    response = post_form(
        client, f"{url}/{action}", {"version": _version(client, url), **(data or {})}, page=url
    )
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def _rate(client: FlaskClient, url: str, code: str, level: str) -> None:
    for n in (1, 2, 3):
        post_form(
            client,
            url + "/ratings",
            {
                "competence_code": code,
                "criterion_code": f"{code}-I{n}",
                "level_code": level,
                "note": "visto",
            },
            page=url + "/review",
        )


def _plan(
    client: FlaskClient,
    url: str,
    people: dict[str, Any],
    certifier: str,
    assessor: str,
    **extra: str,
) -> Any:
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).strftime("%Y-%m-%dT10:00")
    return _act(
        client,
        url,
        "plan",
        {
            "methods": ["esame_dossier", "colloquio_tecnico"],
            "scheduled_at": when,
            "location": "Via Dante 121, Cremona",
            "certifiers": [str(people[certifier].person_id)],
            "assessors": [str(people[assessor].person_id)],
            **extra,
        },
    )


@pytest.mark.slow
def test_partial_validation_then_appeal(stage: dict[str, Any], db: Session) -> None:
    c, people, case = stage["clients"], stage["people"], stage["case"]
    url = f"/cases/{case.id}"
    _act(c["candidate"], url, "request-validation")
    db.expire_all()
    assert case.status == CaseStatus.DOSSIER_REVIEW and case.snapshot is not None

    review = c["certifier"].get(url + "/review").get_data(as_text=True)
    assert "DEMO-C01-I1" in review and stage["evidence"].title in review
    # an unrated criterion is not pre-set to a level, and saving it without one saves nothing
    assert review.count("— non ancora valutato —") == review.count('name="level_code"')
    assert "Livelli sufficienti: L2, L3" in review
    post_form(
        c["certifier"],
        url + "/ratings",
        {"competence_code": "DEMO-C01", "criterion_code": "DEMO-C01-I1", "level_code": ""},
        page=url + "/review",
    )
    db.expire_all()
    assert case.ratings == []
    assert "Scegli un livello per DEMO-C01-I1" in c["certifier"].get(url + "/review").get_data(
        as_text=True
    )
    assert c["candidate"].get(url + "/review").status_code == 404
    # an assessor sees the case only once on its panel
    assert c["assessor"].get(url + "/review").status_code == 404
    # the tutor sees the review but has no rating form (terzietà)
    assert 'name="level_code"' not in c["tutor"].get(url + "/review").get_data(as_text=True)

    # integration round trip
    deadline = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)).isoformat()
    _act(c["certifier"], url, "integration", {"note": "Manca il report", "deadline": deadline})
    _act(c["tutor"], url, "resubmit")

    # the tutor is never offered for the panel (terzietà)
    page = c["certifier"].get(url).get_data(as_text=True)
    assert str(people["tutor"].person_id) not in page.split('id="plan-h"')[1]
    _plan(c["certifier"], url, people, "certifier", "assessor")
    db.expire_all()
    assert case.status == CaseStatus.ASSESSMENT_SCHEDULED
    page = c["assessor"].get(url).get_data(as_text=True)
    assert "Dichiara" in page
    post_form(c["assessor"], url + "/declaration", {"has_conflict": "no", "note": ""}, page=url)
    refused = _act(c["certifier"], url, "open", {"identity_checked": "y"}, expect=422)
    assert "dichiarare" in refused.get_data(as_text=True)
    post_form(c["certifier"], url + "/declaration", {"has_conflict": "no", "note": ""}, page=url)
    _act(c["certifier"], url, "open", {"identity_checked": "y"})

    _rate(c["assessor"], url, "DEMO-C01", "L2")
    _rate(c["assessor"], url, "DEMO-C02", "L1")
    form = {
        "version": _version(c["certifier"], url + "/outcomes"),
        "outcome-DEMO-C01": "validata",
        "rationale-DEMO-C01": "Checklist e colloquio.",
        "methods-DEMO-C01": ["esame_dossier"],
        "evidence-DEMO-C01": [str(stage["evidence"].id)],
        "outcome-DEMO-C02": "validata",
        "rationale-DEMO-C02": "x",
        "methods-DEMO-C02": ["colloquio_tecnico"],
    }
    refused = post_form(c["certifier"], url + "/outcomes", form)
    assert refused.status_code == 422
    assert "a un livello sufficiente" in refused.get_data(
        as_text=True
    ) or "non può essere validata" in refused.get_data(as_text=True)
    form.update({"outcome-DEMO-C02": "non_validata", "feedback-DEMO-C02": "C02-I2: niente prove."})
    # First the verbale's content, to check: nothing is recorded yet.
    preview = post_form(c["certifier"], url + "/outcomes", form)
    assert preview.status_code == 200
    shown = preview.get_data(as_text=True)
    assert "Validata in parte" in shown and "C02-I2: niente prove." in shown
    assert 'value="confirm"' in shown and 'value="edit"' in shown
    db.expire_all()
    assert case.status == CaseStatus.ASSESSMENT_IN_PROGRESS and case.outcomes == []
    # Back to edit keeps what was entered.
    again = post_form(c["certifier"], url + "/outcomes", {**form, "step": "edit"})
    assert again.status_code == 200 and "C02-I2: niente prove.</textarea>" in again.get_data(True)
    response = post_form(c["certifier"], url + "/outcomes", {**form, "step": "confirm"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.expire_all()
    assert case.status == CaseStatus.VALIDATED_PARTIAL
    # the candidate's e-mail names the result, and which competences, not the case's state
    told = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == case.candidate.account.email)
        .order_by(OutboxMessage.created_at.desc())
    ).first()
    assert told is not None and "validazione parziale" in told.body_text
    validated, not_validated = told.body_text.split("Non validate questa volta:")
    assert "DEMO-C01" in validated and "DEMO-C02" in not_validated
    verbale = next(d for d in case.documents if d.kind == DocumentKind.VERBALE)
    pdf = c["candidate"].get(f"{url}/documents/{verbale.id}").data
    text = subprocess.run(
        [require_tool("pdftotext"), "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Verbale di valutazione" in text and "C02-I2: niente prove." in text

    # the candidate appeals; the certifier from the panel cannot decide; a colleague upholds
    _act(c["candidate"], url, "appeal", {"grounds": "Il report non è stato considerato."})
    page = c["certifier"].get(url).get_data(as_text=True)
    assert "Respingi" not in page
    response = post_form(
        c["certifier2"],
        url + "/plan",
        {
            "version": _version(c["certifier2"], url),
            "methods": ["colloquio_tecnico"],
            "scheduled_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).strftime(
                "%Y-%m-%dT09:30"
            ),
            "location": "Cremona",
            "certifiers": [str(people["certifier2"].person_id)],
            "assessors": [str(people["assessor"].person_id)],
            "rationale": "Da rivalutare",
        },
        page=url,
    )
    assert response.status_code == 422  # the first assessor may not sit again
    _plan(c["certifier2"], url, people, "certifier2", "assessor2", rationale="Da rivalutare")
    db.expire_all()
    assert case.status == CaseStatus.ASSESSMENT_SCHEDULED and case.assessment_round == 2

    # the regional supervisor sees it in the register and its CSV
    register = c["supervisor"].get("/register/").get_data(as_text=True)
    assert case.protocol_number in register
    csv = c["supervisor"].get("/register/cases.csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert case.protocol_number in csv.get_data(as_text=True)
    assert c["certifier"].get("/register/").status_code == 403


@pytest.mark.slow
def test_full_validation_to_certified(stage: dict[str, Any], db: Session) -> None:
    c, people, case = stage["clients"], stage["people"], stage["case"]
    url = f"/cases/{case.id}"
    _act(c["candidate"], url, "request-validation")
    _plan(c["certifier"], url, people, "certifier", "assessor")
    for who in ("certifier", "assessor"):
        post_form(c[who], url + "/declaration", {"has_conflict": "no", "note": ""}, page=url)
    _act(c["certifier"], url, "open", {"identity_checked": "y"})
    _rate(c["assessor"], url, "DEMO-C01", "L3")
    _rate(c["certifier"], url, "DEMO-C02", "L2")
    response = post_form(
        c["certifier"],
        url + "/outcomes",
        {
            "version": _version(c["certifier"], url + "/outcomes"),
            "outcome-DEMO-C01": "validata",
            "rationale-DEMO-C01": "Ottimo.",
            "methods-DEMO-C01": ["colloquio_tecnico"],
            "outcome-DEMO-C02": "validata",
            "rationale-DEMO-C02": "Adeguato.",
            "methods-DEMO-C02": ["colloquio_tecnico"],
            "step": "confirm",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert case.status == CaseStatus.CERTIFICATION  # Lombardy: straight on to certification
    # Certifying asks first, naming what is certified; unconfirmed, nothing changes.
    asked = c["certifier"].get(url + "/certify").get_data(as_text=True)
    assert (
        "Competenze certificate: DEMO-C01" in asked
        and "DEMO-C02" in asked
        and "data-confirm" in asked
    )
    certify = url + "/certify"
    version = {"version": _version(c["certifier"], certify)}
    assert post_form(c["certifier"], certify, version).status_code == 422
    db.expire_all()
    assert case.status == CaseStatus.CERTIFICATION
    confirmed = {**version, "confirm": "y"}
    assert post_form(c["certifier"], certify, confirmed).status_code == 302
    db.expire_all()
    assert case.status == CaseStatus.CERTIFIED
    again = post_form(c["certifier"], certify, confirmed, page=url)
    assert again.location.endswith(url)  # a second click: already done, nothing again
    assert db.scalar(select(CertificationCase)).status == CaseStatus.CERTIFIED
