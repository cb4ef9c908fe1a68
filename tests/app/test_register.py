"""The Region's register: every row opens the case, a revoked certificate reads as revoked (page
and CSV, with its number), and the counts follow the filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.clock import in_rome, utcnow
from certification.models import (
    AuditEvent,
    Certificate,
    CertificateStatus,
    CertificationCase,
    VerificationChannel,
    VerificationLog,
)
from tests.support.access_world import World, build_world, client_for


@pytest.mark.slow
def test_the_register_links_cases_and_shows_certificates_as_they_are(
    app: Flask, db: Session
) -> None:
    world: World = build_world(db, app)
    certificate = db.get_one(Certificate, world.cert)
    certificate.status = CertificateStatus.REVOKED
    db.commit()
    client = client_for(app, world, "region_supervisor")

    html = client.get("/register/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    row = html.split(f'href="/cases/{world.case}"')[1].split("</li>")[0]
    assert certificate.number in row and "Revocato" in row
    # the supervisor opens what the register lists, read only
    assert client.get(f"/cases/{world.case}").status_code == 200
    assert client.get(f"/certificates/{world.cert}").status_code == 200

    rows = list(
        csv.DictReader(io.StringIO(client.get("/register/cases.csv").text[1:]), delimiter=";")
    )
    [listed] = [r for r in rows if r["certificato"] == certificate.number]
    assert listed["stato_certificato"] == "revoked"

    # counts of the cases the filter keeps, not of all of them
    case = db.get_one(CertificationCase, world.case)
    filtered = client.get(f"/register/?status={case.status.value}").get_data(as_text=True)
    by_state = filtered.split('id="bys-h"')[1].split("</section>")[0]
    assert by_state.count("<tr>") == 2  # the header and the one state kept


def _viewed(db: Session) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "supervision.viewed")
            .order_by(AuditEvent.sequence)
        )
    )


def _csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # UTF-8 with a byte-order mark, for spreadsheets
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


@pytest.mark.slow
def test_the_certificates_register_lists_a_revoked_certificate_as_revoked(
    app: Flask, db: Session
) -> None:
    world: World = build_world(db, app)
    certificate = db.get_one(Certificate, world.cert)
    certificate.status = CertificateStatus.REVOKED
    certificate.status_changed_at = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    certificate.content = {
        **certificate.content,
        "holder": {"given_name": "=cmd|' /C calc'!A0", "family_name": "Rossi"},
    }
    db.commit()
    client = client_for(app, world, "region_supervisor")

    html = client.get(
        "/register/certificates/?status=revoked", headers={"Accept-Language": "it"}
    ).get_data(as_text=True)
    row = html.split(f'href="/certificates/{world.cert}"')[1].split("</li>")[0]
    assert certificate.number in row and "Revocato" in row and "1 gen 2027" in row  # Rome's day
    suspended = client.get("/register/certificates/?status=suspended").get_data(as_text=True)
    assert f'href="/certificates/{world.cert}"' not in suspended

    # the page the row links to: read only, revoked, and the view is in the audit log
    before = len(_viewed(db))
    page = client.get(f"/certificates/{world.cert}", headers={"Accept-Language": "it"})
    assert page.status_code == 200 and "Revocato" in page.get_data(as_text=True)
    assert "/revoke" not in page.get_data(as_text=True)
    [event] = _viewed(db)[before:]
    assert event.entity_type == "certificate" and event.entity_id == str(world.cert)
    assert event.actor_user_id == world.accounts["region_supervisor"].id
    assert event.details["number"] == certificate.number

    [listed] = _csv(client.get("/register/certificates.csv?status=revoked").text)
    assert listed["numero"] == certificate.number and listed["stato"] == "revoked"
    assert listed["data_stato"] == "2027-01-01"  # Rome's date of the revocation
    assert listed["titolare"].startswith("'=")  # a spreadsheet reads it as text, not a formula
    assert _csv(client.get("/register/certificates.csv?status=issued").text) == []


@pytest.mark.slow
def test_bad_filters_give_a_message_and_the_unfiltered_list(app: Flask, db: Session) -> None:
    world: World = build_world(db, app)
    client = client_for(app, world, "region_supervisor")
    for url in (
        "/register/certificates/?from=2026-13-01",
        "/register/certificates/?status=lost&ente=x",
        "/register/certificates/?from=2026-12-01&to=2026-01-01",
        "/register/?ente=not-a-uuid",
        "/register/?to=yesterday",
        "/register/dashboard?ente=42",
    ):
        answer = client.get(url, headers={"Accept-Language": "en"})
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200, url
        assert "non sono stati compresi" in html, url  # the account reads Italian
    unfiltered = client.get("/register/certificates/?status=nope").get_data(as_text=True)
    assert f'href="/certificates/{world.cert}"' in unfiltered
    assert client.get("/register/?page=zz").status_code == 200


@pytest.mark.slow
def test_the_registers_filter_by_dates_and_page(
    app: Flask, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world: World = build_world(db, app)
    cases = list(db.scalars(select(CertificationCase).where(CertificationCase.status != "draft")))
    for n, case in enumerate(cases):
        case.submitted_at = dt.datetime(2026, 10, 1 + n, 12, tzinfo=dt.UTC)
    db.commit()
    client = client_for(app, world, "region_supervisor")

    def listed(url: str) -> list[str]:
        html = client.get(url).get_data(as_text=True)
        return re.findall(r'<h3><a href="/cases/[0-9a-f-]{36}"', html)

    assert len(listed("/register/?from=2026-10-02")) == len(cases) - 1
    assert len(listed("/register/?from=2026-10-01&to=2026-10-01")) == 1
    monkeypatch.setattr("certification.supervision.register.PAGE_SIZE", 1)
    first = client.get("/register/?page=1").get_data(as_text=True)
    assert f"Page 1 of {len(cases)}" in first or f"Pagina 1 di {len(cases)}" in first
    assert len(listed("/register/?page=2")) == 1
    assert len(listed(f"/register/?page={len(cases) + 5}")) == 1  # past the end: the last page
    # the CSV is every row the filters keep, not one page
    assert len(_csv(client.get("/register/cases.csv").text)) == len(cases)


@pytest.mark.slow
def test_each_supervisor_view_of_a_case_or_document_is_logged_once(app: Flask, db: Session) -> None:
    world: World = build_world(db, app)
    client = client_for(app, world, "region_supervisor")
    before = len(_viewed(db))
    assert client.get(f"/cases/{world.case}").status_code == 200
    assert client.get(f"/cases/{world.case}/documents/{world.doc}").status_code == 200
    assert client.get(f"/certificates/{world.cert}/certificate.pdf").status_code == 200
    events = _viewed(db)[before:]
    assert [(e.entity_type, e.entity_id) for e in events] == [
        ("case", str(world.case)),
        ("document", str(world.doc)),
        ("certificate.pdf", str(world.cert)),
    ]
    assert events[1].details["number"] == "DT-TEST-1"
    assert all(e.organisation_id == world.org for e in events)
    # the case's own staff and candidate are not supervising: nothing is written for them
    for role in ("tutor", "candidate"):
        assert client_for(app, world, role).get(f"/cases/{world.case}").status_code == 200
    assert len(_viewed(db)) == before + 3


@pytest.mark.slow
def test_each_supervisor_view_of_the_portfolio_and_its_evidence_is_logged(
    app: Flask, db: Session
) -> None:
    """The evidence and the portfolio are the dossier of the case: a supervisor's view of them
    is logged as a view of a case is, for the ente whose cases they supervise."""
    world: World = build_world(db, app)
    client = client_for(app, world, "region_supervisor")
    pid, ev = world.pid, world.ev
    before = len(_viewed(db))
    for url in (
        f"/portfolio/{pid}/",
        f"/portfolio/{pid}/experiences/{world.exp}",
        f"/portfolio/{pid}/evidence/{ev}",
        f"/portfolio/{pid}/evidence/{ev}/file",
        f"/cases/{world.rcase}/evidence/{ev}/view",
    ):
        assert client.get(url).status_code == 200, url
    events = _viewed(db)[before:]
    assert [(e.entity_type, e.entity_id) for e in events] == [
        ("portfolio", str(pid)),
        ("experience", str(world.exp)),
        ("evidence", str(ev)),
        ("evidence.file", str(ev)),
        ("evidence.file", str(ev)),
    ]
    assert all(e.organisation_id == world.org for e in events)
    assert all(e.actor_user_id == world.accounts["region_supervisor"].id for e in events)
    assert events[3].details["file_name"] == "prova.pdf"
    assert str(world.case) in events[0].details["cases"]
    assert events[4].details["case_id"] == str(world.rcase)
    # the candidate and the case's tutor see the same files for their own reasons: no event
    for role in ("candidate", "tutor"):
        other = client_for(app, world, role)
        assert other.get(f"/portfolio/{pid}/evidence/{ev}/file").status_code == 200, role
    assert len(_viewed(db)) == before + 5


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "title"), [("it", "Verifiche per mese"), ("en", "Verifications per month")]
)
def test_the_dashboard_draws_accessible_charts(
    app: Flask, db: Session, language: str, title: str
) -> None:
    world: World = build_world(db, app)
    for minutes in (1, 2, 3):  # three verifications this month
        db.add(
            VerificationLog(
                certificate_id=world.cert,
                at=utcnow() - dt.timedelta(minutes=minutes),
                channel=VerificationChannel.WEB,
                method="code",
                verdict="valid",
                reason="ok",
            )
        )
    world.accounts["region_supervisor"].locale = language
    db.commit()
    html = (
        client_for(app, world, "region_supervisor")
        .get("/register/dashboard", headers={"Accept-Language": language})
        .get_data(as_text=True)
    )
    assert html.count('<svg role="img"') == 5
    assert html.count("<title id=") == 5 and html.count("<desc id=") == 5
    assert html.count("<caption>") == 7  # the stages in three tables of four months
    assert f'<title id="chart-verifications-t">{title}</title>' in html
    assert "<script" not in html.split("<main")[1]
    chart = html.split('id="ver-h"')[1].split("</section>")[0]
    month = in_rome(utcnow()).strftime("%m/%y")
    assert f"{month}: 3" in chart.split("</desc>")[0]  # the description reads the figures
    assert f'<th scope="row">{month}</th><td>3</td>' in chart  # and so does the table


@pytest.mark.parametrize("role", ["candidate", "tutor"])
def test_case_lists_show_a_revoked_certificate_as_revoked(
    app: Flask, db: Session, role: str
) -> None:
    world: World = build_world(db, app)
    client = client_for(app, world, role)
    assert "Certificato: Revocato" not in client.get("/cases/").get_data(as_text=True)
    db.get_one(Certificate, world.cert).status = CertificateStatus.REVOKED
    db.commit()
    html = client.get("/cases/").get_data(as_text=True)
    row = html.split(f'href="/cases/{world.case}"')[1].split("</li>")[0]
    assert "Certificato: Revocato" in row
