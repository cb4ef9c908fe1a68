"""What wallets and verifiers read about Attesta as a credential issuer: the credential
issuer's metadata (OpenID4VCI 1.0 §12.2), the authorization server's (RFC 8414), the issuer's
keys (SD-JWT VC ``/.well-known/jwt-vc-issuer``) and the type metadata of the ``vct``.

Display texts are in Italian and English, as wallets pick them by ``locale``.
"""

from __future__ import annotations

from typing import Any, Final

from jwcrypto import jwk
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import KeyPurpose, SigningKey
from certification.wallet.authorization import AUTHORIZATION_CODE_GRANT, PKCE_METHOD, SCOPE
from certification.wallet.credential import (
    CREDENTIAL_TYPE,
    PROOF_ALGORITHMS,
    SIGNING_ALGORITHM,
    vct,
)
from certification.wallet.offers import CONFIGURATION_ID, PRE_AUTHORIZED_GRANT

NAME: Final = "Attesta"
CREDENTIAL_NAME: Final = {
    "it": "Certificato di competenze (Attesta)",
    "en": "Competence certificate (Attesta)",
}
DESCRIPTION: Final = {
    "it": "Competenze certificate da un ente titolato secondo il Quadro Regionale degli "
    "Standard Professionali",
    "en": "Competences certified by an accredited body against the regional framework of "
    "professional standards",
}
#: The claims in order, each with its words: (path, Italian, English).
CLAIMS: Final = (
    (("given_name",), "Nome", "Given name"),
    (("family_name",), "Cognome", "Family name"),
    (("birthdate",), "Data di nascita", "Date of birth"),
    (("certificate_number",), "Numero del certificato", "Certificate number"),
    (("ente", "name"), "Ente titolato", "Accredited body"),
    (("profile", "title_it"), "Profilo", "Profile"),
    (("profile", "eqf_level"), "Livello EQF del profilo", "EQF level of the profile"),
    (("partial",), "Certificazione parziale", "Partial certification"),
    (("competences", None, "title_it"), "Competenza", "Competence"),
    (("competences", None, "eqf_level"), "Livello EQF", "EQF level"),
    (("competences", None, "level_reached"), "Livello raggiunto", "Level reached"),
    (("issuance_date",), "Data di rilascio", "Issue date"),
    (("expiry_date",), "Data di scadenza", "Expiry date"),
)


def endpoints(issuer: str) -> dict[str, str]:
    return {
        "authorization_endpoint": f"{issuer}/wallet/authorize",
        "token_endpoint": f"{issuer}/wallet/token",
        "nonce_endpoint": f"{issuer}/wallet/nonce",
        "credential_endpoint": f"{issuer}/wallet/credential",
    }


def _display(logo: str, texts: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "name": texts[locale],
            "locale": locale,
            "logo": {"uri": logo, "alt_text": NAME},
        }
        for locale in ("it", "en")
    ]


def issuer_metadata(issuer: str, logo: str) -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer``: Attesta is its own authorization server."""
    urls = endpoints(issuer)
    return {
        "credential_issuer": issuer,
        "authorization_servers": [issuer],
        "credential_endpoint": urls["credential_endpoint"],
        "nonce_endpoint": urls["nonce_endpoint"],
        "display": _display(logo, {"it": NAME, "en": NAME}),
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": CREDENTIAL_TYPE,
                "scope": SCOPE,
                "vct": vct(issuer),
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": [SIGNING_ALGORITHM],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}
                },
                "credential_metadata": {
                    "display": [
                        {
                            **entry,
                            "description": DESCRIPTION[entry["locale"]],
                            "background_color": "#0b3d91",
                            "text_color": "#ffffff",
                        }
                        for entry in _display(logo, CREDENTIAL_NAME)
                    ],
                    "claims": [
                        {
                            "path": list(path),
                            "display": [
                                {"name": italian, "locale": "it"},
                                {"name": english, "locale": "en"},
                            ],
                        }
                        for path, italian, english in CLAIMS
                    ],
                },
            }
        },
    }


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """``/.well-known/oauth-authorization-server`` (RFC 8414): the pre-authorized code grant,
    and the authorization code grant with PKCE (S256) for public clients (wallets): no client
    authentication (the PIN and the one-time code, or the login and the code verifier, protect
    the exchange); the authorization response names the issuer (RFC 9207)."""
    urls = endpoints(issuer)
    return {
        "issuer": issuer,
        "authorization_endpoint": urls["authorization_endpoint"],
        "token_endpoint": urls["token_endpoint"],
        "grant_types_supported": [AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_GRANT],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": [PKCE_METHOD],
        "scopes_supported": [SCOPE],
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_response_iss_parameter_supported": True,
        "pre-authorized_grant_anonymous_access_supported": True,
    }


def issuer_keys(session: Session, issuer: str) -> dict[str, Any]:
    """``/.well-known/jwt-vc-issuer``: every wallet key ever made (retired ones still verify
    what they signed), as public JWKs with their ``kid``, ``x5c`` and ``alg``."""
    keys = []
    for key in session.scalars(
        select(SigningKey)
        .where(
            SigningKey.purpose == KeyPurpose.WALLET_CREDENTIAL,
            SigningKey.compromised_at.is_(None),
        )
        .order_by(SigningKey.activated_at)
    ):
        public = jwk.JWK.from_pem(key.public_key_pem.encode()).export_public(as_dict=True)
        public.update(kid=key.kid, alg=SIGNING_ALGORITHM, use="sig")
        keys.append(public)
    return {"issuer": issuer, "jwks": {"keys": keys}}


def type_metadata(issuer: str) -> dict[str, Any]:
    """The type metadata of the ``vct`` (SD-JWT VC §6): names, and each claim's display and
    that it is selectively disclosable."""
    return {
        "vct": vct(issuer),
        "name": CREDENTIAL_NAME["en"],
        "description": DESCRIPTION["en"],
        "display": [
            {"locale": locale, "name": CREDENTIAL_NAME[locale], "description": DESCRIPTION[locale]}
            for locale in ("it", "en")
        ],
        "claims": [
            {
                "path": list(path),
                "display": [
                    {"locale": "it", "label": italian},
                    {"locale": "en", "label": english},
                ],
                "sd": "always",
            }
            for path, italian, english in CLAIMS
        ],
    }
