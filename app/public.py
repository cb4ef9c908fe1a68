"""The public check by code without a session (issue 22): no cookie read or written, no user.
The employer's wallet check (``/verify/wallet``, its page and its state) is public the same way.

``GET /verify/<code>``, ``GET /verify?code=...`` and ``GET /api/v1/verify/<code>`` answer the
same for everyone: who is logged in changes nothing in the answer, so these requests neither
read the session cookie (the signed cookie is not even decoded) nor write one, and Flask-Login's
user loader never runs for them (the request's user is anonymous from the start: no session
row, no account, no roles read). Their language is the one asked with ``?lang=`` (the language
switch on these pages is a plain GET form, no CSRF token), else the browser's.

Which requests are public is decided from the method and the path alone, before routing (the
cookie session is opened before Flask matches the URL).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request, Response

from app.extensions import login_manager

#: The request's environ key that marks a public request (set when the session is opened).
PUBLIC: str = "attesta.public"
_READS = frozenset({"GET", "HEAD"})
_API_PREFIX = "/api/v1/verify/"
_PAGE_PREFIX = "/verify/"
_WALLET_PREFIX = "/verify/wallet/"


def is_public(method: str, path: str, query: Any) -> bool:
    """Whether a request is a public verification by code (``query``: its arguments)."""
    if method not in _READS:
        return False
    if path.startswith(_API_PREFIX):
        return "/" not in path[len(_API_PREFIX) :]
    if path.startswith(_WALLET_PREFIX):  # the employer's wallet check page and its state,
        # and the request object the wallet fetches
        first, _, rest = path[len(_WALLET_PREFIX) :].partition("/")
        return bool(first) and (rest in ("", "state") or (first == "request" and "/" not in rest))
    if path.startswith(_PAGE_PREFIX):
        rest = path[len(_PAGE_PREFIX) :]
        return bool(rest) and "/" not in rest
    return path == "/verify" and "code" in query


def public_request() -> bool:
    """Whether the current request is a public verification by code (templates ask)."""
    return bool(request.environ.get(PUBLIC))


class PublicSession(SecureCookieSession):
    """The empty session of a public request: nothing read from the cookie, nothing saved."""


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except for public requests (:func:`is_public`)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_public(request.method, request.path, request.args):
            request.environ[PUBLIC] = True
            return PublicSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if isinstance(session, PublicSession):
            return  # never a Set-Cookie, never a Vary: Cookie
        super().save_session(app, session, response)


def _anonymous_when_public() -> None:
    if request.environ.get(PUBLIC):
        # Flask-Login reads g._login_user first: the loader (session row, account) never runs.
        g._login_user = login_manager.anonymous_user()


def init_app(app: Flask) -> None:
    """Install the session interface and make public requests anonymous; call first among the
    before-request hooks (the second-factor guard asks who is logged in)."""
    app.session_interface = SessionInterface()
    app.before_request_funcs.setdefault(None, []).insert(0, _anonymous_when_public)
    app.jinja_env.globals["public_request"] = public_request
