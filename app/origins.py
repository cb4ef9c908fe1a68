"""Origin checks: a state-changing request a browser sends on another site's behalf is refused,
whatever CSRF token it carries (defence in depth, security.md §3.7).

Browsers say where a request comes from in two headers, neither of which a page can set:

- ``Sec-Fetch-Site`` (Fetch Metadata). Accepted: ``same-origin`` (our own pages) and ``none``
  (the person acted directly: a bookmark, the address bar; no site can cause it). Refused:
  ``cross-site`` and also ``same-site``, which is another host under the same registrable
  domain (a sibling sub-domain, perhaps a less careful application or user content): the
  ``SameSite=Lax`` session cookie goes along with its requests, so it is exactly where the
  cookie alone does not protect, and no site of ours posts to Attesta from another host.
  Unknown values are refused too.
- ``Origin``: when present, it must be the app's own origin, that of ``ATTESTA_BASE_URL`` or the
  one the request was addressed to (scheme, host and port, as a proxy set them when trusted).
  ``Origin: null`` says nothing: browsers send it for our own forms on pages with
  ``Referrer-Policy: no-referrer`` (the verification pages), so it counts as absent, and a
  sandboxed attacker's ``null`` comes with ``Sec-Fetch-Site: cross-site``.

Requests without either header (API clients, scripts, curl) are not from a browser acting for
a site: they pass, and the API's bearer token or the form's CSRF token decides as before.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CrossOriginRefused(Forbidden):
    """A state-changing request that a browser sent from another site."""

    def __init__(self, reason: str) -> None:
        super().__init__(description=reason)
        self.reason = reason


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` of a URL, lower case, with the default port written out; None
    for anything that is not an http(s) origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return f"{scheme}://{parts.hostname.lower()}:{port or _DEFAULT_PORTS[scheme]}"


def own_origins() -> set[str]:
    """The origins that are this app: its configured public address and the request's own."""
    found = {origin_of(str(current_app.config["BASE_URL"])), origin_of(request.host_url)}
    return {origin for origin in found if origin}


def refusal_reason(method: str, fetch_site: str | None, origin: str | None) -> str | None:
    """Why a request is refused (for the log), or None when it may go on."""
    if method.upper() in SAFE_METHODS:
        return None
    if fetch_site is not None and fetch_site.strip().lower() not in ALLOWED_FETCH_SITES:
        return f"Sec-Fetch-Site: {fetch_site[:40]}"
    foreign = origin is not None and origin.strip().lower() != "null"
    if foreign and origin_of(str(origin)) not in own_origins():
        return f"Origin: {str(origin)[:100]}"
    return None


def init_app(app: Flask) -> None:
    """Register the check; call before ``csrf.init_app`` so it runs before the token check."""

    @app.before_request
    def _refuse_cross_origin_writes() -> None:
        reason = refusal_reason(
            request.method, request.headers.get("Sec-Fetch-Site"), request.headers.get("Origin")
        )
        if reason is not None:
            app.logger.warning(
                "refused a cross-origin %s %s (%s)", request.method, request.path, reason
            )
            raise CrossOriginRefused(reason)
