"""The credential endpoint's work: check the wallet's key proof, then sign the certificate as
an SD-JWT VC bound to the wallet's key (OpenID4VCI 1.0 §8, SD-JWT VC).

- Key proof (``openid4vci-proof+jwt``, OpenID4VCI 1.0 Appendix F.1): an asymmetric ``alg``
  (never ``none``, never a MAC), the wallet's public key in ``jwk`` (a key with private parts is
  refused: a wallet that sends its private key has no key worth binding to), a valid signature,
  ``aud`` = this issuer, ``iat`` within :data:`PROOF_MAX_AGE` (and not ahead of the clock), and
  a ``nonce`` from the nonce endpoint, used once.
- The SD-JWT VC: ``iss``, ``vct``, ``iat``/``nbf``/``exp``, ``status`` (the ente's Token
  Status List, :mod:`certification.wallet.status`) and ``cnf`` in the clear; the
  holder's name and date of birth, the certificate number, the ente, the profile, whether it is
  partial, the issue and expiry dates and each certified competence (an array element each)
  selectively disclosable. Signed with the ente's wallet key (ES256), whose certificate chain
  to Attesta's root goes in ``x5c``; the key is found from the certificate, never from the
  request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws
from jwcrypto.common import JWException
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.keys.management import wallet_key
from certification.keys.material import active_key, load_private_key
from certification.models import (
    CertificateKind,
    KeyPurpose,
    Organisation,
    SigningKey,
    WalletIssuance,
    WalletOffer,
)
from certification.wallet.offers import (
    CONFIGURATION_ID,
    WalletProtocolError,
    take_nonce,
    use_token,
)

PROOF_TYPE: Final = "openid4vci-proof+jwt"
CREDENTIAL_TYPE: Final = "dc+sd-jwt"
#: Asymmetric JWS algorithms a key proof may use (RFC 7518, RFC 8037).
PROOF_ALGORITHMS: Final = ("ES256", "ES384", "ES512", "EdDSA", "PS256", "PS384", "PS512")
#: A key proof older than this (by its ``iat``) is refused; one from the future beyond the
#: allowed clock skew too.
PROOF_MAX_AGE: Final = dt.timedelta(minutes=5)
CLOCK_SKEW: Final = dt.timedelta(seconds=60)
#: JWK members that only a private (or symmetric) key has.
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
SIGNING_ALGORITHM: Final = "ES256"


def vct(issuer: str) -> str:
    """The credential type: an https URL that also serves its type metadata."""
    return f"{issuer}/wallet/vct/certificate"


def status_list_uri(issuer: str, organisation_id: object) -> str:
    """Where the ente's Token Status List is published (certification.wallet.status)."""
    return f"{issuer}/wallet/status/{organisation_id}"


def _refuse(detail: str) -> WalletProtocolError:
    return WalletProtocolError("invalid_proof", detail)


