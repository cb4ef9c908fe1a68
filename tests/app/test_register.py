"""The Region's register: every row opens the case, a revoked certificate reads as revoked (page
and CSV, with its number), and the counts follow the filters."""

from __future__ import annotations

import csv
import io

from flask import Flask
from sqlalchemy.orm import Session

from certification.models import Certificate, CertificateStatus, CertificationCase
from tests.app.access_world import World, build_world, client_for


def test_the_register_links_cases_and_shows_certificates_as_they_are(
    app: Flask, db: Session
) -> None:
    world: World = build_world(db, app)
    certificate = db.get_one(Certificate, world["cert"])
    certificate.status = CertificateStatus.REVOKED
    db.commit()
    client = client_for(app, world, "region_supervisor")

    html = client.get("/register/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    row = html.split(f'href="/cases/{world["case"]}"')[1].split("</li>")[0]
    assert certificate.number in row and "Revocato" in row
    # the supervisor opens what the register lists, read only
    assert client.get(f"/cases/{world['case']}").status_code == 200
    assert client.get(f"/certificates/{world['cert']}").status_code == 200

    rows = list(
        csv.DictReader(io.StringIO(client.get("/register/cases.csv").text[1:]), delimiter=";")
    )
    [listed] = [r for r in rows if r["certificato"] == certificate.number]
    assert listed["stato_certificato"] == "revoked"

    # counts of the cases the filter keeps, not of all of them
    case = db.get_one(CertificationCase, world["case"])
    filtered = client.get(f"/register/?status={case.status.value}").get_data(as_text=True)
    by_state = filtered.split('id="bys-h"')[1].split("</section>")[0]
    assert by_state.count("<tr>") == 2  # the header and the one state kept
