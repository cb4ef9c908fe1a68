"""Talent cards on the web: the holder asks and downloads, the operator issues, the partner
checks at the counter and records a use, everyone can search the conventions."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cards import payload as card_payload
from certification.cards import qr_payload
from certification.cards.documents import CR80_MM, check_qr
from certification.keys.management import init_keys
from certification.models import CardStatus, CardUse, TalentCard
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import (
    PASSWORD,
    make_account,
    make_candidate,
    make_card,
    make_convention,
    make_organisation,
)
from tests.support.pdfs import accessibility_findings
from tests.support.web import csrf_token, login


@pytest.fixture
def w(db: Session, app: Flask) -> dict[str, Any]:
    ente = make_organisation(db, code="CW1")
    partner = make_organisation(
        db, OrganisationKind.PARTNER_BUSINESS, managed_by_id=ente.id, short_name="Stamperia"
    )
    other_partner = make_organisation(db, OrganisationKind.PARTNER_BUSINESS, managed_by_id=ente.id)
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
    holder = make_candidate(db, given_name="Giulia", family_name="Rossi")
    card = make_card(db, holder.person, ente)
    found = {
        "ente": ente,
        "holder": holder,
        "card": card,
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
        "partner_user": make_account(db, roles=(Role.PARTNER,), organisation=partner),
        "convention": make_convention(db, partner, title="Biglietti da visita"),
        "other_convention": make_convention(
            db, other_partner, title="Altra", benefit="Sconto su toner"
        ),
        "payload": qr_payload(db, card, app.config["KEY_PASSPHRASE"].encode()),
    }
    db.commit()
    return found


def _as(app: Flask, account: Any) -> FlaskClient:
    client = app.test_client()
    login(client, account.email, PASSWORD)
    return client


@pytest.mark.slow
def test_the_holder_downloads_a_cr80_pdf_and_a_phone_png(
    app: Flask, w: dict[str, Any], tmp_path: Path
) -> None:
    client = _as(app, w["holder"])
    page = client.get(f"/cards/{w['card'].id}").get_data(as_text=True)
    assert w["card"].number in page and "non costituisce attestazione di competenze" in page
    response = client.get(f"/cards/{w['card'].id}/card.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    document = pypdfium2.PdfDocument(response.data)
    sizes = [tuple(round(x * 25.4 / 72, 2) for x in page.get_size()) for page in document]
    text = " ".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    assert sizes == [CR80_MM, CR80_MM]
    assert accessibility_findings(response.data, tmp_path) == []  # tagged, PDF/UA (issue 21)
    assert w["card"].number in text and "Giulia Rossi" in text
    assert "La Talent Card non costituisce attestazione di competenze" in " ".join(text.split())
    png = client.get(f"/cards/{w['card'].id}/card.png")
    assert png.mimetype == "image/png"
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.width > 900 and 2 * image.width * 0.6 < image.height  # two sides, stacked


def test_the_holder_shows_the_cards_qr_code_on_the_phone(app: Flask, w: dict[str, Any]) -> None:
    """Issue 19: the card's signed QR code is on the holder's page, large, to be scanned at a
    counter; it is the code printed on the back (the same signed check address)."""
    client = _as(app, w["holder"])
    page = client.get(f"/cards/{w['card'].id}").get_data(as_text=True)
    assert f'<img src="/cards/{w["card"].id}/qr.svg"' in page and "Mostrala al bancone" in page
    svg = client.get(f"/cards/{w['card'].id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    base = app.config["BASE_URL"].rstrip("/")
    expected = io.BytesIO()
    check_qr(base, w["payload"]).save(
        expected, kind="svg", scale=10, border=4, dark="#000", light="#fff"
    )
    assert svg.data == expected.getvalue()
    # The operator who manages the card sees no phone code: it is the holder's to show.
    operator = _as(app, w["operator"])
    assert "qr.svg" not in operator.get(f"/cards/{w['card'].id}").get_data(as_text=True)


@pytest.mark.slow
def test_a_holder_asks_for_a_card_and_waits_for_the_operator(
    app: Flask, db: Session, w: dict[str, Any]
) -> None:
    candidate = make_candidate(db)
    db.commit()
    client = _as(app, candidate)
    token = csrf_token(client, "/cards/")
    form = {
        "csrf_token": token,
        "basis": "startup_registered",
        "organisation_id": str(w["ente"].id),
        "reference": "",
        "consent": "y",
    }
    refused = client.post("/cards/request", data=form)
    assert refused.status_code == 422
    assert "Questo campo è obbligatorio" in refused.get_data(as_text=True)
    form["reference"] = "REA CR-123"
    done = client.post("/cards/request", data=form, follow_redirects=True)
    assert "Richiesta inviata" in done.get_data(as_text=True)
    card = db.scalar(select(TalentCard).where(TalentCard.holder_person_id == candidate.person_id))
    assert card is not None and card.status == CardStatus.REQUESTED
    assert client.get(f"/cards/{card.id}/card.pdf").status_code == 409
    operator = _as(app, w["operator"])
    token = csrf_token(operator, f"/cards/{card.id}")
    operator.post(f"/cards/{card.id}/change/activated", data={"csrf_token": token})
    db.refresh(card)
    assert card.status == CardStatus.ACTIVE
    assert client.get(f"/cards/{card.id}/card.pdf").status_code == 200


@pytest.mark.slow  # the issued card is rendered (PDF and PNG, two languages) ahead of download
def test_an_operator_issues_a_card_by_e_mail(app: Flask, db: Session, w: dict[str, Any]) -> None:
    candidate = make_candidate(db)
    db.commit()
    client = _as(app, w["operator"])
    url = f"/programme/{w['ente'].id}/cards/new"
    form = {
        "csrf_token": csrf_token(client, url),
        "email": "nessuno@example.org",
        "basis": "programme_enrolment",
        "reference": "ISCR-42",
        "programme": "Talenti Diffusi",
        "consent": "y",
    }
    unknown = client.post(url, data=form)
    assert unknown.status_code == 422
    assert "Non c&#39;è un account con questo indirizzo" in unknown.get_data(as_text=True)
    form["email"] = candidate.email
    issued = client.post(url, data=form, follow_redirects=True)
    assert "emessa" in issued.get_data(as_text=True)
    card = db.scalar(select(TalentCard).where(TalentCard.holder_person_id == candidate.person_id))
    assert card is not None and card.status == CardStatus.ACTIVE


def test_the_counter_page_shows_only_the_verdict_name_and_expiry(
    app: Flask, w: dict[str, Any]
) -> None:
    client = app.test_client()
    page = client.get(f"/card/verify/{w['payload']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Card valida" in html and "Giulia R." in html
    assert "Rossi" not in html and w["card"].number not in html
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert page.headers["Cache-Control"] == "no-store"
    forged = client.get(f"/card/verify/{w['payload'][:-2]}AA")
    assert forged.status_code == 404 and "Card non valida" in forged.get_data(as_text=True)
    assert "Giulia" not in forged.get_data(as_text=True)
    number = w["card"].number
    # One character changed (never to itself: the number may well end in "0").
    typo = client.get("/card/verify?number=" + number[:-1] + ("1" if number[-1] == "0" else "0"))
    assert "non è scritto correttamente" in typo.get_data(as_text=True)


def test_a_partner_records_a_use_of_their_convention(
    app: Flask, db: Session, w: dict[str, Any]
) -> None:
    client = _as(app, w["partner_user"])
    page = client.get(f"/card/verify/{w['payload']}").get_data(as_text=True)
    assert "Biglietti da visita" in page and "Altra" not in page
    token = csrf_token(client, f"/card/verify/{w['payload']}")
    data = {"csrf_token": token, "card": w["payload"], "convention_id": str(w["convention"].id)}
    assert client.post("/card/use", data=data).status_code == 302
    assert db.scalar(select(CardUse.recorded_by_id)) == w["partner_user"].id
    data["convention_id"] = str(w["other_convention"].id)
    assert client.post("/card/use", data=data).status_code == 404
    anonymous = app.test_client()
    assert anonymous.post("/card/use", data=data).status_code in (302, 400)
    assert len(db.scalars(select(CardUse)).all()) == 1


def test_the_directory_is_public_and_searchable(app: Flask, w: dict[str, Any]) -> None:
    client = app.test_client()
    html = client.get("/conventions/?q=biglietti").get_data(as_text=True)
    assert "Biglietti da visita" in html and "Altra" not in html
    html = client.get("/conventions/?category=software").get_data(as_text=True)
    assert "Biglietti da visita" not in html
    assert client.get("/conventions/?category=nonsense&q=" + "x" * 500).status_code == 200
    assert client.get("/conventions/?category=%00").status_code == 422  # no NUL anywhere


def test_the_published_keys_check_a_scanned_code_offline(app: Flask, w: dict[str, Any]) -> None:
    published = app.test_client().get("/card/keys.json").get_json()
    keys = {
        k["kid_prefix"]: Ed25519PublicKey.from_public_bytes(
            base64.urlsafe_b64decode(k["public_key"] + "==")
        )
        for k in published["keys"]
        if k["status"] != "compromised"
    }
    scanned = f"http://localhost/card/verify/{w['payload']}"
    payload = card_payload.decode(card_payload.payload_from_url(scanned))
    assert card_payload.verify(payload, keys)
    assert payload.valid_until == w["card"].valid_until and payload.initials == "GR"


@pytest.mark.slow
def test_a_card_is_rendered_once_per_version_and_served_as_stored(
    app: Flask, db: Session, w: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import datetime as dt

    from app.services import renderer
    from certification.models import CardDocument

    with app.app_context():
        shared = renderer()
    rendered: list[str] = []
    render = shared.render_pdf

    def counted(template: str, *args: Any, **kwargs: Any) -> bytes:
        rendered.append(template)
        return render(template, *args, **kwargs)

    monkeypatch.setattr(shared, "render_pdf", counted)
    client = _as(app, w["holder"])
    url = f"/cards/{w['card'].id}"
    first, again = client.get(f"{url}/card.pdf"), client.get(f"{url}/card.pdf")
    assert first.status_code == again.status_code == 200
    assert first.data == again.data and rendered == ["card.html"]
    png, png_again = client.get(f"{url}/card.png"), client.get(f"{url}/card.png")
    assert png.mimetype == "image/png" and png.data == png_again.data
    assert rendered == ["card.html"]  # the PNG is drawn from the stored PDF, once
    # `cards export` writes the stored files too: the holder's bytes, nothing rendered again.
    for name, downloaded in (("card.pdf", first.data), ("card.png", png.data)):
        exported = app.test_cli_runner().invoke(
            args=["cards", "export", w["card"].number, str(tmp_path / name)]
        )
        assert exported.exit_code == 0, exported.output
        assert (tmp_path / name).read_bytes() == downloaded
    assert rendered == ["card.html"]
    db.expire_all()
    [stored] = db.scalars(select(CardDocument)).all()
    assert stored.png_sha256 is not None and stored.locale == "it"
    # A new version of the card (its validity changed): rendered again, once.
    card = db.get_one(TalentCard, w["card"].id)
    assert card.valid_until is not None
    card.valid_until = card.valid_until + dt.timedelta(days=365)
    db.commit()
    renewed = client.get(f"{url}/card.pdf")
    assert renewed.status_code == 200 and renewed.data != first.data
    assert client.get(f"{url}/card.pdf").data == renewed.data
    assert rendered == ["card.html", "card.html"]
    db.expire_all()
    [stored] = db.scalars(select(CardDocument)).all()
    assert stored.png_sha256 is None  # the PNG of the old version is not served any more
