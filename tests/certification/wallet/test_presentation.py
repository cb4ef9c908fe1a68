"""Checking a wallet's presentation: two of five competences shown, only those two seen; then
revoked; and every way a presentation can be bad."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from certification.certificates.lifecycle import revoke_certificate, suspend_certificate
from certification.models import Organisation
from certification.people.roles import Role
from certification.wallet.credential import issue_credential
from certification.wallet.offers import (
    CONFIGURATION_ID,
    WalletProtocolError,
    create_offer,
    new_nonce,
    redeem_code,
)
from certification.wallet.presentation import verify_presentation
from tests.support.certificates import PASS
from tests.support.clock import NOW
from tests.support.factories import make_account
from tests.support.wallet import (
    TestWallet,
    b64url,
    present,
    tamper,
    unb64url,
    wallet_certificate,
)

ISSUER = "https://attesta.test"
VERIFIER = "https://employer.example/verify"
NONCE = "employer-nonce-1"


@pytest.fixture
def held(db: Session) -> dict[str, Any]:
    """A certificate in the test wallet: the issuance and which disclosure is which."""
    certificate, holder = wallet_certificate(db, PASS)
    made = create_offer(db, holder, certificate, NOW)
    offer, _token = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    wallet = TestWallet()
    body = {
        "credential_configuration_id": CONFIGURATION_ID,
        "proofs": {"jwt": [wallet.proof(ISSUER, new_nonce(db, NOW), NOW)]},
    }
    issued = issue_credential(db, offer, body, ISSUER, PASS, NOW)
    disclosures = [json.loads(unb64url(d)) for d in issued.split("~")[1:-1]]
    competences = [i for i, d in enumerate(disclosures) if len(d) == 2]
    names = {d[1]: i for i, d in enumerate(disclosures) if len(d) == 3}
    return {
        "certificate": certificate,
        "wallet": wallet,
        "issued": issued,
        "competences": competences,
        "names": names,
    }


def _check(db: Session, presentation: str, now: dt.datetime = NOW) -> Any:
    return verify_presentation(db, presentation, ISSUER, VERIFIER, NONCE, now)


def _sd_hash(shown: str) -> str:
    return b64url(hashlib.sha256(shown.encode("ascii")).digest())


def _reissued(issued: str, attack: str) -> str:
    """The credential with the same claims and disclosures, its issuer JWT signed by someone
    else: another key under Attesta's kid (forged), another key naming its own kid (unknown),
    or no one (``alg: none``)."""
    token, *rest = issued.split("~")
    header = json.loads(unb64url(token.split(".")[0]))
    claims = json.loads(unb64url(token.split(".")[1]))
    other = ECKey.generate_key("P-256")
    if attack == "issuer_alg_none":
        none = {**header, "alg": "none"}
        token = f"{b64url(json.dumps(none).encode())}.{b64url(json.dumps(claims).encode())}."
    else:
        kid = header["kid"] if attack == "issuer_signature_forged" else other.thumbprint()
        token = jwt.encode({**header, "kid": kid}, claims, other)
    return "~".join([token, *rest])


def _signatory(db: Session, certificate: Any) -> Any:
    ente = db.get(Organisation, certificate.organisation_id)
    return make_account(db, roles=(Role.SIGNATORY,), organisation=ente)


def test_two_of_five_competences_then_revoked(db: Session, held: dict[str, Any]) -> None:
    wallet: TestWallet = held["wallet"]
    keep = [*held["competences"][1:3], held["names"]["family_name"]]
    shown = wallet.presentation(held["issued"], keep, VERIFIER, NONCE, NOW)
    checked = _check(db, shown)
    assert (checked.status, checked.validity) == ("valid", "valid")
    assert [c["code"] for c in checked.claims["competences"]] == ["DEMO-C02", "DEMO-C03"]
    assert checked.claims["family_name"] == "Rossi"
    assert not {"given_name", "birthdate", "certificate_number", "ente"} & set(checked.claims)

    signatory = _signatory(db, held["certificate"])
    suspend_certificate(db, signatory, held["certificate"], "fraud_report", "Segnalazione.", NOW)
    assert _check(db, shown).status == "suspended"
    revoke_certificate(db, signatory, held["certificate"], "identity", "Identità.", NOW)
    revoked = _check(db, shown)
    assert revoked.status == "revoked" and revoked.claims["family_name"] == "Rossi"


def test_validity_is_its_own_verdict(db: Session, held: dict[str, Any]) -> None:
    wallet: TestWallet = held["wallet"]
    later = dt.datetime(2032, 1, 1, tzinfo=dt.UTC)  # after the certificate's expiry
    shown = wallet.presentation(held["issued"], [], VERIFIER, NONCE, later)
    checked = _check(db, shown, later)
    assert (checked.status, checked.validity) == ("valid", "expired")


@pytest.mark.parametrize(
    "attack",
    [
        "old_nonce",
        "other_audience",
        "stale",
        "no_key_binding",
        "tampered",
        "other_holder_key",
        "added_disclosure",
        "garbage",
        "kb_iat_no_time",
        "disclosure_not_json",
        "disclosure_an_object",
        "issuer_signature_forged",
        "issuer_key_unknown",
        "issuer_alg_none",
    ],
)
def test_bad_presentations_are_refused(db: Session, held: dict[str, Any], attack: str) -> None:
    wallet: TestWallet = held["wallet"]
    issued, keep = held["issued"], held["competences"][:2]
    if attack == "old_nonce":
        shown = wallet.presentation(issued, keep, VERIFIER, "an-earlier-nonce", NOW)
    elif attack == "other_audience":
        shown = wallet.presentation(issued, keep, "https://elsewhere.example", NONCE, NOW)
    elif attack == "stale":
        shown = wallet.presentation(issued, keep, VERIFIER, NONCE, NOW - dt.timedelta(hours=1))
    elif attack == "no_key_binding":
        shown = "~".join([*issued.split("~")[:-1], ""])
    elif attack == "tampered":
        # The holder changes a disclosed value and signs sd_hash over the changed presentation.
        changed = tamper(issued, held["names"]["given_name"])
        index = held["names"]["given_name"]
        shown = wallet.presentation(changed, [index], VERIFIER, NONCE, NOW)
    elif attack == "other_holder_key":
        shown = TestWallet().presentation(issued, keep, VERIFIER, NONCE, NOW)
    elif attack == "added_disclosure":
        extra = issued.split("~")[1 + keep[0]]
        shown = wallet.presentation(issued, keep, VERIFIER, NONCE, NOW)
        token, *rest = shown.split("~")
        shown = "~".join([token, extra, *rest])  # sd_hash no longer covers it
    elif attack == "kb_iat_no_time":
        base = present(issued, keep)
        claims = {"aud": VERIFIER, "nonce": NONCE, "iat": 10**30, "sd_hash": _sd_hash(base)}
        shown = base + jwt.encode({"alg": "ES256", "typ": "kb+jwt"}, claims, wallet.key)
    elif attack in ("disclosure_not_json", "disclosure_an_object"):
        odd = "!!!" if attack == "disclosure_not_json" else b64url(b'{"a": 1}')
        base = "~".join([issued.split("~")[0], odd, ""])
        claims = {"aud": VERIFIER, "nonce": NONCE, "iat": int(NOW.timestamp())}
        claims["sd_hash"] = _sd_hash(base)
        shown = base + jwt.encode({"alg": "ES256", "typ": "kb+jwt"}, claims, wallet.key)
    elif attack.startswith("issuer_"):
        shown = wallet.presentation(_reissued(issued, attack), keep, VERIFIER, NONCE, NOW)
    else:
        shown = "not~a~presentation"
    with pytest.raises(WalletProtocolError) as caught:
        _check(db, shown)
    assert caught.value.error == "invalid_presentation"
