"""The app's error handlers: every error a request raises becomes the page or JSON body of
``app.errors`` (its status, code and message); a refused access is also written to the security
log, in a transaction of its own."""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from app.db import database
from app.errors import (
    HTTP_MESSAGES,
    MESSAGES,
    error_response,
    explain,
    register,
    status_of,
    wants_json,
)
from app.origins import CrossOriginRefused
from certification.audit.events import record_event
from certification.clock import utcnow
from certification.errors import AccessRefused, DomainError, NotPermitted
from certification.models import UserAccount


def init_app(app: Flask) -> None:
    register(app)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> tuple[Response | str, int]:
        if isinstance(exc, AccessRefused):
            _log_refusal(app, exc.code, exc.detail, exc.entity_type, exc.entity_id)
        elif isinstance(exc, NotPermitted):
            _log_refusal(app, exc.code, exc.detail)
        status = status_of(type(exc)) or 400  # of no kind: a test fails on any such error
        details = getattr(exc, "errors", None) or None
        # A page has no fields to highlight: it says what was wrong (JSON carries the details).
        message = explain(exc) if details and not wants_json() else MESSAGES.get(exc.code, exc.code)
        response, status = error_response(status, exc.code, str(message), details)
        retry_after = exc.params.get("retry_after")
        if retry_after is None:
            return response, status
        final = app.make_response((response, status))
        final.headers["Retry-After"] = str(retry_after)
        return final, status

    @app.errorhandler(CSRFError)
    def _csrf_error(_exc: CSRFError) -> tuple[Response | str, int]:
        message = _l(
            "The form expired or was sent from another page. Go back, reload it and try again."
        )
        return error_response(400, "csrf_failed", str(message))

    @app.errorhandler(CrossOriginRefused)
    def _cross_origin(exc: CrossOriginRefused) -> tuple[Response | str, int]:
        if current_user.is_authenticated:  # a forged request riding someone's session
            _log_refusal(app, "cross_origin_refused", exc.reason)
        message = _l(
            "This request was sent from another website, so it was refused and nothing was "
            "changed. Open Attesta's page yourself and send the form from there."
        )
        return error_response(403, "cross_origin_refused", str(message))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> WerkzeugResponse | tuple[Response | str, int]:
        status = exc.code or 500
        if status < 400:  # redirects raised as exceptions (e.g. routing) pass through
            return exc.get_response()
        message = str(HTTP_MESSAGES.get(status, exc.description or ""))
        response, status = error_response(status, _http_code(status), message)
        if isinstance(response, Response):
            final = response
        else:
            final = app.make_response((response, status))
        for name, value in exc.get_headers():
            if name in ("Retry-After", "Allow", "WWW-Authenticate"):
                final.headers[name] = value
        final.status_code = status
        return final

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", str(HTTP_MESSAGES[500]))


def _log_refusal(
    app: Flask, code: str, reason: str, entity_type: str = "route", entity_id: str | None = None
) -> None:
    """Write a refused access (an object out of the actor's scope, an act they may not do, a
    request forged from another site) to the security log, in a transaction of its own: the
    request's is rolled back."""
    account = getattr(current_user, "account", None)
    account_id = account.id if account is not None else None  # read before the rollback
    request_session = g.get("db_session")
    if request_session is not None:
        request_session.rollback()  # its changes are void, and SQLite has one writer
    try:
        with database().session() as session:  # it signs the audit chain's new head
            record_event(
                session,
                session.get(UserAccount, account_id) if account_id else None,
                "access.refused",
                entity_type,
                entity_id or request.path,
                utcnow(),
                method=request.method,
                path=request.path,
                code=code,
                reason=reason,
            )
            session.commit()
    except Exception:  # the log must never turn a refusal into a 500
        app.logger.exception("could not log a refused access to %s", request.path)


def _http_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        429: "rate_limited",
        503: "unavailable",
    }.get(status, "http_error")
