"""An employer checks a wallet over HTTP (OpenID4VP 1.0): the request page on /verify/wallet
(no login, no session), the wallet (tests/support/wallet.py, joserfc) reading the request by
value and answering by direct_post, the employer's page showing only what was disclosed with
separate verdicts; revoked; and every bad answer refused with the specification's codes."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.certificates.lifecycle import revoke_certificate
from certification.clock import utcnow
from certification.keys.management import init_keys
from certification.models import (
    Organisation,
    VerificationChannel,
    VerificationLog,
    WalletPresentationRequest,
)
from certification.people.roles import Role
from certification.verification.checks import verification_count
from certification.wallet.credential import issue_credential, vct
from certification.wallet.offers import CONFIGURATION_ID, create_offer, new_nonce, redeem_code
from certification.wallet.requests import CLAIMS, QUERY_ID
from tests.support.factories import PASSWORD, make_account
from tests.support.wallet import (
    COMPETENCES,
    TestWallet,
    disclosure_positions,
    jwks_key,
    open_sd_jwt,
    read_request,
    tamper,
    unb64url,
    wallet_certificate,
    x5c_chain,
)
from tests.support.wallet_http import credential_response, offer_on_page, token_response
from tests.support.web import login

ISSUER = "http://localhost"
LINK_RE = re.compile(r'href="(openid4vp://[^"]+)"')


@pytest.fixture
def held(app: Flask, db: Session) -> dict[str, Any]:
    """A certificate (five competences) in the test wallet, taken through the issuer."""
    passphrase = app.config["KEY_PASSPHRASE"].encode()
    certificate, holder = wallet_certificate(db, passphrase)
    now = utcnow()
    made = create_offer(db, holder, certificate, now)
    offer, _token = redeem_code(db, made.pre_authorized_code, made.pin, now)
    wallet = TestWallet()
    body = {
        "credential_configuration_id": CONFIGURATION_ID,
        "proofs": {"jwt": [wallet.proof(ISSUER, new_nonce(db, now), now)]},
    }
    issued = issue_credential(db, offer, body, ISSUER, passphrase, now)
    db.commit()
    return {"certificate": certificate, "holder": holder, "wallet": wallet, "issued": issued}


def _employer_request(client: FlaskClient, claims: list[str]) -> tuple[str, dict[str, Any]]:
    """The employer's page address and the request its QR code and link carry."""
    form = client.get("/verify/wallet")
    assert form.status_code == 200 and "Set-Cookie" not in form.headers
    made = client.post("/verify/wallet", data={"claim": claims})
    assert made.status_code == 303
    page_path = urlsplit(made.location).path
    page = client.get(page_path)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html  # the cross-device QR code
    link = LINK_RE.search(html)
    assert link
    root_pem = client.get("/keys/root-ca.pem").get_data(as_text=True)
    return page_path, read_request(link.group(1), lambda uri: _fetch(client, uri), root_pem)


