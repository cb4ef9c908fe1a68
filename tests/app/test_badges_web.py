"""The profile badge on the web (public image, holder's page, public check) and the issuer's
LinkedIn organization id in the add-to-profile link (issue 19, item 4)."""

from __future__ import annotations

import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.certificates import badges
from certification.models import AuditEvent, Organisation
from tests.support.certificates import issue_on_the_web
from tests.support.factories import PASSWORD
from tests.support.web import login
from tests.support.worlds import CaseWorld


def test_the_public_badge_is_a_png_for_a_known_profile_only(app: Flask, db: Session) -> None:
    client = app.test_client()
    response = client.get("/badges/DEMO-P01.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "public" in response.headers["Cache-Control"]
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert Image.open(io.BytesIO(response.data)).size == (200, 200)
    title = "Animatore di spazi di coworking e community"
    assert response.data == badges.badge_png("DEMO-P01", title, "it")
    english = client.get("/badges/en/DEMO-P01.png")
    assert english.status_code == 200 and english.data != response.data
    again = client.get("/badges/DEMO-P01.png", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/badges/NO-SUCH-PROFILE.png").status_code == 404
    assert client.get("/badges/de/DEMO-P01.png").status_code == 404


def _query(page: str) -> dict[str, list[str]]:
    found = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', page)
    assert found
    return parse_qs(urlsplit(html.unescape(found.group(1))).query)


@pytest.mark.slow
def test_the_badge_shows_on_the_holders_page_and_the_public_check(
    app: Flask,
    stage: CaseWorld,
    db: Session,
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    badge = certificate.content["badge"]
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    shown = f'src="{badge["image"]}" alt="{html.escape(badge["caption"])}"'
    assert shown in page
    assert "Il badge del profilo" in page
    public = app.test_client().get(f"/verify/{certificate.verification_code}")
    assert shown in public.get_data(as_text=True)
    page = (
        app.test_client()
        .get(f"/verify/{certificate.verification_code}", headers={"Accept-Language": "en"})
        .get_data(as_text=True)
    )
    assert "What the register says" in page
    assert shown in page  # the caption describes the image, in the certificate's language


@pytest.mark.slow
def test_linkedin_names_the_issuer_by_id_when_the_ente_has_one(
    app: Flask,
    stage: CaseWorld,
    db: Session,
) -> None:
    certificate = issue_on_the_web(app, stage, db)
    holder = app.test_client()
    login(holder, stage.candidate.email, PASSWORD)
    query = _query(holder.get(f"/certificates/{certificate.id}").get_data(as_text=True))
    assert query["organizationName"] == [certificate.content["ente"]["legal_name"]]
    assert "organizationId" not in query

    runner = app.test_cli_runner()
    code = stage.ente.code
    result = runner.invoke(args=["organisations", "linkedin", code, " 12345678 "])
    assert result.exit_code == 0, result.output
    db.expire_all()
    query = _query(holder.get(f"/certificates/{certificate.id}").get_data(as_text=True))
    assert query["organizationId"] == ["12345678"]
    assert "organizationName" not in query
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "organisation.linkedin_set"))
    assert event is not None

    # Not digits: refused with a message, nothing changed.
    for bad in ("acme-srl", "https://www.linkedin.com/company/12345678/", "1" * 21):
        result = runner.invoke(args=["organisations", "linkedin", code, bad])
        assert result.exit_code != 0 and "digits only" in result.output, result.output
    db.expire_all()
    ente = db.get(Organisation, stage.ente.id)
    assert ente is not None and ente.linkedin_organization_id == "12345678"

    # Without an id it is cleared, and the link names the ente again.
    assert runner.invoke(args=["organisations", "linkedin", code]).exit_code == 0
    db.expire_all()
    query = _query(holder.get(f"/certificates/{certificate.id}").get_data(as_text=True))
    assert "organizationId" not in query and query["organizationName"]
    assert runner.invoke(args=["organisations", "linkedin", "NOPE", "1"]).exit_code != 0
