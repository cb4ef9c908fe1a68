"""An employer's check of a wallet (OpenID4VP 1.0, issue 23 part 2): the presentation request
and the wallet's answer.

- :func:`create_request`: a request for Attesta's ``vct`` asking for the claims the employer
  ticked (a DCQL query), with a fresh nonce, answered by ``direct_post`` to a response address
  of its own. The request goes to the wallet by reference (RFC 9101, JAR): the QR code and the
  link carry only ``client_id`` and ``request_uri`` (:func:`request_link`), so the code stays
  sparse enough for a phone's camera; the wallet fetches the request object there, a JWT
  (``oauth-authz-req+jwt``, :func:`request_object`) signed by Attesta's verifier key, whose
  certificate (``x5c``, under Attesta's root) names the service's host. The client identifier
  is ``x509_san_dns:<host>`` (:func:`client_id`): the wallet checks the signature, the chain
  and that the host is the certificate's DNS name (and the response address's host); the
  key-binding JWT's ``aud`` is that client identifier. The row lives :data:`REQUEST_MINUTES`;
  its public ``id`` is the ``state``, the employer's page is found by a second secret (who scans
  the QR code cannot read the result).
- :func:`answer_request`: the wallet's ``direct_post``. Refused with OpenID4VP's / OAuth's
  ``invalid_request`` and nothing written: an unknown, expired or answered request, another
  ``state``, a body that is not a ``vp_token`` for the query. A ``vp_token`` that is one but
  fails :func:`~certification.wallet.presentation.verify_presentation` (another audience, an old
  nonce, a tampered disclosure...) is refused too, and the employer's page says so. A wallet's
  own error (``access_denied``: the holder declined) ends the request.
- A presentation checked, or refused by :func:`verify_presentation`, is one verification: its
  :class:`~certification.verification.checks.Verification` (method ``sd-jwt``) comes back
  with the answer (:class:`Answered`, :class:`PresentationRefused`) for the verification log,
  so that the holder's count and the Region's statistics include wallet checks. A holder who
  declines, and a body that is no presentation, are not verifications.
- What passes keeps, until the row expires, the separate verdicts (status, validity) and only the
  claims the holder disclosed among those asked; the presentation itself is not kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from jwcrypto import jwk, jws
from sqlalchemy import delete
from sqlalchemy.orm import Session

from certification.keys.material import load_private_key
from certification.models import SigningKey, WalletPresentationRequest
from certification.verification.checks import Verification
from certification.wallet.credential import CREDENTIAL_TYPE, SIGNING_ALGORITHM, vct, x5c
from certification.wallet.offers import WalletProtocolError
from certification.wallet.presentation import (
    as_verification,
    refused_verification,
    verify_presentation,
)

REQUEST_MINUTES: Final = 10
#: The DCQL credential query's id: the ``vp_token`` object's key.
QUERY_ID: Final = "attesta_certificate"
#: The selectively disclosable claims an employer may ask for, in the order shown.
CLAIMS: Final = (
    "given_name",
    "family_name",
    "birthdate",
    "certificate_number",
    "ente",
    "profile",
    "partial",
    "competences",
    "issuance_date",
    "expiry_date",
)
DEFAULT_CLAIMS: Final = ("given_name", "family_name", "certificate_number", "ente", "competences")
SCHEME: Final = "openid4vp://"
CLIENT_PREFIX: Final = "x509_san_dns:"
REQUEST_OBJECT_TYPE: Final = "oauth-authz-req+jwt"
#: The ``aud`` of a request object for any wallet (OpenID4VP 1.0 §5.8, static discovery).
WALLET_AUDIENCE: Final = "https://self-issued.me/v2"


@dataclass(frozen=True)
class MadeRequest:
    request: WalletPresentationRequest
    #: The employer's page secret: shown in the page's address only, never stored in clear.
    page_secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_request(session: Session, claims: list[str], now: dt.datetime) -> MadeRequest:
    """A new request for ``claims`` (known names only, at least one); expired ones are swept."""
    asked = [name for name in CLAIMS if name in claims]
    if not asked:
        raise WalletProtocolError("invalid_request", "no claim asked")
    session.execute(
        delete(WalletPresentationRequest).where(WalletPresentationRequest.expires_at <= now)
    )
    secret = secrets.token_urlsafe(24)
    made = WalletPresentationRequest(
        id=uuid.uuid4(),
        page_sha256=_digest(secret),
        nonce=secrets.token_urlsafe(24),
        claims=asked,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=REQUEST_MINUTES),
    )
    session.add(made)
    session.flush()
    return MadeRequest(made, secret)


def dcql_query(claims: list[str], issuer: str) -> dict[str, Any]:
    """The DCQL query: one ``dc+sd-jwt`` credential of Attesta's ``vct`` with these claims
    (every competence the holder chooses to show: ``["competences", null]``)."""
    return {
        "credentials": [
            {
                "id": QUERY_ID,
                "format": CREDENTIAL_TYPE,
                "meta": {"vct_values": [vct(issuer)]},
                "claims": [
                    {"path": [name, None] if name == "competences" else [name]} for name in claims
                ],
            }
        ]
    }


def client_id(issuer: str) -> str:
    """The verifier's client identifier (and the key-binding JWT's audience): the service's
    host, which the verifier key's certificate names."""
    return CLIENT_PREFIX + (urlsplit(issuer).hostname or "")