def _fetch(client: FlaskClient, request_uri: str) -> str:
    """The wallet fetches the request object (no cookie, no session)."""
    response = client.application.test_client().get(urlsplit(request_uri).path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/oauth-authz-req+jwt"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    return response.get_data(as_text=True)


def _answer(
    client: FlaskClient, request: dict[str, Any], presentation: str, state: str | None = None
) -> Any:
    return client.post(
        urlsplit(request["response_uri"]).path,
        data={
            "vp_token": json.dumps({QUERY_ID: [presentation]}),
            "state": request["state"] if state is None else state,
        },
    )


def _present(held: dict[str, Any], request: dict[str, Any], keep: list[int], **kw: Any) -> str:
    wallet: TestWallet = held["wallet"]
    return wallet.presentation(
        held["issued"],
        keep,
        kw.get("audience", request["client_id"]),
        kw.get("nonce", request["nonce"]),
        kw.get("iat", utcnow()),
    )


def _held_over_http(app: Flask, db: Session) -> dict[str, Any]:
    """The certificate taken into the test wallet over HTTP, as a wallet does: the holder's
    offer (link and PIN), token, nonce, key proof, SD-JWT VC; the issuer's key checked through
    x5c up to the published root and through the published JWKS, and every disclosure."""
    certificate, holder = wallet_certificate(db, app.config["KEY_PASSPHRASE"].encode())
    db.commit()
    holder_page = app.test_client()
    login(holder_page, holder.email, PASSWORD)
    code, pin = offer_on_page(holder_page, certificate)
    wallet_http, wallet = app.test_client(), TestWallet()
    token = token_response(wallet_http, code, pin)
    assert token.status_code == 200, token.get_data(as_text=True)
    nonce = wallet_http.post("/wallet/nonce").get_json()["c_nonce"]
    proof = wallet.proof(ISSUER, nonce, utcnow())
    response = credential_response(wallet_http, token.get_json()["access_token"], proof)
    assert response.status_code == 200, response.get_data(as_text=True)
    issued = response.get_json()["credentials"][0]["credential"]
    root_pem = wallet_http.get("/keys/root-ca.pem").get_data(as_text=True)
    header = json.loads(unb64url(issued.split(".")[0]))
    leaf = x5c_chain(header, root_pem).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _header, claims = open_sd_jwt(issued, ECKey.import_key(leaf))
    published = wallet_http.get("/.well-known/jwt-vc-issuer").get_json()
    open_sd_jwt(issued, jwks_key(published["jwks"], header["kid"]))
    assert [c["code"] for c in claims["competences"]] == list(COMPETENCES)
    assert claims["cnf"]["jwk"] == wallet.public_jwk()
    return {"certificate": certificate, "holder": holder, "wallet": wallet, "issued": issued}


def test_the_whole_flow_two_of_five_competences_shown_then_revoked(app: Flask, db: Session) -> None:
    """Offer -> token -> nonce -> key proof -> SD-JWT VC -> every disclosure and the issuer's
    key checked -> two of five competences presented to the employer's request -> valid, only
    those two shown; revoked -> the next presentation says revoked."""
    held = _held_over_http(app, db)
    employer = app.test_client()
    page_path, request = _employer_request(employer, ["family_name", "competences"])
    assert request["response_mode"] == "direct_post"
    assert request["client_id"] == "x509_san_dns:localhost"
    (query,) = request["dcql_query"]["credentials"]
    assert query["format"] == "dc+sd-jwt" and query["meta"]["vct_values"] == [vct(ISSUER)]
    assert [c["path"] for c in query["claims"]] == [["family_name"], ["competences", None]]
    assert "In attesa del wallet" in employer.get(page_path).get_data(as_text=True)

    competences, names = disclosure_positions(held["issued"])
    keep = [competences[1], competences[3], names["family_name"], names["given_name"]]
    wallet_http = app.test_client()
    answered = _answer(wallet_http, request, _present(held, request, keep))
    assert answered.status_code == 200, answered.get_data(as_text=True)
    assert answered.is_json

    html = employer.get(page_path).get_data(as_text=True)
    assert 'data-verdict="valid"' in html and 'data-status="valid"' in html
    assert 'data-validity="valid"' in html
    shown = [code for code in COMPETENCES if code in html]
    assert shown == [COMPETENCES[1], COMPETENCES[3]]
    assert "Rossi" in html
    # Disclosed but not asked for (given name), and never disclosed (the number): not shown.
    assert "Giulia" not in html and held["certificate"].number not in html
    # Answered once: the same answer again is refused.
    again = _answer(wallet_http, request, _present(held, request, keep))
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_request"

    ente = db.get(Organisation, held["certificate"].organisation_id)
    signatory = make_account(db, roles=(Role.SIGNATORY,), organisation=ente)
    revoke_certificate(db, signatory, held["certificate"], "identity", "Identità.", utcnow())
    db.commit()
    page_path, request = _employer_request(employer, ["competences"])
    answered = _answer(wallet_http, request, _present(held, request, competences[:2]))
    assert answered.status_code == 200
    html = employer.get(page_path).get_data(as_text=True)
    assert 'data-verdict="not_valid"' in html and 'data-status="revoked"' in html
    assert "revocato" in html


def test_bad_answers_are_refused_with_the_specification_codes(
    app: Flask, db: Session, held: dict[str, Any]
) -> None:
    employer, wallet_http = app.test_client(), app.test_client()
    competences, _names = disclosure_positions(held["issued"])
    keep = competences[:2]
    _old_page, old = _employer_request(employer, ["competences"])

    def refused(response: Any) -> None:
        assert response.status_code == 400 and response.is_json, response.get_data(as_text=True)
        assert response.get_json()["error"] == "invalid_request"

    # Garbage bodies write nothing: the request still takes a good answer afterwards.
    response_path = urlsplit(old["response_uri"]).path
    refused(wallet_http.post(response_path, data={"state": old["state"], "vp_token": "{nope"}))
    refused(wallet_http.post(response_path, data={"state": old["state"]}))
    refused(wallet_http.post(response_path, data=b"\x00\xff", content_type="application/json"))
    refused(_answer(wallet_http, old, _present(held, old, keep), state="another"))
    refused(wallet_http.post(response_path, data={"state": old["state"], "vp_token": '{"x":[1]}'}))
    assert wallet_http.post(response_path.replace(old["state"], "nope")).status_code == 404

    # Made for the old request (its nonce), sent to a new one: a replay, refused, and the
    # employer's page says the answer was refused.
    page_path, new = _employer_request(employer, ["competences"])
    refused(_answer(wallet_http, new, _present(held, new, keep, nonce=old["nonce"])))
    html = employer.get(page_path).get_data(as_text=True)
    assert 'data-verdict="refused"' in html
    attacks = {
        "audience": {"audience": "redirect_uri:https://other.example/response"},
        "stale": {"iat": utcnow() - dt.timedelta(hours=1)},
    }
    for kw in attacks.values():
        _page, fresh = _employer_request(employer, ["competences"])
        refused(_answer(wallet_http, fresh, _present(held, fresh, keep, **kw)))
    _page, fresh = _employer_request(employer, ["competences"])
    wallet: TestWallet = held["wallet"]
    tampered = wallet.presentation(
        tamper(held["issued"], _names["family_name"]),
        [_names["family_name"]],
        fresh["client_id"],
        fresh["nonce"],
        utcnow(),
    )
    refused(_answer(wallet_http, fresh, tampered))

    # An expired request.
    _page, late = _employer_request(employer, ["competences"])
    row = db.get(WalletPresentationRequest, uuid.UUID(late["state"]))
    assert row is not None
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    refused(_answer(wallet_http, late, _present(held, late, keep)))

    # The old request still works: the garbage before wrote nothing.
    assert _answer(wallet_http, old, _present(held, old, keep)).status_code == 200


@pytest.fixture
def keys(app: Flask, db: Session) -> None:
    """Attesta's root CA (the verifier key that signs request objects is made under it)."""
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), utcnow())
    db.commit()


