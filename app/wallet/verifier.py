"""The employer's check of a wallet (OpenID4VP 1.0): public, no login, no session (app.public).

- ``GET /verify/wallet``: which claims to ask for; ``POST /verify/wallet`` makes the request
  (no CSRF token: the page has no session, as the file check on /verify; a cross-site POST is
  still refused by app.origins) and sends the employer to its page.
- ``GET /verify/wallet/<secret>``: the request as a QR code (cross-device) and an
  ``openid4vp://`` link (same device) until the wallet answers, then the verdicts and what the
  holder disclosed; ``GET /verify/wallet/<secret>/state`` tells the page's script when to
  reload (without JavaScript, the page's own "check again" link does the same).
- ``GET /verify/wallet/request/<id>``: the request object the QR code's ``request_uri``
  names (a JWT signed by Attesta's verifier key, ``x509_san_dns:`` client identifier), for the
  wallet, while the request lives and is unanswered.
- ``POST /verify/wallet/response/<id>``: the response endpoint (``direct_post``), called by the
  wallet: CSRF exempt (a wallet carries no cookie; the request's nonce and state bind the
  answer), JSON in the specification's shape, never an HTML page. A presentation checked or
  refused goes to the verification log (channel ``wallet``, method ``sd-jwt``) like the checks
  by code and by file.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.db import db_session
from app.extensions import csrf, limiter
from app.services import verification_recorder
from app.verify.checks import global_limit
from app.wallet.blueprint import bp
from app.wallet.views import _issuer, _json, _qr, _refusal
from app.web import private
from certification.clock import utcnow
from certification.keys.management import verifier_key
from certification.keys.material import active_key
from certification.models import KeyPurpose, VerificationChannel, WalletPresentationRequest
from certification.wallet.offers import WalletProtocolError
from certification.wallet.requests import (
    CLAIMS,
    DEFAULT_CLAIMS,
    REQUEST_MINUTES,
    PresentationRefused,
    answer_request,
    authorization_request,
    client_id,
    create_request,
    live_request,
    page_request,
    request_link,
    request_object,
)


def _response_uri(request_id: uuid.UUID) -> str:
    return _issuer() + url_for("wallet.presentation_response", request_id=request_id)


def _form(
    asked: tuple[str, ...] | list[str], error: str | None = None, status: int = 200
) -> Response:
    page = render_template(
        "wallet/verifier_form.html",
        claims=CLAIMS,
        asked=asked,
        error=error,
        minutes=REQUEST_MINUTES,
    )
    return private(make_response(page, status))


@bp.get("/verify/wallet")
@global_limit
def verifier_form() -> Response:
    return _form(DEFAULT_CLAIMS)


@bp.post("/verify/wallet")
@csrf.exempt  # public and anonymous, like the file check on /verify
@limiter.limit("30 per hour")
@global_limit
def make_presentation_request() -> Response:
    asked = request.form.getlist("claim")
    try:
        made = create_request(db_session(), asked, utcnow())
    except WalletProtocolError:
        return _form(asked, _("Tick at least one thing to ask the wallet for."), 422)
    return private(redirect(url_for("wallet.verifier_page", secret=made.page_secret), 303))


def _found(secret: str) -> WalletPresentationRequest:
    found = page_request(db_session(), secret[:64], utcnow())
    if found is None:
        abort(404)
    return found


@bp.get("/verify/wallet/<secret>")
@global_limit
def verifier_page(secret: str) -> Response:
    found = _found(secret)
    request_uri = _issuer() + url_for("wallet.request_object_by_reference", request_id=found.id)
    link = request_link(client_id(_issuer()), request_uri)
    page = render_template(
        "wallet/verifier_page.html",
        found=found,
        result=found.result,
        link=link,
        qr=_qr(link),
        secret=secret,
        now=utcnow(),
    )
    return private(make_response(page))


@bp.get("/verify/wallet/<secret>/state")
@limiter.exempt
def verifier_state(secret: str) -> Response:
    found = _found(secret)
    return private(jsonify({"answered": found.answered_at is not None}))


@bp.get("/verify/wallet/request/<uuid:request_id>")
@limiter.limit("60 per minute")
def request_object_by_reference(request_id: uuid.UUID) -> Response:
    """The request object (RFC 9101) the QR code's ``request_uri`` names, signed now by
    Attesta's verifier key; while the request lives and is not answered."""
    session, now = db_session(), utcnow()
    found = live_request(session, request_id, now)
    if found is None:
        return _refusal(WalletProtocolError("invalid_request_uri", "no such request", 404))
    passphrase = str(current_app.config["KEY_PASSPHRASE"]).encode()
    host = urlsplit(_issuer()).hostname or ""
    body = request_object(
        authorization_request(found, _issuer(), _response_uri(found.id)),
        found,
        verifier_key(session, host, passphrase, now),
        active_key(session, None, KeyPurpose.ROOT_CA),
        passphrase,
        now,
    )
    response = Response(body, mimetype="application/oauth-authz-req+jwt")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/verify/wallet/response/<uuid:request_id>")
@csrf.exempt
@limiter.limit("60 per minute")
def presentation_response(request_id: uuid.UUID) -> Response:
    """The response endpoint: ``application/x-www-form-urlencoded`` with ``vp_token`` and
    ``state`` (or the wallet's ``error``); 200 with an empty object when checked."""
    session, now = db_session(), utcnow()
    try:
        answered = answer_request(session, request_id, request.form.to_dict(), _issuer(), now)
    except WalletProtocolError as refused:
        session.commit()  # a refused presentation ends the request: the employer's page says so
        if isinstance(refused, PresentationRefused):
            verification_recorder().record(refused.verification, VerificationChannel.WALLET, now)
        return _refusal(refused)
    if answered.verification is not None:
        verification_recorder().record(answered.verification, VerificationChannel.WALLET, now)
    return _json({})