def authorization_request(
    request: WalletPresentationRequest, issuer: str, response_uri: str
) -> dict[str, Any]:
    """The request's parameters, as the request object carries them."""
    return {
        "client_id": client_id(issuer),
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": response_uri,
        "nonce": request.nonce,
        "state": str(request.id),
        "dcql_query": dcql_query(list(request.claims), issuer),
    }


def request_object(
    parameters: dict[str, Any],
    request: WalletPresentationRequest,
    key: SigningKey,
    root: SigningKey,
    passphrase: bytes,
    now: dt.datetime,
) -> str:
    """The signed request object (RFC 9101; OpenID4VP 1.0 §5): the parameters, for any wallet
    (``aud``), until the request expires; ``x5c`` up to Attesta's root."""
    claims = {
        **parameters,
        "aud": WALLET_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(request.expires_at.timestamp()),
    }
    token = jws.JWS(json.dumps(claims, separators=(",", ":")))
    token.add_signature(
        jwk.JWK.from_pyca(load_private_key(key, passphrase)),
        alg=SIGNING_ALGORITHM,
        protected=json.dumps(
            {"alg": SIGNING_ALGORITHM, "typ": REQUEST_OBJECT_TYPE, "x5c": x5c(key, root)}
        ),
    )
    return str(token.serialize(compact=True))


def live_request(
    session: Session, request_id: uuid.UUID, now: dt.datetime
) -> WalletPresentationRequest | None:
    """A request a wallet may still fetch and answer (not expired, not answered)."""
    found = session.get(WalletPresentationRequest, request_id)
    if found is None or found.expires_at <= now or found.answered_at is not None:
        return None
    return found


def request_link(client: str, request_uri: str) -> str:
    """The same-device link (and the QR code's content): the request by reference."""
    return SCHEME + "?" + urlencode({"client_id": client, "request_uri": request_uri})


def page_request(
    session: Session, page_secret: str, now: dt.datetime
) -> WalletPresentationRequest | None:
    """The employer's request by its page secret, while it lives."""
    found = (
        session.query(WalletPresentationRequest)
        .filter_by(page_sha256=_digest(page_secret))
        .one_or_none()
    )
    if found is None or found.expires_at <= now:
        return None
    return found


@dataclass(frozen=True)
class Answered:
    """A request answered: the row, and the verification to log (None when declined)."""

    request: WalletPresentationRequest
    verification: Verification | None


class PresentationRefused(WalletProtocolError):
    """A ``vp_token`` that is no valid presentation: refused, and logged as a verification."""

    def __init__(self, detail: str, verification: Verification) -> None:
        super().__init__("invalid_request", detail)
        self.verification = verification


def _refuse(detail: str) -> WalletProtocolError:
    return WalletProtocolError("invalid_request", detail)


def _presentation(vp_token: object) -> str:
    """The one presentation of the ``vp_token`` (a JSON object: query id → presentations)."""
    if not isinstance(vp_token, str):
        raise _refuse("vp_token is missing")
    try:
        parsed = json.loads(vp_token)
    except ValueError:
        raise _refuse("vp_token is not JSON") from None
    if not isinstance(parsed, dict) or set(parsed) != {QUERY_ID}:
        raise _refuse("vp_token does not answer the DCQL query")
    presentations = parsed[QUERY_ID]
    if not isinstance(presentations, list) or len(presentations) != 1:
        raise _refuse("one presentation is expected")
    (presentation,) = presentations
    if not isinstance(presentation, str):
        raise _refuse("the presentation is not an SD-JWT")
    return presentation


def answer_request(
    session: Session,
    request_id: uuid.UUID,
    form: dict[str, str],
    issuer: str,
    now: dt.datetime,
) -> Answered:
    """The wallet's answer to a request (see the module)."""
    request = session.get(WalletPresentationRequest, request_id)
    if request is None or request.expires_at <= now:
        raise _refuse("no such request, or it expired")
    if request.answered_at is not None:
        raise _refuse("the request was answered already")
    if form.get("state") != str(request.id):
        raise _refuse("state does not match the request")
    verification = None
    if form.get("error"):
        request.result = {"outcome": "declined", "error": str(form["error"])[:100]}
    else:
        presentation = _presentation(form.get("vp_token"))
        try:
            checked = verify_presentation(
                session, presentation, issuer, client_id(issuer), request.nonce, now
            )
        except WalletProtocolError as refused:
            request.answered_at = now
            request.result = {"outcome": "refused", "reason": refused.detail}
            session.flush()
            raise PresentationRefused(refused.detail, refused_verification(refused)) from None
        verification = as_verification(checked)
        request.result = {
            "outcome": "checked",
            "status": checked.status,
            "validity": checked.validity,
            "claims": {
                name: checked.claims[name] for name in request.claims if name in checked.claims
            },
            "valid_from": _day(checked.claims.get("nbf")),
            "valid_until": _day(checked.claims.get("exp")),
        }
    request.answered_at = now
    session.flush()
    return Answered(request, verification)


def _day(timestamp: object) -> str | None:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()
