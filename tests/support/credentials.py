"""Verifiable Credentials in tests: a fixed issuer key and profile, a realistic Open Badges
3.0 credential, and digitalbazaar's verifier (Node) run on them.

Shared by the credential tests, which check them with our code, and the independent ones,
which check them with the Node verifier.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certification.certificates import credentials as C
from certification.keys.material import key_id, multikey
from certification.models import SigningKey

BASE_URL = "https://attesta.example"
ORGANISATION_ID = "3f0c6a52-7a51-4a8c-9a38-6f0d0c1b2a11"
ISSUER_ID = f"{BASE_URL}/issuers/{ORGANISATION_ID}.json"
REVOCATION_LIST = f"{BASE_URL}/status/revocation/1"
SUSPENSION_LIST = f"{BASE_URL}/status/suspension/1"
STATUS_INDEX = 4242
CREATED = dt.datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
# The issuer profile must add these two contexts to what app/keys `issuer` serves: DID v1
# defines verificationMethod/assertionMethod, Multikey its keys (see the contexts README).
PROFILE_CONTEXT = [C.VC_V2, C.OB_V3P0, C.DID_V1, C.MULTIKEY_V1]


def issuer_key(seed: int = 1) -> Ed25519PrivateKey:
    """A fixed key, so that failures reproduce."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def method_of(key: Ed25519PrivateKey) -> str:
    """``{issuer profile}#{kid}``, the kid being the one certification.keys computes."""
    return f"{ISSUER_ID}#{key_id(key.public_key())}"


def resolver(*keys: Ed25519PrivateKey) -> Callable[[str], Ed25519PublicKey | None]:
    """What the app's key registry does: the public key of one of ours, else None."""
    known = {method_of(key): key.public_key() for key in keys}
    return known.get


def issuer_profile(*keys: Ed25519PrivateKey) -> dict[str, Any]:
    """The shape app/keys `issuer` serves (with the contexts above), Multikeys included."""
    methods = []
    for key in keys:
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        methods.append(
            {
                "id": method_of(key),
                "type": "Multikey",
                "controller": ISSUER_ID,
                "publicKeyMultibase": multikey(SigningKey(public_key_pem=pem.decode())),
            }
        )
    return {
        "@context": PROFILE_CONTEXT,
        "id": ISSUER_ID,
        "type": ["Profile"],
        "name": "Consorzio Mestieri Lombardia",
        "url": "https://mestieri.example",
        "address": {"type": ["Address"], "addressCountry": "IT", "addressLocality": "Milano"},
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def ob_credential() -> dict[str, Any]:
    """A realistic Open Badges 3.0 competence credential, unsigned."""
    achievement_url = f"{BASE_URL}/standards/DEMO-LOMBARDIA/1.0/DEMO-P01/C01"
    return {
        "@context": [C.VC_V2, C.OB_V3P0],
        "id": "urn:uuid:7d6c5e2a-1f3b-4c8d-9e0f-a1b2c3d4e5f6",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": ISSUER_ID,
            "type": ["Profile"],
            "name": "Consorzio Mestieri Lombardia",
            "url": "https://mestieri.example",
        },
        "validFrom": "2026-11-02T09:30:00Z",
        "name": "Competenza certificata: animare una comunità di co-working",
        "description": "Certificazione IVC (D.Lgs. 13/2013)\tRegione Lombardia — «esito pieno».",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "creditsEarned": 2.5,  # a JSON number: canonical xsd:float form must agree
            "activityStartDate": "2026-03-01",
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$" + hashlib.sha256(b"RSSGLI02A41F205Xsalt").hexdigest(),
                    "identityType": "identifier",
                    "hashed": True,
                    "salt": "salt",
                }
            ],
            "achievement": {
                "id": achievement_url,
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": "Animare una comunità di co-working",
                "description": "Progettare e condurre attività che fanno crescere la comunità.",
                "criteria": {"narrative": "Valutazione del dossier e colloquio tecnico."},
                "inLanguage": "it",
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "DEMO-P01 C01 — Animazione di comunità",
                        "targetUrl": achievement_url,
                        "targetFramework": "DEMO-LOMBARDIA 1.0 (QRSP illustrativo)",
                        "targetCode": "DEMO-P01-C01",
                        "targetType": "CFItem",
                    }
                ],
                "resultDescription": [
                    {
                        "id": f"{achievement_url}#result",
                        "type": ["ResultDescription"],
                        "name": "Esito della validazione",
                        "resultType": "Status",
                    }
                ],
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": f"{achievement_url}#result",
                    "status": "Completed",
                }
            ],
        },
        "credentialStatus": [
            C.status_entry(REVOCATION_LIST, "revocation", STATUS_INDEX),
            C.status_entry(SUSPENSION_LIST, "suspension", STATUS_INDEX),
        ],
        "evidence": [
            {
                "id": f"{BASE_URL}/cases/2026-000123/evidence/1",
                "type": ["Evidence"],
                "name": "Verbale della commissione",
                "narrative": "Colloquio tecnico del 28 ottobre 2026, esito pieno.",
                "genre": "Verbale",
            }
        ],
    }


def signed_credential(key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    key = key or issuer_key()
    return C.sign_credential(ob_credential(), key, method_of(key), CREATED)


#: digitalbazaar's VC verifier, run with Node (make verifier installs it).
TOOL = Path(__file__).resolve().parents[2] / "tools" / "vc-verify"
#: The verifier's "now": fixed, so validFrom checks do not depend on the clock.
VERIFIER_NOW = "2026-11-21T12:00:00Z"


def verifier_command() -> list[str]:
    """The command that runs the Node verifier; skip (or fail, when required) without it."""
    node = shutil.which("node")
    if node is None or not (TOOL / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        reason = "the Node verifier is not installed (npm ci --prefix tools/vc-verify)"
        if os.environ.get("ATTESTA_REQUIRE_TOOLS") == "1" or os.environ.get("CI") == "true":
            pytest.fail(f"ATTESTA_REQUIRE_TOOLS=1 but {reason}")
        pytest.skip(reason)
    return [node, str(TOOL / "verify.mjs")]


def status_list(
    key: Ed25519PrivateKey, url: str, purpose: str, set_indexes: tuple[int, ...] = ()
) -> dict[str, Any]:
    bits = bytearray(C.STATUS_LIST_BITS // 8)
    for index in set_indexes:
        C.set_bit(bits, index, True)
    unsigned = C.status_list_credential(url, ISSUER_ID, purpose, bytes(bits), CREATED)
    return C.sign_credential(unsigned, key, method_of(key), CREATED)


def run_verifier(
    verifier: list[str],
    tmp_path: Path,
    credential: dict[str, Any],
    profile: dict[str, Any] | None = None,
    revoked: tuple[int, ...] = (),
    key: Ed25519PrivateKey | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]]:
    """Exit code and JSON output of the Node verifier; ``key`` signs the status lists."""
    key = key or issuer_key()
    documents = {
        ISSUER_ID: profile or issuer_profile(key),
        REVOCATION_LIST: status_list(key, REVOCATION_LIST, "revocation", revoked),
        SUSPENSION_LIST: status_list(key, SUSPENSION_LIST, "suspension"),
    }
    arguments = [*verifier, str(write_json(tmp_path / "credential.json", credential))]
    for number, (url, document) in enumerate(documents.items()):
        arguments += ["--doc", f"{url}={write_json(tmp_path / f'doc{number}.json', document)}"]
    done = subprocess.run(
        [*arguments, "--status", *extra, "--now", VERIFIER_NOW],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
