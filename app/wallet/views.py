"""The holder's wallet page and the OpenID4VCI endpoints.

- ``/certificates/<id>/wallet``: the holder sees which wallets took the certificate and when,
  and (POST) makes a one-time offer: a QR code and a same-device link with the pre-authorized
  code, and the PIN shown on this page only, or (``WALLET_PIN_BY_EMAIL``) sent to the holder's
  e-mail instead; never stored in clear by the offer.
- ``/.well-known/...`` and ``/wallet/vct/certificate``: public metadata; ``/wallet/status/<ente>``
  the ente's Token Status List.
- ``/wallet/authorize``: the authorization code flow's consent (app.wallet.authorize).
- ``/wallet/token``, ``/wallet/nonce``, ``/wallet/credential``: the protocol, JSON in and out;
  a refusal is ``{"error": ..., "error_description": ...}`` with the specification's code,
  never an HTML page or a 500. A wrong PIN is committed before the refusal (it counts).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, jsonify, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from app.auth.sessions import current_account
from app.db import db_session
from app.extensions import csrf, limiter
from app.mail import send_template
from app.wallet.blueprint import bp
from app.wallet.forms import OfferForm
from certification.certificates import lifecycle as C
from certification.clock import utcnow
from certification.errors import AccessRefused, NotFound, NotPermitted
from certification.keys.material import NoActiveKey
from certification.models import Certificate
from certification.policy import can_offer_to_wallet, can_view_certificate
from certification.wallet import metadata
from certification.wallet.authorization import AUTHORIZATION_CODE_GRANT, redeem_authorization_code
from certification.wallet.credential import issue_credential
from certification.wallet.offers import (
    OFFER_MINUTES,
    PIN_ATTEMPTS,
    PRE_AUTHORIZED_GRANT,
    TOKEN_SECONDS,
    WalletProtocolError,
    create_offer,
    new_nonce,
    offer_for_token,
    offer_link,
    redeem_code,
    wallets_of,
)
from certification.wallet.status import TTL, status_list_token


def _issuer() -> str:
    """The credential issuer identifier: the service's public address."""
    return str(current_app.config["BASE_URL"]).rstrip("/")


def _json(body: dict[str, Any], status: int = 200, *, public: bool = False) -> Response:
    response = jsonify(body)
    response.status_code = status
    if public:
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


