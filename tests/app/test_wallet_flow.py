"""A certificate into a wallet over HTTP, as a wallet does it (OpenID4VCI 1.0, pre-authorized
code flow): the holder's offer page, metadata, token with PIN, nonce, key proof, SD-JWT VC; the
test wallet (joserfc) checks the issuer's key both through x5c to the published root and
through the published JWKS, and every disclosure."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.clock import utcnow
from certification.models import OutboxMessage, WalletIssuance, WalletNonce, WalletOffer
from certification.wallet.offers import PIN_ATTEMPTS, PRE_AUTHORIZED_GRANT, digest
from tests.support.factories import PASSWORD, make_account
from tests.support.wallet import (
    TestWallet,
    jwks_key,
    open_sd_jwt,
    token_status,
    unb64url,
    wallet_certificate,
    x5c_chain,
)
from tests.support.wallet_http import (
    LINK_RE,
    PIN_RE,
    credential_response,
    offer_on_page,
    token_response,
)
from tests.support.web import login, post_form

ISSUER = "http://localhost"


@pytest.fixture
def holder_client(app: Flask, db: Session) -> tuple[FlaskClient, Any]:
    certificate, holder = wallet_certificate(db, app.config["KEY_PASSPHRASE"].encode())
    client = app.test_client()
    login(client, holder.email, PASSWORD)
    return client, certificate


def test_a_wallet_takes_the_certificate_and_checks_it(
    app: Flask, db: Session, holder_client: tuple[FlaskClient, Any]
) -> None:
    client, certificate = holder_client
    detail = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert f"/certificates/{certificate.id}/wallet" in detail
    assert "Aggiungi al wallet" in detail  # the holder's language (Italian first)
    code, pin = offer_on_page(client, certificate)

    wallet_http = app.test_client()  # the wallet has no cookie of the holder's
    issuer_meta = wallet_http.get("/.well-known/openid-credential-issuer").get_json()
    assert issuer_meta["credential_issuer"] == ISSUER
    config = issuer_meta["credential_configurations_supported"]["attesta_certificate_sd_jwt"]
    assert config["format"] == "dc+sd-jwt"
    assert {d["locale"] for d in issuer_meta["display"]} == {"it", "en"}
    as_meta = wallet_http.get("/.well-known/oauth-authorization-server").get_json()
    assert PRE_AUTHORIZED_GRANT in as_meta["grant_types_supported"]
    type_meta = wallet_http.get(urlsplit(config["vct"]).path).get_json()
    assert type_meta["vct"] == config["vct"]

    token_response = wallet_http.post(
        urlsplit(as_meta["token_endpoint"]).path,
        data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": pin},
    )
    assert token_response.status_code == 200, token_response.get_data(as_text=True)
    access_token = token_response.get_json()["access_token"]
    nonce = wallet_http.post(urlsplit(issuer_meta["nonce_endpoint"]).path).get_json()["c_nonce"]
    wallet = TestWallet()
    response = credential_response(wallet_http, access_token, wallet.proof(ISSUER, nonce, utcnow()))
    assert response.status_code == 200, response.get_data(as_text=True)
    issued = response.get_json()["credentials"][0]["credential"]

    # The issuer's key through x5c up to the root Attesta publishes ...
    root_pem = wallet_http.get("/keys/root-ca.pem").get_data(as_text=True)
    header = json.loads(unb64url(issued.split(".")[0]))
    leaf = x5c_chain(header, root_pem)
    from_x5c = ECKey.import_key(leaf.public_bytes(*_spki()))
    _header, claims = open_sd_jwt(issued, from_x5c)
    # ... and through the JWKS of /.well-known/jwt-vc-issuer.
    published = wallet_http.get("/.well-known/jwt-vc-issuer").get_json()
    assert published["issuer"] == claims["iss"] == ISSUER
    open_sd_jwt(issued, jwks_key(published["jwks"], header["kid"]))
    assert claims["cnf"]["jwk"] == wallet.public_jwk()
    assert claims["certificate_number"] == certificate.number
    assert len(claims["competences"]) == 5
    # Its status, in the Token Status List the claim points to.
    reference = claims["status"]["status_list"]
    listed = wallet_http.get(urlsplit(reference["uri"]).path)
    assert listed.status_code == 200 and listed.mimetype == "application/statuslist+jwt"
    assert token_status(listed.get_data(as_text=True), reference["idx"], root_pem) == 0

    # The token gave one credential; the holder sees which wallet took it.
    again = credential_response(wallet_http, access_token, wallet.proof(ISSUER, nonce, utcnow()))
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_token"
    page = client.get(f"/certificates/{certificate.id}/wallet").get_data(as_text=True)
    assert "https://wallet.example/app" in page


def test_a_used_or_expired_code_is_refused(
    app: Flask, db: Session, holder_client: tuple[FlaskClient, Any]
) -> None:
    client, certificate = holder_client
    code, pin = offer_on_page(client, certificate)
    assert token_response(app.test_client(), code, pin).status_code == 200
    reused = token_response(app.test_client(), code, pin)
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    code, pin = offer_on_page(client, certificate)
    offer = db.scalars(select(WalletOffer).where(WalletOffer.redeemed_at.is_(None))).one()
    offer.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.flush()
    expired = token_response(app.test_client(), code, pin)
    assert expired.status_code == 400 and expired.get_json()["error"] == "invalid_grant"


def test_wrong_pins_kill_the_offer(
    app: Flask, db: Session, holder_client: tuple[FlaskClient, Any]
) -> None:
    client, certificate = holder_client
    code, pin = offer_on_page(client, certificate)
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(PIN_ATTEMPTS):
        refused = token_response(app.test_client(), code, wrong)
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    # The failures were kept, though each answer was a refusal: the right PIN is too late.
    late = token_response(app.test_client(), code, pin)
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"


def test_protocol_refusals_are_json_with_the_specification_codes(
    app: Flask, db: Session, holder_client: tuple[FlaskClient, Any]
) -> None:
    client, certificate = holder_client
    wallet_http = app.test_client()
    unsupported = wallet_http.post("/wallet/token", data={"grant_type": "password"})
    assert unsupported.get_json()["error"] == "unsupported_grant_type"
    missing = wallet_http.post("/wallet/token", data={"grant_type": PRE_AUTHORIZED_GRANT})
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"
    no_token = wallet_http.post("/wallet/credential", json={})
    assert no_token.status_code == 401 and no_token.get_json()["error"] == "invalid_token"
    assert "Bearer" in no_token.headers["WWW-Authenticate"]

    code, pin = offer_on_page(client, certificate)
    access_token = token_response(wallet_http, code, pin).get_json()["access_token"]
    nonce = wallet_http.post("/wallet/nonce").get_json()["c_nonce"]
    wallet = TestWallet()
    cases = {
        "invalid_proof": wallet.unsigned_proof(ISSUER, nonce, utcnow()),
        "invalid_nonce": wallet.proof(ISSUER, "made-up", utcnow()),
    }
    for error, proof in cases.items():
        refused = credential_response(wallet_http, access_token, proof)
        assert refused.status_code == 400 and refused.get_json()["error"] == error
    garbage = wallet_http.post(
        "/wallet/credential",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert garbage.status_code == 400
    assert garbage.get_json()["error"] == "invalid_credential_request"
    # A refusal wrote nothing: the same token and nonce still work.
    good = credential_response(wallet_http, access_token, wallet.proof(ISSUER, nonce, utcnow()))
    assert good.status_code == 200
    assert db.scalars(select(WalletIssuance)).one().wallet == "https://wallet.example/app"


def test_every_bad_key_proof_is_refused_over_http(
    app: Flask, db: Session, holder_client: tuple[FlaskClient, Any]
) -> None:
    """The issue's bad key proofs, through the credential endpoint as a wallet sends them:
    each a 400 with its specification code, none a 500, and none uses up the token or nonce."""
    client, certificate = holder_client
    wallet_http, wallet = app.test_client(), TestWallet()
    code, pin = offer_on_page(client, certificate)
    access_token = token_response(wallet_http, code, pin).get_json()["access_token"]
    nonce = wallet_http.post("/wallet/nonce").get_json()["c_nonce"]
    now = utcnow()
    attacks = {
        "alg none": ("invalid_proof", wallet.unsigned_proof(ISSUER, nonce, now)),
        "symmetric (HS256)": ("invalid_proof", wallet.hmac_proof(ISSUER, nonce, now)),
        "private key inside": ("invalid_proof", wallet.private_jwk_proof(ISSUER, nonce, now)),
        "another audience": ("invalid_proof", wallet.proof("https://other.example", nonce, now)),
        "issued long ago": (
            "invalid_proof",
            wallet.proof(ISSUER, nonce, now - dt.timedelta(minutes=10)),
        ),
        "nonce never given": ("invalid_nonce", wallet.proof(ISSUER, "made-up", now)),
        "no nonce": ("invalid_nonce", wallet.proof(ISSUER, None, now)),
    }
    for name, (error, proof) in attacks.items():
        refused = credential_response(wallet_http, access_token, proof)
        assert refused.status_code == 400 and refused.is_json, name
        assert refused.get_json()["error"] == error, name

    # An old nonce (expired): refused.
    old = wallet_http.post("/wallet/nonce").get_json()["c_nonce"]
    row = db.scalars(select(WalletNonce).where(WalletNonce.nonce_sha256 == digest(old))).one()
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    expired = credential_response(wallet_http, access_token, wallet.proof(ISSUER, old, utcnow()))
    assert expired.status_code == 400 and expired.get_json()["error"] == "invalid_nonce"

    # The refusals used nothing up: the token and nonce still give the credential ...
    good = credential_response(wallet_http, access_token, wallet.proof(ISSUER, nonce, utcnow()))
    assert good.status_code == 200, good.get_data(as_text=True)
    # ... and that nonce, now used, is refused with the next offer's token.
    code, pin = offer_on_page(client, certificate)
    second = token_response(wallet_http, code, pin).get_json()["access_token"]
    reused = credential_response(wallet_http, second, wallet.proof(ISSUER, nonce, utcnow()))
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_nonce"


def test_only_the_holder_makes_offers_and_only_with_the_form(
    app: Flask, db: Session, holder_client: tuple[FlaskClient, Any]
) -> None:
    client, certificate = holder_client
    assert client.post(f"/certificates/{certificate.id}/wallet").status_code == 400  # no CSRF
    other = make_account(db)
    stranger = app.test_client()
    login(stranger, other.email, PASSWORD)
    assert stranger.get(f"/certificates/{certificate.id}/wallet").status_code == 404
    assert db.scalars(select(WalletOffer)).first() is None


def _spki() -> tuple[Any, Any]:
    return serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo


def test_the_pin_can_go_by_email_instead(app_factory: Any, db: Session) -> None:
    app = app_factory(WALLET_PIN_BY_EMAIL=True)
    certificate, holder = wallet_certificate(db, app.config["KEY_PASSPHRASE"].encode())
    client = app.test_client()
    login(client, holder.email, PASSWORD)
    html = post_form(client, f"/certificates/{certificate.id}/wallet", {}).get_data(as_text=True)
    assert LINK_RE.search(html) and not PIN_RE.search(html)
    assert "inviato per e-mail" in html
    sent = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == holder.email)
        .order_by(OutboxMessage.created_at.desc())
    ).first()
    assert sent is not None and certificate.number in sent.subject
    pin = re.search(r"^\s+(\d{6})$", sent.body_text, re.MULTILINE)
    link = LINK_RE.search(html)
    assert pin and link
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    code = json.loads(query["credential_offer"][0])["grants"][PRE_AUTHORIZED_GRANT]
    response = token_response(app.test_client(), code["pre-authorized_code"], pin.group(1))
    assert response.status_code == 200 and response.get_json()["token_type"] == "Bearer"
