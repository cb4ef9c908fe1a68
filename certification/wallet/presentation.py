"""Checking a wallet's presentation of an Attesta SD-JWT VC (the verifier's side of issue 23's
part 2, OpenID4VP 1.0): the checks (:mod:`certification.wallet.requests` makes the request).

A presentation is the SD-JWT, the disclosures the holder chose, and a key-binding JWT
(``kb+jwt``) signed by the wallet's key. :func:`verify_presentation` refuses
(:class:`~certification.wallet.offers.WalletProtocolError`, ``invalid_presentation``) what is
not one: an issuer key that is not one of Attesta's wallet keys (found by ``kid`` in Attesta's
own key table, never taken from the token), a bad signature, a key-binding JWT that is missing,
signed by another key than ``cnf.jwk``, for another audience or nonce, stale, or whose
``sd_hash`` does not cover this presentation, and any disclosure that matches no digest (a
tampered one). The OpenWallet Foundation's ``sd-jwt`` verifier checks signature, key binding and
``sd_hash`` and puts the disclosures back; its one gap, disclosures that match nothing are
silently dropped, is closed here. What passes gets separate verdicts, as the other verification
paths: status (from the same state as the status lists: valid, suspended, revoked) and validity
(``nbf``/``exp``), with only the claims the holder disclosed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Final

from jwcrypto import jwk, jws
from jwcrypto.common import JWException
from sd_jwt.verifier import SDJWTVerifier
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import Certificate, KeyPurpose, SigningKey
from certification.verification.checks import (
    Dimension,
    Method,
    Outcome,
    Verification,
    _refused,
    _verdict,
)
from certification.wallet.credential import CREDENTIAL_TYPE, SIGNING_ALGORITHM
from certification.wallet.offers import WalletProtocolError
from certification.wallet.status import INVALID, SUSPENDED, status_entries

#: A key-binding JWT older than this (by its ``iat``) is refused: a replayed presentation.
KB_MAX_AGE: Final = dt.timedelta(minutes=5)
CLOCK_SKEW: Final = dt.timedelta(seconds=60)
KB_TYPE: Final = "kb+jwt"


@dataclass(frozen=True)
class CheckedPresentation:
    """A presentation that is one: its verdicts and what the holder disclosed."""

    #: "valid", "suspended" or "revoked" (the certificate's status now).
    status: str
    #: "valid", "not_yet_valid" or "expired" (the credential's nbf/exp).
    validity: str
    #: The disclosed claims, and the always-visible ones (iss, vct, dates, status, cnf).
    claims: dict[str, Any]
    kid: str
    #: The register's certificate at the credential's status index (for the verification log).
    certificate: Certificate | None = field(default=None, compare=False)


def _refuse(detail: str) -> WalletProtocolError:
    return WalletProtocolError("invalid_presentation", detail)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a compact JWS, read before (or after) its signature is checked."""
    parsed = jws.JWS()
    try:
        parsed.deserialize(token)
        header = parsed.jose_header
        payload = json.loads(parsed.objects["payload"])
    except (JWException, ValueError, TypeError, KeyError):
        raise _refuse("not a compact JWS") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise _refuse("not a JSON object")
    return header, payload


def _digest(disclosure: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode()).digest()).rstrip(b"=").decode()
    )


def _digests(node: Any) -> set[str]:
    """Every digest the signed payload holds (object ``_sd`` lists, array ``...`` elements)."""
    found: set[str] = set()
    if isinstance(node, dict):
        found.update(d for d in node.get("_sd", []) if isinstance(d, str))
        if set(node) == {"..."} and isinstance(node["..."], str):
            found.add(node["..."])
        for value in node.values():
            found |= _digests(value)
    elif isinstance(node, list):
        for item in node:
            found |= _digests(item)
    return found


