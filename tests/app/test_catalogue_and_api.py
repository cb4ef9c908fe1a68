from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from certification.clock import utcnow
from certification.people.accounts import api_tokens_of, create_api_token
from certification.people.roles import Role
from tests.support.factories import PASSWORD, make_account
from tests.support.web import login, post_form

BASE = "/catalogue/DEMO-LOMBARDIA/1.0"


def test_catalogue_lists_and_searches(client: FlaskClient) -> None:
    html = client.get("/catalogue/").get_data(as_text=True)
    assert "Animatore di spazi di coworking e community" in html
    assert "3 profili trovati" in html
    assert "illustrativo" in html
    html = client.get("/catalogue/?q=impresa&eqf=5").get_data(as_text=True)
    assert "1 profilo trovato" in html
    assert "DEMO-P03" in html
    # A malformed level is ignored, never an error.
    assert client.get("/catalogue/?eqf=abc").status_code == 200
    assert client.get("/catalogue/?eqf=99&q=" + "x" * 500).status_code == 200


def test_profile_and_competence_pages(client: FlaskClient) -> None:
    html = client.get(f"{BASE}/profiles/DEMO-P02").get_data(as_text=True)
    assert "Organizzatore di eventi" in html
    assert "Livello EQF 4" in html
    assert "Standard illustrativo" in html
    html = client.get(f"{BASE}/competences/DEMO-C12").get_data(as_text=True)
    for words in (
        "Abilità",
        "Conoscenze",
        "Criteri di valutazione",
        "DEMO-C12-I1",
        "Soglia: L2",
        "L2 · Dimostrato",
        "Scala di valutazione",
    ):
        assert words in html
    english = client.get(
        f"{BASE}/competences/DEMO-C12", headers={"Accept-Language": "en-GB,en;q=0.9"}
    ).get_data(as_text=True)
    assert "Assessment criteria" in english
    assert 'lang="en"' in english


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/profiles/NOPE",
        f"{BASE}/competences/NOPE",
        "/catalogue/DEMO-LOMBARDIA/9/profiles/DEMO-P01",
    ],
)
def test_unknown_catalogue_items_are_404_in_italian(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "Pagina non trovata" in response.get_data(as_text=True)


def test_api_catalogue(client: FlaskClient) -> None:
    body = client.get("/api/v1/profiles?q=evento&eqf=4").get_json()
    assert [p["code"] for p in body["items"]] == ["DEMO-P02"]
    assert body["count"] == 1
    profile = client.get(body["items"][0]["url"].replace("http://localhost", "")).get_json()
    assert profile["title"]["it"] == "Organizzatore di eventi"
    assert len(profile["competences"]) == 5
    assert profile["illustrative"] is True
    competence = client.get(profile["competences"][0]["url"].replace("http://localhost", ""))
    data = competence.get_json()
    assert data["criteria"][0]["levels"][2] | {"descriptor": None} == {
        "code": "L2",
        "label": {"it": "Dimostrato", "en": "Demonstrated"},
        "descriptor": None,
        "passing": True,
    }
    frameworks = client.get("/api/v1/frameworks").get_json()["items"]
    assert any(f["code"] == "DEMO-LOMBARDIA" and len(f["content_sha256"]) == 64 for f in frameworks)


@pytest.mark.slow
@pytest.mark.parametrize("query", ["eqf=9", "eqf=abc", "q=" + "x" * 101])
def test_api_rejects_bad_parameters_with_codes(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/v1/profiles?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/frameworks/X/1/profiles/Y")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.post("/api/v1/frameworks")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_personal_access_tokens(client: FlaskClient, db: Session) -> None:
    account = make_account(db, roles=(Role.CERTIFICATORE,), given_name="Elena")
    # the API checks the expiry against the real clock: created now, not at the tests' NOW
    _token, secret = create_api_token(db, account, "script", utcnow(), dt.timedelta(days=30))
    db.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["given_name"] == "Elena"
    assert body["roles"][0]["role"] == "certificatore"
    for header in ("", "Bearer", f"Basic {secret}", f"Bearer {secret}x", "Bearer att_"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_openapi_documents_every_api_route(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = set(document["paths"])
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.openapi"
    }
    assert routes == documented
    for schema in ("Profile", "Competence", "Error", "Me"):
        assert schema in document["components"]["schemas"]
    assert document["paths"]["/me"]["get"]["security"] == [{"token": []}]


@pytest.mark.slow
def test_token_pages(client: FlaskClient, db: Session) -> None:
    account = make_account(db)
    db.commit()
    login(client, account.email, PASSWORD)
    response = post_form(client, "/account/tokens", {"name": "registro regionale", "expires": "30"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Copialo ora" in html
    secret = html.split('<code class="secret">')[1].split("</code>")[0]
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    # The secret is shown once: the list shows only its first characters.
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing
    assert secret[:10] in listing
    token_id = api_tokens_of(db, account)[0].id
    response = post_form(client, f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert response.status_code == 302
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )
