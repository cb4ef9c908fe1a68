"""The staff's home leads with "needs my action", and /cases/ is a list to search, filter, sort
and page (issue 18): in both languages, with bad filter values said and ignored, never a 500,
and nobody shown a case they do not see."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from certification.clock import utcnow
from certification.models import Certificate, CertificateStatus, CertificationCase
from tests.support.access_world import World, build_world, client_for

IT = "it"
EN = "en"


def _client(app: Flask, db: Session, world: World, role: str, lang: str = EN) -> FlaskClient:
    """A browser for ``role`` in ``lang`` (their account's language)."""
    world.accounts[role].locale = lang
    db.commit()
    return client_for(app, world, role)


def _get(app: Flask, db: Session, world: World, role: str, url: str, lang: str = EN) -> str:
    return _client(app, db, world, role, lang).get(url).text


@pytest.fixture
def world(app: Flask, db: Session) -> World:
    world: World = build_world(db, app)
    review = db.get_one(CertificationCase, world.rcase)
    review.deadline_at = utcnow() - dt.timedelta(days=3)
    db.get_one(CertificationCase, world.pcase).deadline_at = utcnow() + dt.timedelta(days=5)
    db.commit()
    return world


def _protocol(db: Session, case_id: object) -> str:
    return str(db.get_one(CertificationCase, case_id).protocol_number)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("headers", "title", "task", "late"),
    [
        (IT, "Serve una mia azione", "Esame del dossier e pianificazione", "3 giorni di ritardo"),
        (EN, "Needs my action", "Dossier review and planning", "3 days late"),
    ],
)
def test_the_certifier_home_leads_with_what_is_due(
    app: Flask, db: Session, world: World, headers: str, title: str, task: str, late: str
) -> None:
    html = _get(app, db, world, "certifier", "/dashboard", headers)
    section = html.split('id="todo-h"')[1].split("</section>")[0]
    assert title in html.split('id="todo-h"')[1][:80]
    assert task in section
    row = section.split(f'href="/cases/{world.rcase}"')[1].split("</li>")[0]
    assert _protocol(db, world.rcase) in row and late in row and "badge-danger" in row


def test_each_role_sees_its_own_steps(app: Flask, db: Session, world: World) -> None:
    tutor = _get(app, db, world, "tutor", "/dashboard", EN)
    assert "Identification and Documento di trasparenza" in tutor
    assert f'href="/cases/{world.case}"' in tutor.split('id="todo-h"')[1]
    nobody = _get(app, db, world, "other_assessor", "/dashboard", EN)
    assert "Nothing needs your action at the moment." in nobody
    candidate = _get(app, db, world, "candidate", "/dashboard", EN)
    assert 'id="todo-h"' not in candidate


@pytest.mark.slow
def test_search_finds_by_protocol_and_keeps_filters_across_pages(
    app: Flask, db: Session, world: World
) -> None:
    client = _client(app, db, world, "certifier")
    protocol = _protocol(db, world.rcase)
    html = client.get(f"/cases/?q={protocol}").text
    assert f'href="/cases/{world.rcase}"' in html and "1 application" in html
    assert f'href="/cases/{world.pcase}"' not in html
    overdue = _get(app, db, world, "certifier", "/cases/?overdue=y", IT)
    assert f'href="/cases/{world.rcase}"' in overdue and "3 giorni di ritardo" in overdue
    assert f'href="/cases/{world.pcase}"' not in overdue


@pytest.mark.slow
def test_pages_links_keep_the_filters(app: Flask, db: Session, world: World) -> None:
    from tests.support.factories import make_case

    org = db.get_one(CertificationCase, world.rcase).ente_titolato
    from certification.cases.states import CaseStatus

    for _ in range(26):
        make_case(db, ente=org, status=CaseStatus.SUBMITTED)
    db.commit()
    client = _client(app, db, world, "operator")
    html = client.get("/cases/?group=intake&sort=changed").text
    assert "26 applications" in html and "page 1 of 2" in html
    assert html.count('<li class="card') == 25
    link = html.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "group=intake" in link and "sort=changed" in link and "page=2" in link
    assert client.get(link).text.count('<li class="card') == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (IT, "Alcuni filtri non erano validi e sono stati ignorati"),
        (EN, "Some filters were not valid and have been ignored"),
    ],
)
@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-3",
        "group=nope",
        "sort=sideways",
        "profile=not-a-uuid",
        "ente=00000000-0000-0000-0000-000000000000",
        "q=" + "x" * 300,
    ],
)
def test_bad_filters_are_said_and_the_list_stays_unfiltered(
    app: Flask, db: Session, world: World, headers: str, message: str, query: str
) -> None:
    client = _client(app, db, world, "certifier", headers)
    answer = client.get(f"/cases/?{query}&overdue=y")
    assert answer.status_code == 200
    html = answer.text
    assert message in html
    # the unfiltered list: the case not overdue is there too
    assert f'href="/cases/{world.pcase}"' in html and f'href="/cases/{world.rcase}"' in html


@pytest.mark.slow
@pytest.mark.parametrize("page", ["abc", "-3", "0"])
def test_a_bad_page_gets_one_message_of_ours(
    app: Flask, db: Session, world: World, page: str
) -> None:
    html = _client(app, db, world, "certifier", IT).get(f"/cases/?page={page}").text
    assert html.count("Scegli una pagina da 1 a 100000.") == 1
    assert "intero valido" not in html


@pytest.mark.slow
def test_nobody_finds_a_case_they_do_not_see(app: Flask, db: Session, world: World) -> None:
    protocol = _protocol(db, world.pcase)
    for role in ("other_assessor", "other_admin", "admin", "other_tutor"):
        html = _get(app, db, world, role, f"/cases/?q={protocol}&closed=y")
        assert f'href="/cases/{world.pcase}"' not in html, role
    assert f'href="/cases/{world.pcase}"' in (
        _get(app, db, world, "assessor", f"/cases/?q={protocol}")
    )


def test_a_revoked_certificate_reads_as_revoked_in_the_list(
    app: Flask, db: Session, world: World
) -> None:
    db.get_one(Certificate, world.cert).status = CertificateStatus.REVOKED
    db.commit()
    html = _get(app, db, world, "tutor", "/cases/", IT)
    row = html.split(f'href="/cases/{world.case}"')[1].split("</li>")[0]
    assert "Revocato" in row and "badge-danger" in row
