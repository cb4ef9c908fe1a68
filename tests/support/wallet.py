"""A wallet written for the tests, on a different JOSE library (joserfc) than the issuer's
(sd-jwt on jwcrypto), so that the two check each other: it makes key proofs, and it takes an
SD-JWT VC apart, checking the issuer's signature (through ``x5c`` up to Attesta's root, or
through the published JWKS) and the digest of every disclosure on its own.

Also a certificate to offer: a row with a full frozen content (five competences), made directly
(no PDF rendering), and the keys it needs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.certificates.lifecycle import new_verification_code
from certification.keys.management import init_keys
from certification.models import Certificate, CertificateKind, CertificateStatus
from tests.support.clock import NOW
from tests.support.factories import make_account, make_case, make_organisation

PROOF_TYPE = "openid4vci-proof+jwt"
COMPETENCES = ("DEMO-C01", "DEMO-C02", "DEMO-C03", "DEMO-C04", "DEMO-C05")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _competence(index: int, code: str) -> dict[str, Any]:
    return {
        "code": code,
        "title_it": f"Competenza {index}",
        "title_en": f"Competence {index}",
        "eqf_level": 4,
        "ada_codes": [],
        "alignments": [],
        "abilita": [],
        "conoscenze": [],
        "achieved_level": "B",
        "criteria": [
            {
                "code": f"{code}-K1",
                "text_it": "Criterio",
                "text_en": "Criterion",
                "level": "B",
                "levels": [
                    {"code": "A", "label_it": "Base", "label_en": "Basic", "passing": False},
                    {"code": "B", "label_it": "Buono", "label_en": "Good", "passing": True},
                ],
            }
        ],
    }


def wallet_certificate(db: Session, passphrase: bytes) -> tuple[Certificate, Any]:
    """An issued certificate (five competences) of a new holder, and the holder's account; the
    keys (root CA, the ente's) exist."""
    holder = make_account(db, is_candidate=True, given_name="Giulia", family_name="Rossi")
    ente = make_organisation(db, legal_name="Ente Formazione S.r.l.", code="ENTEWL")
    case = make_case(db, candidate=holder, ente=ente, status=CaseStatus.CERTIFICATION)
    init_keys(db, None, passphrase, NOW)
    certificate = Certificate(
        case_id=case.id,
        generation=1,
        organisation_id=ente.id,
        number="LOM-2026-000042",
        verification_code=new_verification_code(),
        status_index=7,
        kind=CertificateKind.COMPETENZE_SINGOLE,
        locale="it",
        status=CertificateStatus.ISSUED,
        content={
            "base_url": "http://localhost",
            "issued_at": NOW.isoformat(),
            "holder": {
                "given_name": "Giulia",
                "family_name": "Rossi",
                "codice_fiscale": "RSSGLI90A41F205X",
                "birth_date": "1990-01-01",
                "birth_place": "Milano",
            },
            "ente": {
                "id": str(ente.id),
                "legal_name": "Ente Formazione S.r.l.",
                "short_name": "Ente",
                "tax_code": "01234567890",
                "accreditation_number": "ACC-1",
            },
            "standard": {
                "framework_code": "DEMO-LOMBARDIA",
                "framework_version": "1.0",
                "framework_title_it": "Quadro",
                "framework_title_en": "Framework",
                "profile_code": "DEMO-P01",
                "profile_title_it": "Profilo",
                "profile_title_en": "Profile",
                "eqf_level": 4,
            },
            "competences": [_competence(i, code) for i, code in enumerate(COMPETENCES, 1)],
            "valid_until": "2031-11-01",
        },
        holder_person_id=holder.person_id,
        issued_at=NOW,
        reserved_at=NOW,
        pdf_sha256="0" * 64,
        credential_sha256="0" * 64,
    )
    db.add(certificate)
    db.flush()
    return certificate, holder


class TestWallet:
    """The holder's wallet: its own key (P-256), key proofs, and checking what it receives."""

    __test__ = False  # not a test class

    def __init__(self, client_id: str | None = "https://wallet.example/app") -> None:
        self.key = ECKey.generate_key("P-256")
        self.client_id = client_id

    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=False))

    def proof(
        self,
        issuer: str,
        nonce: str | None,
        iat: dt.datetime,
        *,
        header: dict[str, Any] | None = None,
        key: Any = None,
    ) -> str:
        """An ``openid4vci-proof+jwt`` (``header`` overrides the protected header)."""
        claims: dict[str, Any] = {"aud": issuer, "iat": int(iat.timestamp())}
        if nonce is not None:
            claims["nonce"] = nonce
        if self.client_id:
            claims["iss"] = self.client_id
        protected = {"alg": "ES256", "typ": PROOF_TYPE, "jwk": self.public_jwk(), **(header or {})}
        return jwt.encode(protected, claims, key or self.key)

    def unsigned_proof(self, issuer: str, nonce: str, iat: dt.datetime) -> str:
        """The same claims with ``alg: none`` and no signature (an attack)."""
        header = {"alg": "none", "typ": PROOF_TYPE, "jwk": self.public_jwk()}
        claims = {"aud": issuer, "iat": int(iat.timestamp()), "nonce": nonce}
        return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."

    def hmac_proof(self, issuer: str, nonce: str, iat: dt.datetime) -> str:
        """A proof with a symmetric algorithm (HS256) and the wallet's public key named."""
        return self.proof(issuer, nonce, iat, header={"alg": "HS256"}, key=OctKey.generate_key(256))

    def presentation(
        self, issued: str, keep: list[int], audience: str, nonce: str, iat: dt.datetime
    ) -> str:
        """The SD-JWT with the disclosures at ``keep`` and a key-binding JWT over them
        (``kb+jwt``: aud, nonce, iat, sd_hash), signed by the wallet's key."""
        shown = present(issued, keep)
        claims = {
            "aud": audience,
            "nonce": nonce,
            "iat": int(iat.timestamp()),
            "sd_hash": b64url(hashlib.sha256(shown.encode("ascii")).digest()),
        }
        return shown + jwt.encode({"alg": "ES256", "typ": "kb+jwt"}, claims, self.key)

    def private_jwk_proof(self, issuer: str, nonce: str, iat: dt.datetime) -> str:
        """A proof whose ``jwk`` is the whole private key (``d`` included)."""
        return self.proof(issuer, nonce, iat, header={"jwk": dict(self.key.as_dict(private=True))})


