"""The holder's download of their certificate's PDF, answered before Flask (issue 22).

A youth downloads their certificate far more often than anything else they do here, and the
full request (Flask's request context, the session's account, the view's checks) costs several
times the file itself. So a small WSGI layer in front of the app answers it when one indexed
query decides (:func:`certification.policy.holder_file`): the signed session cookie names a
login session that is live and needs nothing written, its account is active, its person holds
the certificate, the certificate is public with its file, and no second factor is owed. No
account, person or certificate is loaded; the stored bytes go out by sendfile with their
``ETag`` (a repeat download is a 304) and the headers of an immutable download.

Everything else goes on to Flask unchanged: anyone who is not the holder, a holder whose
session must be touched or ended or who owes a second factor, any request the query cannot
read (a bad cookie, a busy database: Flask retries it), and any other URL. The view
(app.certificates.views.pdf) and its full check answer those, with the same bytes and tag.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask
from itsdangerous import BadSignature
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from app.auth.second_factor import required_roles
from app.auth.sessions import idle_timeout
from app.db import reading_connection
from app.security import class_headers
from app.services import storage
from app.web import stored_download
from certification.certificates.lifecycle import PUBLIC_STATES
from certification.clock import utcnow
from certification.people.accounts import TOUCH_AFTER, session_key
from certification.policy import holder_file

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ENDPOINT = "certificates.pdf"
#: Session cookies whose signature was checked, kept per process (a holder downloads again and
#: again with the same cookie): beyond this many the memory starts afresh.
CHECKED_COOKIES = 4096
log = logging.getLogger(__name__)


class HolderDownloads:
    """WSGI middleware: the holder's own download, or the app (see the module's docstring)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._routes: Map | None = None
        self._shape: tuple[str, str] = ("/", "")  # the rule's text before and after its id
        #: (secret key, cookie) -> (when it was signed, the login session's token): checked
        #: once, its age checked on every request (:meth:`_token`).
        self._checked: dict[tuple[Any, str], tuple[int, str | None]] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = None
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get("HTTP_COOKIE"):
            try:
                response = self._answer(environ)
            except Exception:
                log.debug("holder download left to the app", exc_info=True)
                response = None
        if response is None:
            return self.wsgi_app(environ, start_response)
        return response(environ, start_response)

    def _certificate_id(self, environ: WSGIEnvironment) -> object | None:
        if self._routes is None:  # the view's own rule, so the two never disagree on the URL
            [rule] = [r for r in self.app.url_map.iter_rules() if r.endpoint == ENDPOINT]
            self._routes = Map([Rule(rule.rule, endpoint=ENDPOINT)], strict_slashes=False)
            self._shape = (rule.rule.split("<", 1)[0], rule.rule.rsplit(">", 1)[-1])
        path = environ.get("PATH_INFO", "")
        before, after = self._shape
        if not path.startswith(before) or not path.rstrip("/").endswith(after):
            return None  # any other URL, at the cost of two string comparisons
        try:
            _, args = self._routes.bind("", path_info=path).match()
        except HTTPException:
            return None
        return args["certificate_id"]

    def _answer(self, environ: WSGIEnvironment) -> Response | None:
        certificate_id = self._certificate_id(environ)
        if certificate_id is None:
            return None
        app = self.app
        cookie = parse_cookie(environ).get(app.config["SESSION_COOKIE_NAME"])
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if not cookie or serializer is None:
            return None
        token = self._token(serializer, cookie, int(app.permanent_session_lifetime.total_seconds()))
        if token is None:
            return None
        with app.app_context():
            # One statement, plain columns, no ORM session (holder_file writes nothing).
            with reading_connection(one_statement=True) as connection:
                found = holder_file(
                    connection,
                    session_key(token),
                    certificate_id,  # type: ignore[arg-type]
                    utcnow(),
                    idle_timeout=idle_timeout(),
                    touch_after=TOUCH_AFTER,
                    public_states=PUBLIC_STATES,
                    second_factor_roles=required_roles(),
                )
            if found is None:
                return None
            response = stored_download(
                environ,
                storage(),
                found.pdf_sha256,
                "application/pdf",
                f"{found.number}.pdf",
                immutable=True,
            )
            response.headers.extend(class_headers(app, response))
        return response

    def _token(self, serializer: Any, cookie: str, max_age: int) -> str | None:
        """The login session's token in a session cookie signed by the app and at most
        ``max_age`` seconds old, as Flask's ``serializer.loads(cookie, max_age=...)`` reads it;
        None otherwise. The signature (an HMAC, a decompression, a JSON parse) is checked once
        per cookie; its age every time."""
        key = (tuple(serializer.secret_keys), cookie)
        checked = self._checked.get(key)
        if checked is None:
            try:
                data, signed = serializer.loads(cookie, return_timestamp=True)
            except BadSignature:
                return None
            token = data.get("_user_id") if isinstance(data, dict) else None  # Flask-Login's
            if len(self._checked) >= CHECKED_COOKIES:
                self._checked.clear()
            checked = self._checked[key] = (
                int(signed.timestamp()),
                token if isinstance(token, str) and token else None,
            )
        age = int(time.time()) - checked[0]
        if age > max_age or age < 0:  # as itsdangerous: expired, or from the future
            return None
        return checked[1]


def init_app(app: Flask) -> None:
    """Put the holder's download in front of the app (and of any middleware before it)."""
    app.wsgi_app = HolderDownloads(app, app.wsgi_app)  # type: ignore[method-assign]