def _refusal(error: WalletProtocolError) -> Response:
    response = _json({"error": error.error, "error_description": error.detail}, error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return response


# --- the holder's page ------------------------------------------------------------------------


def _holders_certificate(certificate_id: uuid.UUID) -> Certificate:
    """A certificate the current account holds: who sees it without holding it (its ente's
    signatories, the staff of its case) is refused, the others find nothing (no oracle)."""
    actor = current_account()
    found = db_session().get(Certificate, certificate_id)
    if found is None or found.status not in C.PUBLIC_STATES:
        raise NotFound("no such certificate")
    if not can_view_certificate(actor, found):
        raise AccessRefused("certificate", certificate_id)
    if found.holder_person_id != actor.person_id:
        raise NotPermitted("only the holder puts a certificate into a wallet")
    return found


def _page(certificate: Certificate, **offer: Any) -> str:
    return render_template(
        "wallet/offer.html",
        certificate=certificate,
        form=OfferForm(),
        may_offer=can_offer_to_wallet(current_account(), certificate),
        wallets=wallets_of(db_session(), certificate),
        minutes=OFFER_MINUTES,
        attempts=PIN_ATTEMPTS,
        **{"pin": None, "pin_sent": False, **offer},
    )


@bp.get("/certificates/<uuid:certificate_id>/wallet")
@login_required
def offer_page(certificate_id: uuid.UUID) -> str:
    return _page(_holders_certificate(certificate_id))


@bp.post("/certificates/<uuid:certificate_id>/wallet")
@login_required
@limiter.limit("20 per hour")
def make_offer(certificate_id: uuid.UUID) -> Response | tuple[str, int] | str:
    """A new one-time offer, shown once (the PIN is on this response only)."""
    certificate = _holders_certificate(certificate_id)
    if not OfferForm().validate_on_submit():
        return _page(certificate), 400
    session, account = db_session(), current_account()
    made = create_offer(session, account, certificate, utcnow())
    link = offer_link(_issuer(), made.pre_authorized_code)
    by_email = bool(current_app.config.get("WALLET_PIN_BY_EMAIL"))
    if by_email:  # the QR code alone, seen over a shoulder, is then worth nothing
        send_template(
            session,
            account,
            "wallet_pin",
            certificate=certificate,
            pin=made.pin,
            expires_at=made.offer.expires_at,
        )
    page = _page(
        certificate,
        link=link,
        qr=_qr(link),
        pin=None if by_email else made.pin,
        pin_sent=by_email,
        expires_at=made.offer.expires_at,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- metadata ---------------------------------------------------------------------------------


@bp.get("/.well-known/openid-credential-issuer")
@limiter.exempt
def credential_issuer() -> Response:
    logo = url_for("static", filename="img/attesta.svg", _external=True)
    return _json(metadata.issuer_metadata(_issuer(), logo), public=True)


@bp.get("/.well-known/oauth-authorization-server")
@limiter.exempt
def authorization_server() -> Response:
    return _json(metadata.authorization_server_metadata(_issuer()), public=True)


@bp.get("/.well-known/jwt-vc-issuer")
@limiter.exempt
def jwt_vc_issuer() -> Response:
    return _json(metadata.issuer_keys(db_session(), _issuer()), public=True)


@bp.get("/wallet/vct/certificate")
@limiter.exempt
def type_metadata() -> Response:
    return _json(metadata.type_metadata(_issuer()), public=True)


# --- the protocol -----------------------------------------------------------------------------


@bp.post("/wallet/token")
@csrf.exempt
@limiter.limit("60 per minute")
def token() -> Response:
    """The token endpoint: the pre-authorized code grant (with the PIN), or the authorization
    code grant (with the PKCE code verifier, the same redirect_uri and client_id)."""
    form, grant = request.form, request.form.get("grant_type")
    if grant not in (PRE_AUTHORIZED_GRANT, AUTHORIZATION_CODE_GRANT):
        return _refusal(
            WalletProtocolError(
                "unsupported_grant_type", "pre-authorized code or authorization code only"
            )
        )
    session = db_session()
    try:
        if grant == PRE_AUTHORIZED_GRANT:
            _offer, access_token = redeem_code(
                session, form.get("pre-authorized_code", ""), form.get("tx_code"), utcnow()
            )
        else:
            _offer, access_token = redeem_authorization_code(session, form.to_dict(), utcnow())
    except WalletProtocolError as refused:
        # A wrong PIN counts (and may kill the offer), a reused authorization code or a wrong
        # verifier kills the code and its token: kept, though this refuses.
        session.commit()
        return _refusal(refused)
    return _json(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}
    )


@bp.post("/wallet/nonce")
@csrf.exempt
@limiter.limit("60 per minute")
def nonce() -> Response:
    return _json({"c_nonce": new_nonce(db_session(), utcnow())})


@bp.post("/wallet/credential")
@csrf.exempt
@limiter.limit("60 per minute")
def credential() -> Response:
    """The credential endpoint: a Bearer access token, a JSON request with one key proof."""
    session, now = db_session(), utcnow()
    scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not access_token:
            raise WalletProtocolError("invalid_token", "a Bearer access token is needed", 401)
        offer = offer_for_token(session, access_token.strip(), now)
        issued = issue_credential(
            session,
            offer,
            request.get_json(silent=True),
            _issuer(),
            str(current_app.config["KEY_PASSPHRASE"]).encode(),
            now,
        )
    except WalletProtocolError as refused:
        return _refusal(refused)
    return _json({"credentials": [{"credential": issued}]})


@bp.get("/wallet/status/<uuid:organisation_id>")
@limiter.exempt
def token_status_list(organisation_id: uuid.UUID) -> Response:
    """The ente's IETF Token Status List, signed now from its Bitstring Status Lists (public);
    an ente that never issued to a wallet has none."""
    try:
        body = status_list_token(
            db_session(),
            organisation_id,
            _issuer(),
            str(current_app.config["KEY_PASSPHRASE"]).encode(),
            utcnow(),
        )
    except NoActiveKey:
        raise NotFound("no such status list") from None
    response = Response(body, mimetype="application/statuslist+jwt")
    # Short cache: a revocation must reach verifiers quickly.
    response.headers["Cache-Control"] = f"public, max-age={TTL}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _qr(link: str) -> str:
    """The offer's link as a QR code (SVG data URI)."""
    import segno  # the QR library (a twentieth of a second) only when a QR code is shown

    return str(segno.make(link, error="l").svg_data_uri(scale=3, border=4))