def check_key_proof(proof: object, issuer: str, now: dt.datetime) -> tuple[Any, dict[str, Any]]:
    """The wallet's public key (a jwcrypto JWK) and the proof's claims; ``invalid_proof``
    otherwise. The nonce is checked by the caller (:func:`issue_credential`)."""
    if not isinstance(proof, str) or proof.count(".") != 2:
        raise _refuse("the key proof is not a compact JWT")
    token = jws.JWS()
    try:
        token.deserialize(proof)
        header = token.jose_header
    except (JWException, ValueError, TypeError):
        raise _refuse("the key proof cannot be read") from None
    if not isinstance(header, dict) or header.get("typ") != PROOF_TYPE:
        raise _refuse(f"the key proof's typ must be {PROOF_TYPE}")
    alg = header.get("alg")
    if alg not in PROOF_ALGORITHMS:
        raise _refuse("the key proof must be signed with an asymmetric algorithm")
    public = header.get("jwk")
    if not isinstance(public, dict) or "kid" in header or "x5c" in header:
        raise _refuse("the key proof must carry the wallet's key as jwk, and only that")
    if _PRIVATE_MEMBERS & set(public):
        raise _refuse("the key proof's jwk has private key material")
    try:
        key = jwk.JWK(**public)
    except (JWException, ValueError, TypeError, KeyError):
        raise _refuse("the key proof's jwk is not a usable key") from None
    if key.get("kty") == "oct" or key.has_private:
        raise _refuse("the key proof's jwk must be a public asymmetric key")
    try:
        token.verify(key, alg=alg)
        claims = json.loads(token.payload)
    except (JWException, ValueError, TypeError):
        raise _refuse("the key proof's signature does not verify") from None
    if not isinstance(claims, dict):
        raise _refuse("the key proof's payload is not a JSON object")
    audience = claims.get("aud")
    if audience != issuer and not (isinstance(audience, list) and audience == [issuer]):
        raise _refuse("the key proof is for another audience")
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise _refuse("the key proof has no iat")
    try:
        moment = dt.datetime.fromtimestamp(issued, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise _refuse("the key proof's iat is not a time") from None
    if moment < now - PROOF_MAX_AGE or moment > now + CLOCK_SKEW:
        raise _refuse("the key proof's iat is too old or in the future")
    return key, claims


def _b64_der(pem: str | None) -> str:
    certificate = x509.load_pem_x509_certificate((pem or "").encode())
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def x5c(key: SigningKey, root: SigningKey) -> list[str]:
    """The chain a verifier checks the issuer key by: the key's certificate, then the root's."""
    return [_b64_der(key.certificate_pem), _b64_der(root.certificate_pem)]


def _timestamp(value: dt.datetime) -> int:
    return int(value.timestamp())


def _level(competence: Any) -> dict[str, Any] | None:
    """The level reached, with its words from the frozen rubric when they are there."""
    code = competence.get("achieved_level")
    if code is None:
        return None
    for criterion in competence.get("criteria") or []:
        for level in criterion.get("levels") or []:
            if level.get("code") == code:
                return {"code": code, "label_it": level["label_it"], "label_en": level["label_en"]}
    return {"code": code}


def certificate_claims(certificate: Any, issuer: str, now: dt.datetime) -> dict[Any, Any]:
    """The SD-JWT VC's claims (``SDObj`` marks what is selectively disclosable), from the
    certificate's frozen content only."""
    content = certificate.content
    holder = content.get("holder") or {}
    ente = content.get("ente") or {}
    standard = content.get("standard") or {}
    claims: dict[Any, Any] = {
        "iss": issuer,
        "vct": vct(issuer),
        "iat": _timestamp(now),
        "nbf": _timestamp(certificate.issued_at),
        SDObj("given_name"): holder.get("given_name"),
        SDObj("family_name"): holder.get("family_name"),
        SDObj("certificate_number"): certificate.number,
        SDObj("ente"): {
            "name": ente.get("legal_name"),
            "tax_code": ente.get("tax_code"),
            "accreditation_number": ente.get("accreditation_number"),
        },
        SDObj("profile"): {
            "code": standard.get("profile_code"),
            "title_it": standard.get("profile_title_it"),
            "title_en": standard.get("profile_title_en"),
            "eqf_level": standard.get("eqf_level"),
            "framework": standard.get("framework_code"),
        },
        SDObj("partial"): certificate.kind == CertificateKind.COMPETENZE_SINGOLE,
        "competences": [
            SDObj(
                {
                    "code": competence.get("code"),
                    "title_it": competence.get("title_it"),
                    "title_en": competence.get("title_en"),
                    "eqf_level": competence.get("eqf_level"),
                    "level_reached": _level(competence),
                }
            )
            for competence in content.get("competences") or []
        ],
        SDObj("issuance_date"): certificate.issued_at.date().isoformat(),
        "status": {
            "status_list": {
                "idx": certificate.status_index,
                "uri": status_list_uri(issuer, certificate.organisation_id),
            }
        },
    }
    if holder.get("birth_date"):
        claims[SDObj("birthdate")] = holder["birth_date"]
    valid_until = content.get("valid_until")
    if valid_until:
        claims[SDObj("expiry_date")] = valid_until
        end = dt.datetime.combine(dt.date.fromisoformat(valid_until), dt.time.max, dt.UTC)
        claims["exp"] = _timestamp(end)
    return claims


def _credential_request(body: object) -> str:
    """The one key proof of a credential request (``proofs.jwt``, or the single ``proof`` of
    drafts before 1.0)."""
    if not isinstance(body, dict):
        raise WalletProtocolError("invalid_credential_request", "the request is not JSON")
    if body.get("credential_configuration_id") != CONFIGURATION_ID:
        raise WalletProtocolError(
            "unknown_credential_configuration", "unknown credential_configuration_id"
        )
    proofs = body.get("proofs")
    if isinstance(proofs, dict) and set(proofs) == {"jwt"}:
        jwts = proofs["jwt"]
        if isinstance(jwts, list) and len(jwts) == 1:
            return str(jwts[0]) if isinstance(jwts[0], str) else ""
        raise WalletProtocolError("invalid_credential_request", "send exactly one key proof")
    proof = body.get("proof")
    if isinstance(proof, dict) and proof.get("proof_type") == "jwt":
        return str(proof.get("jwt") or "")
    raise WalletProtocolError("invalid_proof", "the request has no jwt key proof")


def issue_credential(
    session: Session,
    offer: WalletOffer,
    body: object,
    issuer: str,
    passphrase: bytes,
    now: dt.datetime,
) -> str:
    """The SD-JWT VC (issuance form: JWT, then every disclosure, ``~``-separated) for the
    offer's certificate, bound to the proof's key; the offer's token is used up and the wallet
    recorded."""
    proof = _credential_request(body)
    key, proof_claims = check_key_proof(proof, issuer, now)
    take_nonce(session, proof_claims.get("nonce"), now)
    certificate = offer.certificate
    organisation = session.get(Organisation, certificate.organisation_id)
    if organisation is None:  # pragma: no cover - a foreign key
        raise WalletProtocolError("invalid_token", "the certificate has no ente", 401)
    signing: SigningKey = wallet_key(session, organisation, passphrase, now)
    root = active_key(session, None, KeyPurpose.ROOT_CA)
    issuer_key = jwk.JWK.from_pyca(load_private_key(signing, passphrase))
    made = SDJWTIssuer(
        certificate_claims(certificate, issuer, now),
        issuer_key,
        holder_key=key,
        sign_alg=SIGNING_ALGORITHM,
        extra_header_parameters={
            "typ": CREDENTIAL_TYPE,
            "kid": signing.kid,
            "x5c": x5c(signing, root),
        },
    )
    wallet = proof_claims.get("iss")
    use_token(session, offer, now)
    session.add(
        WalletIssuance(
            certificate_id=certificate.id,
            offer_id=offer.id,
            wallet=wallet[:200] if isinstance(wallet, str) and wallet else None,
            key_thumbprint=key.thumbprint(),
            signing_kid=signing.kid,
            issued_at=now,
        )
    )
    session.flush()
    record_event(
        session,
        None,
        "wallet.credential_issued",
        "certificate",
        str(certificate.id),
        now,
        offer=str(offer.id),
        wallet=wallet if isinstance(wallet, str) else None,
        kid=signing.kid,
    )
    return str(made.sd_jwt_issuance)
