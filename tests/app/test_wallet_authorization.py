"""A wallet takes a certificate over the authorization code flow with PKCE (OpenID4VCI 1.0, the
wallet-initiated way in): the metadata advertises it; the holder's browser goes to the
authorization endpoint, logs in, consents on Attesta's page (Italian first); the wallet trades
the code and its verifier for an access token, then nonce, key proof and credential as in the
pre-authorized flow, checked by the test wallet (joserfc). Then every refusal: a wrong
verifier, a reused code, an expired one, another redirect_uri, another user's session, and the
authorization requests refused on our page or back at the wallet."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.clock import utcnow
from certification.models import WalletIssuance, WalletOffer
from certification.wallet.offers import PRE_AUTHORIZED_GRANT
from tests.support.factories import PASSWORD, make_account
from tests.support.wallet import (
    TestWallet,
    jwks_key,
    open_sd_jwt,
    unb64url,
    wallet_certificate,
)
from tests.support.web import csrf_token, login, post_form

ISSUER = "http://localhost"
CLIENT_ID = "https://wallet.example/app"
REDIRECT_URI = "https://wallet.example/callback?from=attesta"
CONFIGURATION = "attesta_certificate_sd_jwt"


def _pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2), computed here."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _request(challenge: str, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "attesta_certificate",
        "state": "wallet-state-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in params.items() if value is not None}


def _authorize_url(params: dict[str, str]) -> str:
    return "/wallet/authorize?" + urlencode(params)


def _consent(
    client: FlaskClient, params: dict[str, str], certificate: Any, decision: str = "allow"
) -> Any:
    token = csrf_token(client, _authorize_url(params))
    return client.post(
        "/wallet/authorize",
        data={
            **params,
            "certificate": str(certificate.id),
            "decision": decision,
            "csrf_token": token,
        },
    )


def _answer(response: Any) -> dict[str, str]:
    """What the browser brings back to the wallet's redirect_uri."""
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI.split("?")[0]
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def _token(client: FlaskClient, code: str, verifier: str | None, **overrides: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        **({"code_verifier": verifier} if verifier is not None else {}),
        **overrides,
    }
    return client.post("/wallet/token", data=data)


def _credential(client: FlaskClient, access_token: str, wallet: TestWallet) -> Any:
    nonce = client.post("/wallet/nonce").get_json()["c_nonce"]
    return client.post(
        "/wallet/credential",
        json={
            "credential_configuration_id": CONFIGURATION,
            "proofs": {"jwt": [wallet.proof(ISSUER, nonce, utcnow())]},
        },
        headers={"Authorization": f"Bearer {access_token}"},
    )


@pytest.fixture
def holder(app: Flask, db: Session) -> dict[str, Any]:
    certificate, account = wallet_certificate(db, app.config["KEY_PASSPHRASE"].encode())
    db.commit()
    return {"certificate": certificate, "account": account}


def _granted(app: Flask, holder: dict[str, Any]) -> tuple[str, str]:
    """A code for the holder's certificate (logged in, consented) and its verifier."""
    browser = app.test_client()
    login(browser, holder["account"].email, PASSWORD)
    verifier, challenge = _pkce()
    answer = _answer(_consent(browser, _request(challenge), holder["certificate"]))
    return answer["code"], verifier


