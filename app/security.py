"""Security headers on every response (security.md §3.7), and no NUL character in any input."""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user
from werkzeug.wrappers import Response

from certification.errors import InvalidInput

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


#: The attribute of a response that names its class (set by app.web.private and
#: app.web.send_stored's immutable downloads).
RESPONSE_CLASS = "attesta_headers"
#: Each class of response and the headers its maker sets itself (lower case). A response of a
#: class carries no other default-named header, and its Cache-Control is its maker's choice
#: (both no-store).
RESPONSE_CLASSES = {
    "private": frozenset({"x-robots-tag", "cache-control", "referrer-policy"}),
    "immutable-download": frozenset({"content-security-policy", "cache-control"}),
}


HEADERS_BY_CLASS = "attesta.headers_by_class"
#: The bodies Werkzeug parses into ``request.form`` (no other has form fields).
_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def class_headers(app: Flask, response: Response) -> list[tuple[str, str]]:
    """The default headers a response of a known class lacks (the after-request hook adds
    them; a response made before Flask, app.certificates.holder_download, adds them itself)."""
    return list(app.extensions[HEADERS_BY_CLASS][getattr(response, RESPONSE_CLASS)])


def init_app(app: Flask) -> None:
    secure = app.config["SECURE_COOKIES"]
    app.config.update(
        SESSION_COOKIE_NAME="__Host-attesta" if secure else "attesta",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )

    @app.before_request
    def _refuse_nul_characters() -> None:
        # No text of ours holds a NUL: PostgreSQL refuses it in text (a 500 after the fact),
        # and elsewhere it only ever hides something. Refused up front, for every form and query.
        # Only what is there is parsed: most requests have no query and no form.
        query = request.args.lists() if request.environ.get("QUERY_STRING") else ()
        form = request.form.lists() if request.mimetype in _FORM_TYPES and request.form else ()
        fields = [*query, *form]
        # (a malformed multipart part can even come with no name)
        texts = [key or "" for key, _ in fields] + [v for _, values in fields for v in values]
        if any("\x00" in text for text in texts):
            raise InvalidInput("NUL character", errors={"input": ["invalid_characters"]})

    defaults = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if secure:
        defaults.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    # A response of a known class (see RESPONSE_CLASSES) gets the defaults it lacks from a list
    # made once here: no per-response look at its headers nor at who is logged in.
    by_class = {
        name: [(n, v) for n, v in defaults if n.lower() not in own]
        for name, own in RESPONSE_CLASSES.items()
    }
    app.extensions[HEADERS_BY_CLASS] = by_class

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        known = getattr(response, RESPONSE_CLASS, None)
        if known is not None:
            headers.extend(by_class[known])
            return response
        # Each default unless the view set its own. (Not Headers.setdefault: it raises and
        # catches a KeyError per missing name, a measurable cost on every response.)
        present = {name.lower() for name, _ in headers}
        headers.extend([(n, v) for n, v in defaults if n.lower() not in present])
        if not request.path.startswith("/static/") and (
            current_user.is_authenticated or response.status_code >= 400
        ):
            # Pages for a logged-in person must not stay in shared or back-button caches.
            headers["Cache-Control"] = "no-store"
        return response