@pytest.mark.usefixtures("keys")
def test_the_holder_may_decline_and_the_employer_must_ask_something(app: Flask) -> None:
    employer = app.test_client()
    empty = employer.post("/verify/wallet", data={})
    assert empty.status_code == 422
    assert "Seleziona almeno" in empty.get_data(as_text=True)
    page_path, request = _employer_request(employer, ["given_name"])
    declined = app.test_client().post(
        urlsplit(request["response_uri"]).path,
        data={"error": "access_denied", "state": request["state"]},
    )
    assert declined.status_code == 200
    html = employer.get(page_path).get_data(as_text=True)
    assert 'data-verdict="declined"' in html
    assert employer.get(page_path + "x").status_code == 404


@pytest.mark.usefixtures("keys")
def test_requests_expire_and_are_swept(app: Flask, db: Session) -> None:
    employer = app.test_client()
    page_path, _request = _employer_request(employer, ["given_name"])
    for row in db.scalars(select(WalletPresentationRequest)):
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    assert employer.get(page_path).status_code == 404
    _employer_request(employer, ["given_name"])
    assert len(db.scalars(select(WalletPresentationRequest)).all()) == 1


def test_a_wrong_key_passphrase_is_a_json_refusal(app_factory: Any, db: Session) -> None:
    """The credential endpoint with a wrong key passphrase: OAuth JSON, not the HTML 503 page."""
    app = app_factory()
    certificate, holder = wallet_certificate(db, app.config["KEY_PASSPHRASE"].encode())
    now = utcnow()
    made = create_offer(db, holder, certificate, now)
    _offer, token = redeem_code(db, made.pre_authorized_code, made.pin, now)
    db.commit()
    app.config["KEY_PASSPHRASE"] = "not-the-passphrase"
    wallet = TestWallet()
    client = app.test_client()
    nonce = client.post("/wallet/nonce").get_json()["c_nonce"]
    response = client.post(
        "/wallet/credential",
        json={
            "credential_configuration_id": CONFIGURATION_ID,
            "proofs": {"jwt": [wallet.proof(ISSUER, nonce, utcnow())]},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 503 and response.is_json
    assert response.get_json()["error"] == "temporarily_unavailable"
    missing = client.get("/wallet/status/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.get_json()["error"] == "invalid_request"


def _logged(db: Session) -> list[VerificationLog]:
    db.expire_all()
    return list(db.scalars(select(VerificationLog).order_by(VerificationLog.at)))


def test_wallet_checks_go_to_the_verification_log(
    app: Flask, db: Session, held: dict[str, Any]
) -> None:
    """A checked presentation is one verification in the same log as the checks by code and
    file (channel wallet, method sd-jwt, the certificate found by its status index): the
    holder's count includes it; a refused one is logged without a certificate; a holder who
    declines, or a body that is no presentation, is no verification."""
    certificate = held["certificate"]
    employer, wallet_http = app.test_client(), app.test_client()
    competences, _names = disclosure_positions(held["issued"])
    assert _logged(db) == []

    _page, request = _employer_request(employer, ["competences"])
    answered = _answer(wallet_http, request, _present(held, request, competences[:2]))
    assert answered.status_code == 200
    (entry,) = _logged(db)
    assert (entry.channel, entry.method) == (VerificationChannel.WALLET, "sd-jwt")
    assert (entry.certificate_id, entry.verdict, entry.reason) == (certificate.id, "valid", "valid")
    assert verification_count(db, certificate.id) == 1

    # The holder's page counts it with the others.
    holder = app.test_client()
    login(holder, held["holder"].email, PASSWORD)
    page = holder.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "Verificato 1 volta da datori di lavoro o altri con il codice, il file o un" in page

    # A replay (the old request's nonce): refused, logged as not valid with no certificate.
    _page, fresh = _employer_request(employer, ["competences"])
    stale = _present(held, fresh, competences[:1], nonce=request["nonce"])
    assert _answer(wallet_http, fresh, stale).status_code == 400
    refused = _logged(db)[-1]
    assert (refused.channel, refused.method, refused.verdict) == (
        VerificationChannel.WALLET,
        "sd-jwt",
        "not_valid",
    )
    assert refused.certificate_id is None and refused.reason == "invalid_presentation"

    # Declined, and garbage: nothing more.
    _page, other = _employer_request(employer, ["competences"])
    response_path = urlsplit(other["response_uri"]).path
    wallet_http.post(response_path, data={"state": other["state"], "vp_token": "{nope"})
    wallet_http.post(response_path, data={"state": other["state"], "error": "access_denied"})
    assert len(_logged(db)) == 2

    # Revoked: valid signature, verdict not valid because revoked, on the certificate's count.
    ente = db.get(Organisation, certificate.organisation_id)
    signatory = make_account(db, roles=(Role.SIGNATORY,), organisation=ente)
    revoke_certificate(db, signatory, certificate, "identity", "Identità.", utcnow())
    db.commit()
    _page, last = _employer_request(employer, ["competences"])
    assert _answer(wallet_http, last, _present(held, last, competences[:1])).status_code == 200
    revoked = _logged(db)[-1]
    assert (revoked.certificate_id, revoked.verdict, revoked.reason) == (
        certificate.id,
        "not_valid",
        "revoked",
    )
    assert verification_count(db, certificate.id) == 2


def test_the_request_goes_by_reference_while_it_lives(
    app: Flask, db: Session, held: dict[str, Any]
) -> None:
    """The QR code carries client_id and request_uri only (a sparse code); the signed request
    object is there until the request is answered or expires, then invalid_request_uri."""
    employer = app.test_client()
    page_path, request = _employer_request(employer, list(CLAIMS))
    found = LINK_RE.search(employer.get(page_path).get_data(as_text=True))
    assert found
    link = found.group(1).replace("&amp;", "&")
    assert len(link) < 160, link
    request_uri = urlsplit(parse_qs(urlsplit(link).query)["request_uri"][0]).path
    wallet_http = app.test_client()
    competences, _names = disclosure_positions(held["issued"])
    assert (
        _answer(wallet_http, request, _present(held, request, competences[:1])).status_code == 200
    )
    gone = wallet_http.get(request_uri)
    assert gone.status_code == 404 and gone.get_json()["error"] == "invalid_request_uri"
    unknown = wallet_http.get(f"/verify/wallet/request/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.is_json
