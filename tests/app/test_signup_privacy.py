"""Sign-up on the web: every error at once, the platform's privacy notice read and kept, the
address confirmed by an e-mailed link (single use, expiring, sent again at a limited pace), the
application refused until then; the public privacy pages, every version, in Italian and
English; the notice linked beside the consents; publishing a new version from the CLI."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.privacy.views import notice_blocks
from certification.cases import workflow
from certification.cases.states import CaseStatus
from certification.models import (
    CertificationCase,
    Consent,
    ConsentPurpose,
    OutboxMessage,
    UserAccount,
)
from certification.people import accounts, privacy
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import (
    PASSWORD,
    make_account,
    make_candidate,
    make_organisation,
    profile,
)
from tests.support.web import csrf_token, login, post_form

SIGNUP = {
    "given_name": "Luca",
    "family_name": "Verdi",
    "email": "luca.verdi@example.org",
    "password": "una frase lunga e sicura",
    "confirm": "una frase lunga e sicura",
}
LINK_RE = re.compile(r"http://localhost(/email/confirm/\S+)")


def _platform_notice(db: Session) -> privacy.PrivacyNotice:
    notice = privacy.publish_notice(
        db, None, None, title="Informativa piattaforma", body="Titolare: X.", language="it", now=NOW
    )
    db.commit()
    return notice


def _confirmation_link(db: Session, email: str) -> str:
    messages = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.created_at)
    ).all()
    assert messages, "no confirmation e-mail"
    assert messages[-1].subject == "Attesta: conferma il tuo indirizzo e-mail"
    match = LINK_RE.search(messages[-1].body_text)
    assert match, messages[-1].body_text
    return match.group(1)


def test_every_signup_error_is_shown_at_once(client: FlaskClient, db: Session) -> None:
    _platform_notice(db)
    make_account(db, email="presa@example.org")
    db.commit()
    page = client.get("/signup").get_data(as_text=True)
    assert 'href="/privacy"' in page and "informativa privacy, versione 1" in page
    response = post_form(
        client,
        "/signup",
        {**SIGNUP, "given_name": "", "email": "presa@example.org", "password": "corta"},
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    for message in (
        "Questo campo è obbligatorio.",  # the first name
        "Esiste già un account con questo indirizzo e-mail.",
        "Usa almeno 10 caratteri.",
        "Le password non coincidono.",
        "Leggi l'informativa e spunta la casella.",
    ):
        assert message in html, message
    assert db.scalar(select(UserAccount).where(UserAccount.email == "presa@example.org"))
    assert db.scalar(select(Consent)) is None


def test_signup_keeps_the_notice_read_and_confirms_by_link(
    client: FlaskClient, db: Session
) -> None:
    notice = _platform_notice(db)
    response = post_form(client, "/signup", {**SIGNUP, "accept_privacy": "y"})
    assert response.status_code == 302
    account = db.scalar(select(UserAccount).where(UserAccount.email == SIGNUP["email"]))
    assert account is not None and account.email_confirmed_at is None
    consent = db.scalar(select(Consent).where(Consent.person_id == account.person_id))
    assert consent is not None and consent.purpose == ConsentPurpose.PRIVACY_NOTICE
    assert consent.privacy_notice_id == notice.id
    home = client.get("/dashboard").get_data(as_text=True)
    assert "Conferma il tuo indirizzo e-mail luca.verdi@example.org" in home
    assert "Invia di nuovo il link" in home

    link = _confirmation_link(db, SIGNUP["email"])
    response = client.get(link)
    assert response.status_code == 302 and response.location == "/dashboard"
    db.expire_all()
    assert account.email_confirmed_at is not None
    assert "Invia di nuovo il link" not in client.get("/dashboard").get_data(as_text=True)
    # single use: the second time, a clear page and nothing changed
    confirmed_at = account.email_confirmed_at
    response = client.get(link)
    assert response.status_code == 400
    assert "Link già usato" in response.get_data(as_text=True)
    db.expire_all()
    assert account.email_confirmed_at == confirmed_at


def test_expired_and_forged_links_offer_a_new_one(
    client: FlaskClient, db: Session, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_candidate(db, email="anna@example.org", email_confirmed=False)
    db.commit()
    token = accounts.make_email_confirmation_token(account, app.config["SECRET_KEY"])
    forged = client.get(f"/email/confirm/{token[:-3]}xyz")
    assert forged.status_code == 400
    html = forged.get_data(as_text=True)
    assert "Link non valido" in html and "Accedi" in html  # anonymous: log in to ask again

    login(client, "anna@example.org", PASSWORD)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + dt.timedelta(days=8).total_seconds())
    expired = client.get(f"/email/confirm/{token}")
    assert expired.status_code == 400
    html = expired.get_data(as_text=True)
    assert "Link scaduto" in html and "Invia di nuovo il link" in html
    db.expire_all()
    assert account.email_confirmed_at is None


@pytest.mark.slow
def test_resending_the_link_is_rate_limited(app_factory: Callable[..., Flask], db: Session) -> None:
    make_candidate(db, email="anna@example.org", email_confirmed=False)
    db.commit()
    client = app_factory(RATELIMIT_ENABLED=True).test_client()
    login(client, "anna@example.org", PASSWORD)
    token = csrf_token(client, "/dashboard")
    statuses = [
        client.post("/email/confirm/resend", data={"csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    sent = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "anna@example.org")
    ).all()
    assert len(sent) == 3


@pytest.mark.slow
def test_resend_for_a_confirmed_address_sends_nothing(client: FlaskClient, db: Session) -> None:
    make_candidate(db, email="anna@example.org")
    db.commit()
    login(client, "anna@example.org", PASSWORD)
    response = post_form(client, "/email/confirm/resend", {}, page="/dashboard")
    assert response.status_code == 302
    assert "già confermato" in client.get("/dashboard").get_data(as_text=True)
    assert db.scalar(select(OutboxMessage)) is None


@pytest.mark.slow
def test_submission_waits_for_the_confirmed_address(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    admin = make_account(db, roles=(Role.ADMIN,), organisation=ente)
    privacy.publish_notice(db, admin, ente, title="Informativa", body="T", language="it", now=NOW)
    candidate = make_candidate(db, email="anna@example.org", email_confirmed=False)
    case = workflow.create_case(
        db, candidate, ente_titolato=ente, profile=profile(db), competences=None, now=NOW
    )
    db.commit()
    login(client, "anna@example.org", PASSWORD)
    case_url = f"/cases/{case.id}"
    page = client.get(case_url).get_data(as_text=True)
    assert "Invia di nuovo il link" in page
    assert 'href="/privacy/CML/v1"' in page  # beside the consents
    submission = {
        "version": "1",
        "birth_date": "2001-04-02",
        "birth_place": "Cremona",
        "consent_processing": "y",
        "declaration_accepted": "y",
        "without_evidence": "y",
    }
    response = post_form(client, case_url + "/submit", submission, page=case_url)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Conferma il tuo indirizzo e-mail prima di presentare la domanda" in html
    assert "Invia di nuovo il link" in html
    assert f'name="next" value="{case_url}"' in html  # back to the case, not the POST address
    db.expire_all()
    assert db.get(CertificationCase, case.id).status == CaseStatus.DRAFT  # type: ignore[union-attr]
    resent = post_form(client, "/email/confirm/resend", {"next": case_url}, page=case_url)
    assert resent.status_code == 302 and resent.location == case_url
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "anna@example.org"))

    token = accounts.make_email_confirmation_token(candidate, app.config["SECRET_KEY"])
    assert client.get(f"/email/confirm/{token}").status_code == 302
    response = post_form(client, case_url + "/submit", submission, page=case_url)
    assert response.status_code == 302
    db.expire_all()
    submitted = db.get(CertificationCase, case.id)
    assert submitted is not None and submitted.status == CaseStatus.SUBMITTED
    assert {c.privacy_notice.version for c in submitted.consents if c.privacy_notice} == {1}


def test_a_password_link_confirms_an_invited_address(
    client: FlaskClient, db: Session, app: Flask
) -> None:
    staff = make_account(db, email="nuovo@example.org", email_confirmed=False)
    db.commit()
    token = accounts.make_password_reset_token(staff, app.config["SECRET_KEY"])
    url = f"/password/reset/{token}"
    response = post_form(
        client, url, {"password": "una frase nuova e sicura", "confirm": "una frase nuova e sicura"}
    )
    assert response.status_code == 302
    db.expire_all()
    assert staff.email_confirmed_at is not None


def test_privacy_pages_every_version_in_both_languages(client: FlaskClient, db: Session) -> None:
    assert client.get("/privacy").status_code == 404  # none published yet
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML", short_name="CML")
    admin = make_account(db, roles=(Role.ADMIN,), organisation=ente)
    _platform_notice(db)
    for n in (1, 2):
        privacy.publish_notice(
            db, admin, ente, title=f"Informativa {n}", body=f"Testo {n}", language="it", now=NOW
        )
    db.commit()
    platform = client.get("/privacy").get_data(as_text=True)
    assert "Informativa piattaforma" in platform and "Titolare: X." in platform
    assert client.get("/privacy/v1").status_code == 200
    current = client.get("/privacy/cml").get_data(as_text=True)  # the code, case aside
    assert "Testo 2" in current and "Versione 2" in current
    assert "Questa non è la versione in vigore" not in current
    old = client.get("/privacy/CML/v1")
    assert old.status_code == 200
    html = old.get_data(as_text=True)
    assert "Testo 1" in html and "Questa non è la versione in vigore." in html
    assert "pubblicato in" not in html  # Italian text on an Italian page: nothing to say
    for url in ("/privacy/CML/v3", "/privacy/NONE", "/privacy/v2", "/privacy/NONE/v1"):
        assert client.get(url).status_code == 404, url

    post_form(client, "/language", {"locale": "en", "next": "/"}, page="/")
    english = client.get("/privacy/CML/v1").get_data(as_text=True)
    assert "This is not the current version." in english
    assert "This notice is the legal text, published in Italiano" in english
    assert "Testo 1" in english  # kept as written


def test_the_cli_publishes_a_new_version(app: Flask, db: Session, tmp_path: Path) -> None:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    admin = make_account(db, email="admin@example.org", roles=(Role.ADMIN,), organisation=ente)
    operator = make_account(
        db, email="op@example.org", roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente
    )
    db.commit()
    text = tmp_path / "informativa.md"
    text.write_text("# Informativa\n\n1. Titolare del trattamento\n", encoding="utf-8")
    runner = app.test_cli_runner()
    args = ["privacy", "publish", str(text), "--title", "Informativa", "--ente", "CML"]
    refused = runner.invoke(args=[*args, "--by", operator.email])
    assert refused.exit_code != 0 and "not_permitted" in refused.output
    result = runner.invoke(args=[*args, "--by", admin.email])
    assert result.exit_code == 0, result.output
    assert "published version 1: /privacy/CML/v1" in result.output
    result = runner.invoke(args=[*args, "--by", admin.email])
    assert "published version 2" in result.output
    platform = runner.invoke(args=["privacy", "publish", str(text), "--title", "Piattaforma"])
    assert "published version 1: /privacy/v1" in platform.output
    db.expire_all()
    assert [n.version for n in privacy.notice_versions(db, ente)] == [2, 1]


@pytest.mark.parametrize(
    ("body", "blocks"),
    [
        ("Una riga.", [(None, ["Una riga."])]),
        (  # the source's wrapping joined, so the text flows on a phone
            "1. Titolare del trattamento\nRegione Lombardia, Piazza\nCittà di Lombardia 1.",
            [("1. Titolare del trattamento", ["Regione Lombardia, Piazza Città di Lombardia 1."])],
        ),
        (  # items keep their lines; blank lines part paragraphs
            "4. Finalità\na) Creare l'account:\n   esecuzione di misure.\nb) Sicurezza.\n\nFine.",
            [
                ("4. Finalità", ["a) Creare l'account: esecuzione di misure.", "b) Sicurezza."]),
                (None, ["Fine."]),
            ],
        ),
        ("3. Solo un titolo", [(None, ["3. Solo un titolo"])]),
    ],
)
def test_a_notice_reads_in_paragraphs_with_its_words_as_written(
    body: str, blocks: list[tuple[str | None, list[str]]]
) -> None:
    assert [(b.heading, b.lines) for b in notice_blocks(body)] == blocks
