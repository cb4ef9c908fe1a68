"""The holder's download of their certificate's PDF, before anything else of the request runs
(issue 22): one indexed query decides (:func:`certification.policy.holder_file`), no account,
person or certificate is loaded, and the stored bytes go out by sendfile with their ``ETag``
(a repeat download is a 304). Anyone else, and the holder whenever that query does not decide
(a session to touch or end, a second factor to ask for), goes through the view
(app.certificates.views.pdf) and its full check, unchanged."""

from __future__ import annotations

from flask import Flask, request, session
from werkzeug.wrappers import Response

from app.auth.second_factor import required_roles
from app.auth.sessions import idle_timeout
from app.db import reading_connection
from app.web import send_stored
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.clock import utcnow
from certification.people.accounts import TOUCH_AFTER, session_key
from certification.policy import holder_file

ENDPOINT = "certificates.pdf"


def _holder_download() -> Response | None:
    if request.endpoint != ENDPOINT or request.method not in ("GET", "HEAD"):
        return None
    token = session.get("_user_id")  # Flask-Login keeps the login session's token here
    if not isinstance(token, str) or not token or request.view_args is None:
        return None
    with reading_connection() as connection:  # plain columns: no ORM session to commit
        found = holder_file(
            connection,
            session_key(token),
            request.view_args["certificate_id"],
            utcnow(),
            idle_timeout=idle_timeout(),
            touch_after=TOUCH_AFTER,
            public_states=PUBLIC_STATES,
            second_factor_roles=required_roles(),
        )
    if found is None:
        return None
    return send_stored(found.pdf_sha256, "application/pdf", f"{found.number}.pdf", immutable=True)


def init_app(app: Flask) -> None:
    """First of the before-request hooks: before the second-factor guard asks who is logged in
    (which loads the account)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _holder_download)
