"""The authorization endpoint of the authorization code flow with PKCE (OpenID4VCI 1.0, the
wallet-initiated way in; certification.wallet.authorization).

- ``GET /wallet/authorize?...``: the wallet's request is checked first. With an unusable
  ``client_id`` or ``redirect_uri`` the refusal is a page of ours (400), never a redirect;
  any other refusal goes back to the wallet (``error=...&state=...&iss=...``). A usable
  request needs the holder logged in (the login page comes back here), then shows the consent
  page: which wallet asks (its name and where the answer goes), which of the holder's issued
  certificates, what the wallet will be able to show, Allow or Deny.
- ``POST /wallet/authorize``: the consent (CSRF token); the request's parameters, carried in
  the form, are checked again. Allow makes a one-time code for the chosen certificate and sends
  the browser back to the wallet with it; Deny sends ``access_denied``. A certificate that is
  not the logged-in holder's is refused (422) and no code is made.

The consent page's Content-Security-Policy lets its form go on to the wallet's
``redirect_uri`` (``form-action`` covers the redirect that follows the POST) and nowhere else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.sessions import current_account
from app.db import db_session
from app.extensions import limiter
from app.security import CSP
from app.wallet.blueprint import bp
from app.wallet.forms import ConsentForm
from app.wallet.views import _issuer
from certification.clock import utcnow
from certification.wallet.authorization import (
    CODE_SECONDS,
    AuthorizationRefused,
    AuthorizationRequest,
    back_to_wallet,
    csp_source,
    grant_authorization,
    holders_certificates,
    read_authorization_request,
)
from certification.wallet.requests import CLAIMS

#: The request's parameters the consent form carries on.
CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _headers(response: Response, asked: AuthorizationRequest | None) -> Response:
    """A page for a logged-in person (not cached, not indexed, no referrer), whose form may go
    on to the wallet's redirect_uri only."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if asked is not None:
        response.headers["Content-Security-Policy"] = CSP.replace(
            "form-action 'self'", f"form-action 'self' {csp_source(asked.redirect_uri)}"
        )
    return response


def _destination(redirect_uri: str) -> str:
    """Where the answer goes, as the holder can recognise it: the host, or the app's scheme."""
    parts = urlsplit(redirect_uri)
    return parts.hostname or f"{parts.scheme}:"


def _refused_page(refused: AuthorizationRefused) -> Response:
    page = render_template("wallet/authorize_refused.html", detail=refused.detail)
    return _headers(Response(page, status=400, mimetype="text/html"), None)


def _back(redirect_uri: str, state: str | None, **answer: str) -> Response:
    response = redirect(back_to_wallet(redirect_uri, _issuer(), state, **answer), 303)
    return _headers(response, None)


def _consent_page(asked: AuthorizationRequest, status: int = 200, **extra: Any) -> Response:
    page = render_template(
        "wallet/authorize.html",
        asked=asked,
        carried={name: request.values.get(name) for name in CARRIED},
        certificates=holders_certificates(db_session(), current_account()),
        claim_names=CLAIMS,
        destination=_destination(asked.redirect_uri),
        form=ConsentForm(),
        minutes=CODE_SECONDS // 60,
        **{"error": None, **extra},
    )
    return _headers(Response(page, status=status, mimetype="text/html"), asked)


def _read(params: Any) -> AuthorizationRequest | Response:
    try:
        return read_authorization_request(params)
    except AuthorizationRefused as refused:
        if refused.redirect_uri is None:
            return _refused_page(refused)
        return _back(
            refused.redirect_uri,
            refused.state,
            error=refused.error,
            error_description=refused.detail,
        )


@bp.get("/wallet/authorize")
@limiter.limit("30 per minute")
def authorize() -> Response:
    asked = _read(request.args)
    if isinstance(asked, Response):
        return asked
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    return _consent_page(asked)


@bp.post("/wallet/authorize")
@limiter.limit("30 per minute")
def consent() -> Response:
    asked = _read(request.form)
    if isinstance(asked, Response):
        return asked
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if not ConsentForm().validate_on_submit():
        return _consent_page(asked, 400)
    if request.form.get("decision") != "allow":
        return _back(
            asked.redirect_uri,
            asked.state,
            error="access_denied",
            error_description="the holder declined",
        )
    session, actor = db_session(), current_account()
    chosen = request.form.get("certificate", "")
    certificate = next(
        (c for c in holders_certificates(session, actor) if str(c.id) == chosen), None
    )
    if certificate is None:
        return _consent_page(asked, 422, error=_("Choose one of your certificates."))
    made = grant_authorization(session, actor, certificate, asked, utcnow())
    return _back(asked.redirect_uri, asked.state, code=made.code)
