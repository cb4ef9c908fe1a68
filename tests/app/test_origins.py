"""Origin checks: a state-changing request from another site is refused even with a valid CSRF
token (issue 17: a cross-site POST suspended a certificate), and what the refusal changes is
nothing; our own forms, direct navigation and non-browser API clients keep working."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.origins import origin_of
from certification.keys.management import init_keys
from certification.models import AuditEvent, Certificate, CertificateStatus, UserAccount
from certification.people.accounts import create_api_token
from certification.people.roles import Role
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_account, make_candidate
from tests.support.web import csrf_token, login, post_form
from tests.support.worlds import assessment_world, certified

OWN = "http://localhost"  # the test app's BASE_URL, and the test client's host

# (Sec-Fetch-Site, Origin) -> allowed?  None: the header is not sent.
TABLE = [
    (None, None, True),  # curl, scripts, old browsers: the CSRF token decides
    ("same-origin", None, True),
    ("same-origin", OWN, True),
    ("same-origin", "http://localhost:80", True),  # the default port written out
    ("same-origin", "null", True),  # our own form on a no-referrer page (/verify)
    ("none", None, True),  # the person acted directly (address bar, bookmark)
    (None, OWN, True),
    (None, "null", True),
    (None, "https://attesta.example", True),  # ATTESTA_BASE_URL (set below) behind a proxy
    ("cross-site", None, False),
    ("cross-site", "https://evil.example", False),
    ("cross-site", OWN, False),
    ("cross-site", "null", False),  # a sandboxed frame on another site
    ("same-site", None, False),  # a sibling sub-domain: the Lax cookie goes along
    ("same-site", "http://other.localhost", False),
    ("SomethingNew", None, False),  # unknown: fail closed
    ("same-origin", "https://evil.example", False),  # incoherent: the foreign Origin wins
    (None, "https://evil.example", False),  # a browser without Fetch Metadata
    (None, "https://localhost", False),  # another scheme is another origin
    (None, "http://localhost:8080", False),  # another port is another origin
    (None, "http://localhost.evil.example", False),
]


def _headers(fetch_site: str | None, origin: str | None) -> dict[str, str]:
    headers = {}
    if fetch_site is not None:
        headers["Sec-Fetch-Site"] = fetch_site
    if origin is not None:
        headers["Origin"] = origin
    return headers


@pytest.fixture
def proxied_app(app_factory: Any) -> Flask:
    """The test app, its public address behind a proxy another than the request's host."""
    app: Flask = app_factory(BASE_URL="https://attesta.example")
    return app


@pytest.mark.slow
@pytest.mark.parametrize(("fetch_site", "origin", "allowed"), TABLE)
def test_a_state_changing_form_by_request_origin(
    proxied_app: Flask, db: Session, fetch_site: str | None, origin: str | None, allowed: bool
) -> None:
    account = make_candidate(db, locale="it")
    db.commit()
    client = proxied_app.test_client()
    login(client, account.email, PASSWORD)
    token = csrf_token(client, "/dashboard")
    response = client.post(
        "/language",
        data={"locale": "en", "next": "/dashboard", "csrf_token": token},
        headers=_headers(fetch_site, origin),
    )
    db.expire_all()
    stored = db.get_one(UserAccount, account.id).locale
    if allowed:
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        assert stored == "en"
    else:
        assert response.status_code == 403
        assert stored == "it"  # nothing changed: neither the account nor the session
        page = client.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert 'lang="it"' in page
        assert "inviata da un altro sito" in response.get_data(as_text=True)


def test_the_refusal_is_in_the_users_language(client: FlaskClient) -> None:
    headers = {"Sec-Fetch-Site": "cross-site", "Accept-Language": "en"}
    english = client.post("/login", data={"email": "a@b.example"}, headers=headers)
    assert english.status_code == 403
    assert "sent from another website" in english.get_data(as_text=True)
    italian = client.post("/login", headers={**headers, "Accept-Language": "it"})
    assert "inviata da un altro sito" in italian.get_data(as_text=True)


def test_safe_methods_are_never_refused(client: FlaskClient) -> None:
    for method in ("GET", "HEAD", "OPTIONS"):
        response = client.open(
            "/verify", method=method, headers={"Sec-Fetch-Site": "cross-site", "Origin": "null"}
        )
        assert response.status_code in (200, 204), (method, response.status_code)
    # A link from an employer's site to a verification page is the point of the QR code.
    linked = client.get("/verify?code=AAAAA", headers={"Sec-Fetch-Site": "cross-site"})
    assert linked.status_code != 403


def test_the_api_answers_json_and_keeps_serving_non_browser_clients(
    client: FlaskClient, db: Session
) -> None:
    refused = client.post(
        "/api/v1/verify",
        data={},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "cross_origin_refused"
    # A script sends neither header: the request goes through to the view (no file: 422).
    plain = client.post("/api/v1/verify", data={})
    assert plain.status_code == 422, plain.get_data(as_text=True)[:300]
    # Token-authenticated calls likewise (an unknown case id is the view's answer, not ours).
    w = assessment_world(db)
    signatory = make_account(db, roles=(Role.SIGNATORY,), organisation=w.ente)
    secret = create_api_token(db, signatory, "script", NOW)[1]
    db.commit()
    answer = client.post(
        "/api/v1/certificates/bulk",
        json={"case_ids": []},
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "k-1"},
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]


@pytest.mark.slow
def test_a_cross_site_post_does_not_suspend_a_certificate(app: Flask, db: Session) -> None:
    """The attack of issue 17: a signatory's valid token, posted from another site."""
    w = assessment_world(db)
    signatory = make_account(db, roles=(Role.SIGNATORY,), organisation=w.ente)
    case = certified(db, w)
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
    db.commit()
    client = app.test_client()
    login(client, signatory.email, PASSWORD)
    issued = post_form(client, f"/cases/{case.id}/certificate", {}, page=f"/cases/{case.id}")
    assert issued.status_code == 302
    certificate = db.scalar(select(Certificate))
    assert certificate is not None
    url = f"/certificates/{certificate.id}"
    fields = {
        "suspend-reason_code": "other",
        "suspend-reason": "Verifica in corso.",
        "suspend-confirm": "y",
    }
    token = csrf_token(client, url)
    attack = client.post(
        f"{url}/suspend",
        data={**fields, "csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert attack.status_code == 403
    db.expire_all()
    assert certificate.status == CertificateStatus.ISSUED
    # The forged request riding the signatory's session is in the security log.
    [logged] = db.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused"))
    assert logged.actor_user_id == signatory.id
    assert (logged.details["code"], logged.details["path"]) == (
        "cross_origin_refused",
        f"{url}/suspend",
    )
    # The same form from our own page goes through.
    own = client.post(
        f"{url}/suspend",
        data={**fields, "csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": OWN},
    )
    assert own.status_code == 302
    db.expire_all()
    assert certificate.status == CertificateStatus.SUSPENDED


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://a.example", "http://a.example:80"),
        ("https://A.example/path/", "https://a.example:443"),
        ("https://a.example:8443", "https://a.example:8443"),
        ("ftp://a.example", None),
        ("null", None),
        ("http://a.example:99999", None),
        ("", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
