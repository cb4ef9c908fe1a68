"""The authorization code flow with PKCE (OpenID4VCI 1.0 §3.4 and §5.1, RFC 6749 §4.1,
RFC 7636, RFC 9207): the wallet-initiated way in, beside the pre-authorized code flow of
:mod:`certification.wallet.offers`.

- The wallet sends the holder's browser to the authorization endpoint with its ``client_id``,
  a ``redirect_uri``, ``scope`` :data:`SCOPE` and a PKCE ``code_challenge`` (``S256`` only:
  ``plain`` would give the code's interceptor the verifier).
  :func:`read_authorization_request` checks it. While ``client_id`` or ``redirect_uri`` is
  unusable the refusal is shown on Attesta's page, never sent anywhere (no open redirector);
  after that a refusal goes back to the wallet as ``error=...`` on its ``redirect_uri``.
- The holder logs in to Attesta and consents for one of their issued certificates:
  :func:`grant_authorization` makes a one-time authorization code (an offer row without a PIN,
  bound to the challenge, the exact ``redirect_uri`` and the ``client_id``), good for
  :data:`CODE_SECONDS`.
- The token endpoint (:func:`redeem_authorization_code`) trades the code for the same access
  token as the pre-authorized flow, once: the ``redirect_uri`` must be the same string, the
  ``client_id`` the same, and ``BASE64URL(SHA256(code_verifier))`` the challenge. A code
  presented a second time, or with a wrong verifier, dies and the access token it gave (if
  any) stops working (RFC 6749 §4.1.2: it may have been stolen). From there, nonce, key proof
  and credential are the pre-authorized flow's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import NotPermitted
from certification.models import Certificate, CertificateStatus, UserAccount, WalletOffer
from certification.policy import can_offer_to_wallet
from certification.wallet.offers import WalletProtocolError, digest, grant_access_token

AUTHORIZATION_CODE_GRANT: Final = "authorization_code"
#: The scope a wallet asks for (the credential configuration's ``scope`` in the metadata).
SCOPE: Final = "attesta_certificate"
PKCE_METHOD: Final = "S256"
#: How long an authorization code can be exchanged (RFC 6749 §4.1.2: short, at most 10 min).
CODE_SECONDS: Final = 120
MAX_CLIENT_ID: Final = 200
MAX_REDIRECT_URI: Final = 2000
MAX_STATE: Final = 500

_VERIFIER: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
#: BASE64URL(SHA-256) without padding: 43 characters.
_CHALLENGE: Final = re.compile(r"[A-Za-z0-9\-_]{43}")
_SCHEME: Final = re.compile(r"[a-z][a-z0-9+.\-]*")
#: Schemes a browser would run or read locally, never a wallet's.
_REFUSED_SCHEMES: Final = frozenset(
    {"javascript", "data", "vbscript", "file", "blob", "about", "filesystem", "ftp", "ws", "wss"}
)
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})


class AuthorizationRefused(WalletProtocolError):
    """A refused authorization request; ``redirect_uri`` (with the request's ``state``) is
    where the refusal may go back to: None while ``client_id`` or ``redirect_uri`` is not
    usable."""

    def __init__(
        self, error: str, detail: str, redirect_uri: str | None = None, state: str | None = None
    ) -> None:
        super().__init__(error, detail)
        self.redirect_uri = redirect_uri
        self.state = state


@dataclass(frozen=True)
class AuthorizationRequest:
    """A usable authorization request, as the consent form carries it on."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    state: str | None


def _printable(text: str) -> bool:
    return text.isprintable() and not any(c.isspace() for c in text)


def redirect_uri_ok(uri: str) -> bool:
    """An absolute URI without fragment: ``https``, ``http`` on the loopback (RFC 8252 §7.3),
    or a wallet app's own scheme (§7.1); never one a browser runs (``javascript:``...)."""
    if not uri or len(uri) > MAX_REDIRECT_URI or not _printable(uri):
        return False
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return False
    if parts.fragment or "#" in uri or not _SCHEME.fullmatch(parts.scheme):
        return False
    if parts.scheme == "https":
        return bool(host)
    if parts.scheme == "http":
        return host in _LOOPBACK
    return parts.scheme not in _REFUSED_SCHEMES and bool(parts.netloc or parts.path)


def csp_source(redirect_uri: str) -> str:
    """The Content-Security-Policy source the consent form may be sent on to (``form-action``
    applies to the redirect that follows the POST): the origin, or the app's scheme."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("https", "http"):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return f"{parts.scheme}:"


def read_authorization_request(params: Mapping[str, str]) -> AuthorizationRequest:
    """Check an authorization request's parameters (see the module)."""
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    if not client_id or len(client_id) > MAX_CLIENT_ID or not client_id.isprintable():
        raise AuthorizationRefused("invalid_request", "client_id is missing or too long")
    if not redirect_uri_ok(redirect_uri):
        raise AuthorizationRefused("invalid_request", "redirect_uri is missing or not allowed")
    state = params.get("state")
    if state is not None and (len(state) > MAX_STATE or not state.isprintable()):
        raise AuthorizationRefused("invalid_request", "state is too long")

    def refuse(error: str, detail: str) -> AuthorizationRefused:
        return AuthorizationRefused(error, detail, redirect_uri, state)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be code")
    if "request_uri" in params or "request" in params:
        raise refuse("request_not_supported", "pushed and signed requests are not supported")
    if params.get("code_challenge_method") != PKCE_METHOD:
        raise refuse("invalid_request", "PKCE with code_challenge_method S256 is required")
    challenge = params.get("code_challenge", "")
    if not _CHALLENGE.fullmatch(challenge):
        raise refuse("invalid_request", "code_challenge is not an S256 challenge")
    if SCOPE not in params.get("scope", "").split():
        raise refuse("invalid_scope", f"scope must include {SCOPE}")
    return AuthorizationRequest(client_id, redirect_uri, challenge, state)


def back_to_wallet(redirect_uri: str, issuer: str, state: str | None, **answer: str) -> str:
    """The ``redirect_uri`` with the answer (``code``, or ``error`` and its description), the
    ``state`` and the issuer (``iss``, RFC 9207) added to its own query."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [*answer.items(), *([("state", state)] if state is not None else []), ("iss", issuer)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class NewAuthorization:
    """An authorization code just made (only its digest is kept)."""

    offer: WalletOffer
    code: str


def holders_certificates(session: Session, actor: UserAccount) -> list[Certificate]:
    """The issued certificates the account holds and may put into a wallet, newest first."""
    found = session.scalars(
        select(Certificate)
        .where(
            Certificate.holder_person_id == actor.person_id,
            Certificate.status == CertificateStatus.ISSUED,
        )
        .order_by(Certificate.issued_at.desc())
    )
    return [c for c in found if can_offer_to_wallet(actor, c)]


def grant_authorization(
    session: Session,
    actor: UserAccount,
    certificate: Certificate,
    request: AuthorizationRequest,
    now: dt.datetime,
) -> NewAuthorization:
    """The holder's consent: a one-time authorization code for ``certificate``, bound to the
    request's PKCE challenge, ``redirect_uri`` and ``client_id``."""
    if not can_offer_to_wallet(actor, certificate):
        raise NotPermitted("only the holder of an issued certificate adds it to a wallet")
    code = secrets.token_urlsafe(32)
    offer = WalletOffer(
        certificate_id=certificate.id,
        created_by_id=actor.id,
        code_sha256=digest(code),
        pin_sha256=None,
        pin_failures=0,
        code_challenge=request.code_challenge,
        redirect_uri=request.redirect_uri,
        client_id=request.client_id,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=CODE_SECONDS),
    )
    session.add(offer)
    session.flush()
    record_event(
        session,
        actor,
        "wallet.authorized",
        "certificate",
        str(certificate.id),
        now,
        offer=str(offer.id),
        wallet=request.client_id,
    )
    return NewAuthorization(offer, code)


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode()