def x5c_chain(header: dict[str, Any], root_pem: str) -> ec.EllipticCurvePublicKey:
    """The issuer key of an SD-JWT's ``x5c``, once its certificate is checked against the root
    (signed by it, in its validity); the root given by the test, never taken from the token."""
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    root = x509.load_pem_x509_certificate(root_pem.encode())
    leaf.verify_directly_issued_by(root)
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


#: ES256 only; a header room for ``x5c`` (two certificates: joserfc's default allows 512 bytes).
_REGISTRY = jws.JWSRegistry(algorithms=["ES256"])
_REGISTRY.max_header_length = 8192


def _digest(disclosure: str) -> str:
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


def open_sd_jwt(issued: str, issuer_public: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SD-JWT's header and its claims with every disclosure put back in place.

    The JWT's signature is checked with ``issuer_public`` (a joserfc key); every disclosure
    given must match exactly one digest of the payload (a changed disclosure matches none and
    fails); digests without a disclosure (claims not shown) stay hidden.
    """
    parts = issued.split("~")
    assert parts[-1] == "", "an issuance ends with ~ (no key binding JWT)"
    token, disclosures = parts[0], parts[1:-1]
    verified = jws.deserialize_compact(token, issuer_public, registry=_REGISTRY)
    header = dict(verified.headers())
    payload = json.loads(verified.payload)
    assert payload["_sd_alg"] == "sha-256"
    by_digest: dict[str, list[Any]] = {}
    for disclosure in disclosures:
        decoded = json.loads(unb64url(disclosure))
        assert isinstance(decoded, list) and len(decoded) in (2, 3)
        assert _digest(disclosure) not in by_digest, "a disclosure given twice"
        by_digest[_digest(disclosure)] = decoded
    used: set[str] = set()

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for digest in node.get("_sd", []):
                if digest in by_digest:
                    assert digest not in used
                    used.add(digest)
                    _salt, name, value = by_digest[digest]
                    assert name not in node, "a disclosed name clashes with a plain one"
                    out[name] = expand(value)
            for name, value in node.items():
                if name not in ("_sd", "_sd_alg"):
                    out[name] = expand(value)
            return out
        if isinstance(node, list):
            items = []
            for item in node:
                if isinstance(item, dict) and set(item) == {"..."}:
                    if item["..."] in by_digest:
                        assert item["..."] not in used
                        used.add(item["..."])
                        items.append(expand(by_digest[item["..."]][1]))
                    continue
                items.append(expand(item))
            return items
        return node

    claims = expand(payload)
    assert used == set(by_digest), "a disclosure matches no digest of the SD-JWT"
    return header, claims


def token_status(token: str, index: int, root_pem: str) -> int:
    """The status (0 valid, 1 invalid, 2 suspended) at ``index`` of a Status List Token, its
    signature checked through ``x5c`` up to Attesta's root."""
    header = json.loads(unb64url(token.split(".")[0]))
    assert header["typ"] == "statuslist+jwt"
    key = ECKey.import_key(_pem(x5c_chain(header, root_pem)))
    payload = json.loads(jws.deserialize_compact(token, key, registry=_REGISTRY).payload)
    listed = payload["status_list"]
    assert listed["bits"] == 2
    entries = zlib.decompress(unb64url(listed["lst"]))
    byte, shift = divmod(index * 2, 8)
    return (entries[byte] >> shift) & 0b11


def _pem(public: ec.EllipticCurvePublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwks_key(jwks: dict[str, Any], kid: str) -> Any:
    """The issuer key named ``kid`` in a published JWKS, as a joserfc key."""
    (found,) = [key for key in jwks["keys"] if key["kid"] == kid]
    return ECKey.import_key(found)


def present(issued: str, keep: list[int]) -> str:
    """The SD-JWT with only the disclosures at the given positions (what a holder shows)."""
    parts = issued.split("~")
    kept = [parts[1:-1][i] for i in keep]
    return "~".join([parts[0], *kept, ""])


def tamper(issued: str, index: int) -> str:
    """The issuance with one disclosure's value changed (its digest no longer matches)."""
    parts = issued.split("~")
    salt, *rest = json.loads(unb64url(parts[1 + index]))
    rest[-1] = "Mario" if rest[-1] != "Mario" else "Luigi"
    parts[1 + index] = b64url(json.dumps([salt, *rest]).encode())
    return "~".join(parts)


def disclosure_positions(issued: str) -> tuple[list[int], dict[str, int]]:
    """Which disclosure of an issuance is which: the competences' (array elements) positions,
    and each named claim's position."""
    decoded = [json.loads(unb64url(d)) for d in issued.split("~")[1:-1]]
    competences = [i for i, d in enumerate(decoded) if len(d) == 2]
    names = {d[1]: i for i, d in enumerate(decoded) if len(d) == 3}
    return competences, names


def read_request(link: str, fetch: Callable[[str], str], root_pem: str) -> dict[str, Any]:
    """An ``openid4vp://`` request by reference, as a wallet reads it: the link holds only
    ``client_id`` and ``request_uri``; the request object fetched there (``fetch``) has its
    signature checked through ``x5c`` up to Attesta's root (given by the test), and the
    certificate's DNS name must be the ``x509_san_dns:`` client identifier's host and the
    response address's. Its claims (the DCQL query an object)."""
    parts = urlsplit(link.replace("&amp;", "&"))
    assert parts.scheme == "openid4vp"
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert set(query) == {"client_id", "request_uri"}
    token = fetch(query["request_uri"])
    header = json.loads(unb64url(token.split(".")[0]))
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256"
    key = ECKey.import_key(_pem(x5c_chain(header, root_pem)))
    claims: dict[str, Any] = json.loads(
        jws.deserialize_compact(token, key, registry=_REGISTRY).payload
    )
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    prefix, _, host = query["client_id"].partition(":")
    assert prefix == "x509_san_dns" and host in names.get_values_for_type(x509.DNSName)
    assert claims["client_id"] == query["client_id"]
    assert urlsplit(claims["response_uri"]).hostname == host
    assert claims["aud"] == "https://self-issued.me/v2"
    return claims