def test_a_wallet_takes_the_certificate_by_authorization_code_with_pkce(
    app: Flask, db: Session, holder: dict[str, Any]
) -> None:
    wallet_http = app.test_client()
    as_meta = wallet_http.get("/.well-known/oauth-authorization-server").get_json()
    assert as_meta["authorization_endpoint"] == f"{ISSUER}/wallet/authorize"
    assert as_meta["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", PRE_AUTHORIZED_GRANT} <= set(as_meta["grant_types_supported"])
    assert as_meta["response_types_supported"] == ["code"]
    assert as_meta["authorization_response_iss_parameter_supported"] is True
    issuer_meta = wallet_http.get("/.well-known/openid-credential-issuer").get_json()
    scope = issuer_meta["credential_configurations_supported"][CONFIGURATION]["scope"]
    assert scope in as_meta["scopes_supported"]

    verifier, challenge = _pkce()
    params = _request(challenge, scope=scope)
    browser = app.test_client()
    to_login = browser.get(_authorize_url(params))
    assert to_login.status_code == 302
    assert urlsplit(to_login.location).path == "/login"
    back = parse_qs(urlsplit(to_login.location).query)["next"][0]
    assert urlsplit(back).path == "/wallet/authorize"
    assert {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()} == params
    logged_in = post_form(
        browser,
        to_login.location,
        {"email": holder["account"].email, "password": PASSWORD},
    )
    assert logged_in.status_code == 302 and logged_in.location == back  # back to the request
    page = browser.get(back)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "form-action 'self' https://wallet.example;" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "Un wallet chiede uno dei tuoi certificati" in html  # Italian first
    assert CLIENT_ID in html and "wallet.example" in html
    assert holder["certificate"].number in html and "Consenti" in html

    answer = _answer(_consent(browser, params, holder["certificate"]))
    assert answer["state"] == "wallet-state-1" and answer["iss"] == ISSUER
    assert answer["from"] == "attesta"  # the redirect_uri's own query is kept
    response = _token(wallet_http, answer["code"], verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0

    wallet = TestWallet(CLIENT_ID)
    issued = _credential(wallet_http, body["access_token"], wallet)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    credential = issued.get_json()["credentials"][0]["credential"]
    jwks = wallet_http.get("/.well-known/jwt-vc-issuer").get_json()["jwks"]
    kid = json.loads(unb64url(credential.split(".")[0]))["kid"]
    header, claims = open_sd_jwt(credential, jwks_key(jwks, kid))
    assert header["typ"] == "dc+sd-jwt"
    assert claims["certificate_number"] == holder["certificate"].number
    assert claims["cnf"]["jwk"]["x"] == wallet.public_jwk()["x"]
    taken = db.scalars(select(WalletIssuance)).one()
    assert taken.wallet == CLIENT_ID and taken.certificate_id == holder["certificate"].id
    # The holder's wallet page lists it like the pre-authorized flow's.
    listed = browser.get(f"/certificates/{holder['certificate'].id}/wallet")
    assert CLIENT_ID in listed.get_data(as_text=True)


def test_a_wrong_verifier_kills_the_code(app: Flask, holder: dict[str, Any]) -> None:
    code, verifier = _granted(app, holder)
    wallet_http = app.test_client()
    missing = _token(wallet_http, code, None)
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"
    wrong = _token(wallet_http, code, _pkce()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    # Whoever sent it may have stolen the code: the right verifier comes too late.
    late = _token(wallet_http, code, verifier)
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"


def test_a_reused_code_is_refused_and_its_token_revoked(app: Flask, holder: dict[str, Any]) -> None:
    code, verifier = _granted(app, holder)
    wallet_http = app.test_client()
    first = _token(wallet_http, code, verifier)
    assert first.status_code == 200
    again = _token(wallet_http, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    revoked = _credential(wallet_http, first.get_json()["access_token"], TestWallet())
    assert revoked.status_code == 401 and revoked.get_json()["error"] == "invalid_token"


def test_an_expired_code_and_another_redirect_uri_or_client_are_refused(
    app: Flask, db: Session, holder: dict[str, Any]
) -> None:
    code, verifier = _granted(app, holder)
    wallet_http = app.test_client()
    for overrides in (
        {"redirect_uri": "https://wallet.example/callback"},  # not the same string
        {"redirect_uri": REDIRECT_URI + "&x=1"},
        {"client_id": "https://other-wallet.example"},
    ):
        refused = _token(wallet_http, code, verifier, **overrides)
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    # As a pre-authorized code it is unknown.
    as_pre = wallet_http.post(
        "/wallet/token",
        data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": "0"},
    )
    assert as_pre.status_code == 400 and as_pre.get_json()["error"] == "invalid_grant"

    offer = db.scalars(select(WalletOffer).where(WalletOffer.code_challenge.is_not(None))).one()
    offer.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    expired = _token(wallet_http, code, verifier)
    assert expired.status_code == 400 and expired.get_json()["error"] == "invalid_grant"
    assert "expired" in expired.get_json()["error_description"]


def test_another_users_session_cannot_consent_for_the_holder(
    app: Flask, db: Session, holder: dict[str, Any]
) -> None:
    other = make_account(db, is_candidate=True)
    db.commit()
    stranger = app.test_client()
    login(stranger, other.email, PASSWORD)
    _verifier, challenge = _pkce()
    params = _request(challenge)
    page = stranger.get(_authorize_url(params)).get_data(as_text=True)
    assert holder["certificate"].number not in page
    assert "Non hai certificati rilasciati" in page
    refused = _consent(stranger, params, holder["certificate"])
    assert refused.status_code == 422 and "Location" not in refused.headers
    assert db.scalars(select(WalletOffer)).first() is None
    # Without the form's CSRF token nobody consents, the holder included.
    browser = app.test_client()
    login(browser, holder["account"].email, PASSWORD)
    forged = browser.post(
        "/wallet/authorize",
        data={**params, "certificate": str(holder["certificate"].id), "decision": "allow"},
    )
    assert forged.status_code == 400 and "Location" not in forged.headers
    assert db.scalars(select(WalletOffer)).first() is None


def test_the_holder_may_deny(app: Flask, db: Session, holder: dict[str, Any]) -> None:
    browser = app.test_client()
    login(browser, holder["account"].email, PASSWORD)
    answer = _answer(_consent(browser, _request(_pkce()[1]), holder["certificate"], "deny"))
    assert answer["error"] == "access_denied" and answer["state"] == "wallet-state-1"
    assert "code" not in answer
    assert db.scalars(select(WalletOffer)).first() is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "javascript:alert(1)"},
        {"redirect_uri": "http://wallet.example/callback"},  # plain http off the loopback
        {"redirect_uri": "https://wallet.example/callback#fragment"},
        {"redirect_uri": None},
        {"client_id": None},
    ],
)
def test_unusable_requests_are_refused_on_our_page(
    app: Flask, holder: dict[str, Any], overrides: dict[str, str | None]
) -> None:
    response = app.test_client().get(_authorize_url(_request(_pkce()[1], **overrides)))
    assert response.status_code == 400 and "Location" not in response.headers
    assert "non può essere usata" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"scope": "openid"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "request_not_supported"),
    ],
)
def test_bad_requests_go_back_to_the_wallet_with_an_error(
    app: Flask, holder: dict[str, Any], overrides: dict[str, str | None], error: str
) -> None:
    response = app.test_client().get(_authorize_url(_request(_pkce()[1], **overrides)))
    answer = _answer(response)
    assert answer["error"] == error and answer["state"] == "wallet-state-1"
    assert answer["iss"] == ISSUER and "code" not in answer


def test_an_app_scheme_redirect_uri_is_allowed(app: Flask, holder: dict[str, Any]) -> None:
    browser = app.test_client()
    login(browser, holder["account"].email, PASSWORD)
    params = _request(_pkce()[1], redirect_uri="eu.europa.ec.euidi://authorization")
    page = browser.get(_authorize_url(params))
    assert page.status_code == 200
    assert "form-action 'self' eu.europa.ec.euidi:;" in page.headers["Content-Security-Policy"]
    response = _consent(browser, params, holder["certificate"])
    assert response.status_code == 303
    assert response.location.startswith("eu.europa.ec.euidi://authorization?code=")