def _kill(session: Session, offer: WalletOffer, now: dt.datetime) -> None:
    """The code dies, and the access token it gave, if any, stops working."""
    offer.dead_at = offer.dead_at or now
    if offer.token_expires_at is not None and offer.token_expires_at > now:
        offer.token_expires_at = now
    session.flush()


def redeem_authorization_code(
    session: Session, form: Mapping[str, str], now: dt.datetime
) -> tuple[WalletOffer, str]:
    """The token endpoint's ``authorization_code`` grant (see the module): the offer and a new
    access token. Refusals are ``invalid_request`` (a parameter missing) or ``invalid_grant``;
    one that kills the code is flushed, and the caller commits before refusing."""
    code, verifier = form.get("code", ""), form.get("code_verifier", "")
    if not code:
        raise WalletProtocolError("invalid_request", "code is missing")
    if not verifier:
        raise WalletProtocolError("invalid_request", "code_verifier is missing (PKCE)")
    offer = session.scalar(select(WalletOffer).where(WalletOffer.code_sha256 == digest(code)))
    if offer is None or offer.code_challenge is None:
        raise WalletProtocolError("invalid_grant", "unknown authorization code")
    if offer.redeemed_at is not None or offer.dead_at is not None:
        _kill(session, offer, now)
        raise WalletProtocolError("invalid_grant", "the authorization code was already used")
    if offer.expires_at <= now:
        raise WalletProtocolError("invalid_grant", "the authorization code has expired")
    if form.get("redirect_uri") != offer.redirect_uri:
        raise WalletProtocolError("invalid_grant", "redirect_uri is not the authorization's")
    if form.get("client_id") != offer.client_id:
        raise WalletProtocolError("invalid_grant", "client_id is not the authorization's")
    if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
        s256(verifier), offer.code_challenge
    ):
        _kill(session, offer, now)
        raise WalletProtocolError("invalid_grant", "code_verifier does not match (PKCE)")
    if offer.certificate.status != CertificateStatus.ISSUED:
        raise WalletProtocolError("invalid_grant", "the certificate is no longer issued")
    token = grant_access_token(
        session,
        offer,
        now,
        WalletProtocolError("invalid_grant", "the authorization code was already used"),
    )
    return offer, token