def verify_presentation(
    session: Session, presentation: object, issuer: str, audience: str, nonce: str, now: dt.datetime
) -> CheckedPresentation:
    """Check a presentation made for ``audience`` with ``nonce`` (see the module)."""
    if not isinstance(presentation, str) or presentation.count("~") < 1:
        raise _refuse("not an SD-JWT presentation")
    parts = presentation.split("~")
    token, disclosures, key_binding = parts[0], parts[1:-1], parts[-1]
    if not key_binding:
        raise _refuse("the presentation has no key-binding JWT")
    header, payload = _unverified(token)
    if header.get("typ") != CREDENTIAL_TYPE or header.get("alg") != SIGNING_ALGORITHM:
        raise _refuse("not an Attesta SD-JWT VC")
    if payload.get("iss") != issuer:
        raise _refuse("not issued by this Attesta")
    key = session.get(SigningKey, str(header.get("kid")))
    if key is None or key.purpose != KeyPurpose.WALLET_CREDENTIAL:
        raise _refuse("the issuer key is not one of Attesta's wallet keys")
    if key.compromised_at is not None:
        raise _refuse("the issuer key is compromised")
    kb_header, kb_payload = _unverified(key_binding)
    if kb_header.get("typ") != KB_TYPE:
        raise _refuse("the key-binding JWT's typ must be kb+jwt")
    try:
        verifier = SDJWTVerifier(
            presentation,
            lambda _iss, _header: jwk.JWK.from_pem(key.public_key_pem.encode()),
            expected_aud=audience,
            expected_nonce=nonce,
        )
        claims = verifier.get_verified_payload()
    except (JWException, ValueError, TypeError, KeyError, AttributeError, IndexError):
        # The holder writes the disclosures and the key-binding JWT: any shape may come.
        raise _refuse("the signature, the key binding or sd_hash does not verify") from None
    signed = _digests(payload)
    if any(_digest(d) not in signed for d in disclosures) or len(set(disclosures)) != len(
        disclosures
    ):
        raise _refuse("a disclosure matches no digest of the credential")
    issued = kb_payload.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise _refuse("the key-binding JWT has no iat")
    try:
        moment = dt.datetime.fromtimestamp(issued, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise _refuse("the key-binding JWT's iat is not a time") from None
    if moment < now - KB_MAX_AGE or moment > now + CLOCK_SKEW:
        raise _refuse("the key-binding JWT is stale or from the future")
    return CheckedPresentation(
        status=_status(session, key, claims),
        validity=_validity(claims, now),
        claims=dict(claims),
        kid=key.kid,
        certificate=_certificate(session, key, claims),
    )


def _certificate(session: Session, key: SigningKey, claims: dict[str, Any]) -> Certificate | None:
    """The certificate of the ente's status index (always visible, so found without any claim
    the holder chose to disclose)."""
    index = claims["status"]["status_list"]["idx"]  # checked by _status
    return session.scalars(
        select(Certificate).where(
            Certificate.organisation_id == key.organisation_id, Certificate.status_index == index
        )
    ).one_or_none()


_STATUS_DIMENSION: Final = {
    "valid": Dimension("status", "active", Outcome.PASS),
    "suspended": Dimension("status", "suspended", Outcome.FAIL),
    "revoked": Dimension("status", "revoked", Outcome.FAIL),
}


def as_verification(checked: CheckedPresentation) -> Verification:
    """A checked presentation as the other verification paths answer (method ``sd-jwt``), for
    the verification log: found (in the register), signature and key binding, status,
    validity; ``identical`` does not apply (the holder shows a part of the credential)."""
    validity = (
        Dimension("validity", "current", Outcome.PASS)
        if checked.validity == "valid"
        else Dimension("validity", checked.validity, Outcome.FAIL)
    )
    dimensions = {
        "found": Dimension("found", "found", Outcome.PASS)
        if checked.certificate is not None
        else Dimension("found", "not_found", Outcome.FAIL),
        "signature": Dimension("signature", "valid", Outcome.PASS),
        "identical": Dimension("identical", "selective_disclosure", Outcome.NOT_APPLICABLE),
        "status": _STATUS_DIMENSION[checked.status],
        "validity": validity,
    }
    return replace(_verdict(Method.SD_JWT, dimensions, None), certificate=checked.certificate)


def refused_verification(refused: WalletProtocolError) -> Verification:
    """A presentation that is not one (bad signature, key binding, nonce, disclosure...): not
    valid, no certificate (nothing in it can be trusted to name one)."""
    return _refused(Method.SD_JWT, refused.error, refused.detail)


def _status(session: Session, key: SigningKey, claims: dict[str, Any]) -> str:
    reference = (claims.get("status") or {}).get("status_list") or {}
    index = reference.get("idx")
    if key.organisation_id is None or not isinstance(index, int) or index < 0:
        raise _refuse("the credential has no usable status")
    entries = status_entries(session, key.organisation_id)
    byte, shift = divmod(index * 2, 8)
    if byte >= len(entries):
        raise _refuse("the credential's status index is outside the list")
    value = (entries[byte] >> shift) & 0b11
    return "revoked" if value == INVALID else "suspended" if value == SUSPENDED else "valid"


def _validity(claims: dict[str, Any], now: dt.datetime) -> str:
    moment = int(now.timestamp())
    if isinstance(claims.get("nbf"), int) and moment < claims["nbf"]:
        return "not_yet_valid"
    if isinstance(claims.get("exp"), int) and moment >= claims["exp"]:
        return "expired"
    return "valid"
