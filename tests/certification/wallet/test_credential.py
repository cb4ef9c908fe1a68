"""The SD-JWT VC and the key proof, checked by the test wallet on another JOSE library."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.keys.material import active_key
from certification.models import KeyPurpose, WalletIssuance
from certification.wallet.credential import issue_credential, vct
from certification.wallet.metadata import issuer_keys
from certification.wallet.offers import (
    CONFIGURATION_ID,
    WalletProtocolError,
    create_offer,
    new_nonce,
    redeem_code,
)
from tests.support.certificates import PASS
from tests.support.clock import NOW
from tests.support.wallet import (
    TestWallet,
    jwks_key,
    open_sd_jwt,
    present,
    tamper,
    unb64url,
    wallet_certificate,
    x5c_chain,
)

ISSUER = "https://attesta.test"


@pytest.fixture
def ready(db: Session) -> dict[str, Any]:
    """A certificate, an offer redeemed for its token, a nonce and a wallet."""
    certificate, holder = wallet_certificate(db, PASS)
    made = create_offer(db, holder, certificate, NOW)
    offer, _token = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    return {
        "certificate": certificate,
        "offer": offer,
        "nonce": new_nonce(db, NOW),
        "wallet": TestWallet(),
    }


def _request(proof: str) -> dict[str, Any]:
    return {"credential_configuration_id": CONFIGURATION_ID, "proofs": {"jwt": [proof]}}


def _issue(db: Session, ready: dict[str, Any], proof: str, now: dt.datetime = NOW) -> str:
    return issue_credential(db, ready["offer"], _request(proof), ISSUER, PASS, now)


def test_the_wallet_gets_a_bound_sd_jwt_vc_it_can_check(db: Session, ready: dict) -> None:
    wallet: TestWallet = ready["wallet"]
    issued = _issue(db, ready, wallet.proof(ISSUER, ready["nonce"], NOW))

    root = active_key(db, None, KeyPurpose.ROOT_CA)
    header, claims = open_sd_jwt(issued, _joserfc(x5c_from(issued), root.certificate_pem))
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    # The key is the ente's wallet key, published in the JWKS too.
    signing = active_key(db, ready["certificate"].organisation_id, KeyPurpose.WALLET_CREDENTIAL)
    assert header["kid"] == signing.kid
    open_sd_jwt(issued, jwks_key(issuer_keys(db, ISSUER)["jwks"], header["kid"]))

    assert claims["iss"] == ISSUER and claims["vct"] == vct(ISSUER)
    assert claims["cnf"]["jwk"] == wallet.public_jwk()
    assert claims["nbf"] == int(NOW.timestamp())
    assert claims["exp"] > claims["iat"]
    assert claims["given_name"] == "Giulia" and claims["family_name"] == "Rossi"
    assert claims["birthdate"] == "1990-01-01"
    assert claims["certificate_number"] == "LOM-2026-000042"
    assert claims["ente"]["name"] == "Ente Formazione S.r.l."
    assert claims["profile"]["code"] == "DEMO-P01" and claims["profile"]["eqf_level"] == 4
    assert claims["partial"] is True
    assert claims["issuance_date"] == "2026-11-02" and claims["expiry_date"] == "2031-11-01"
    assert [c["code"] for c in claims["competences"]] == [
        "DEMO-C01",
        "DEMO-C02",
        "DEMO-C03",
        "DEMO-C04",
        "DEMO-C05",
    ]
    assert claims["competences"][0]["level_reached"] == {
        "code": "B",
        "label_it": "Buono",
        "label_en": "Good",
    }
    assert "codice_fiscale" not in str(claims) and "RSSGLI" not in issued

    taken = db.scalars(select(WalletIssuance)).one()
    assert taken.wallet == "https://wallet.example/app"
    assert taken.key_thumbprint == wallet.key.thumbprint()


def test_only_iss_vct_validity_status_and_cnf_are_in_the_clear(db: Session, ready: dict) -> None:
    wallet: TestWallet = ready["wallet"]
    issued = _issue(db, ready, wallet.proof(ISSUER, ready["nonce"], NOW))
    root = active_key(db, None, KeyPurpose.ROOT_CA)
    # Nothing disclosed: what a verifier sees of the bare SD-JWT.
    _header, bare = open_sd_jwt(
        present(issued, []), _joserfc(x5c_from(issued), root.certificate_pem)
    )
    assert set(bare) == {"iss", "vct", "iat", "nbf", "exp", "status", "cnf", "competences"}
    assert bare["competences"] == []
    # Two of five competences shown, nothing else.
    disclosures = issued.split("~")[1:-1]
    competences = [i for i, d in enumerate(disclosures) if _is_element(d)]
    _header, some = open_sd_jwt(
        present(issued, competences[1:3]), _joserfc(x5c_from(issued), root.certificate_pem)
    )
    assert [c["code"] for c in some["competences"]] == ["DEMO-C02", "DEMO-C03"]
    assert "given_name" not in some


def test_a_tampered_disclosure_matches_no_digest(db: Session, ready: dict) -> None:
    wallet: TestWallet = ready["wallet"]
    issued = _issue(db, ready, wallet.proof(ISSUER, ready["nonce"], NOW))
    root = active_key(db, None, KeyPurpose.ROOT_CA)
    key = _joserfc(x5c_from(issued), root.certificate_pem)
    with pytest.raises(AssertionError, match="matches no digest"):
        open_sd_jwt(tamper(issued, 0), key)


@pytest.mark.parametrize(
    "attack",
    ["alg_none", "hs256", "private_jwk", "other_audience", "old", "future", "not_a_jwt", "typ"],
)
def test_bad_key_proofs_are_refused(db: Session, ready: dict, attack: str) -> None:
    wallet: TestWallet = ready["wallet"]
    nonce = ready["nonce"]
    proof = {
        "alg_none": lambda: wallet.unsigned_proof(ISSUER, nonce, NOW),
        "hs256": lambda: wallet.hmac_proof(ISSUER, nonce, NOW),
        "private_jwk": lambda: wallet.private_jwk_proof(ISSUER, nonce, NOW),
        "other_audience": lambda: wallet.proof("https://elsewhere.test", nonce, NOW),
        "old": lambda: wallet.proof(ISSUER, nonce, NOW - dt.timedelta(minutes=6)),
        "future": lambda: wallet.proof(ISSUER, nonce, NOW + dt.timedelta(minutes=5)),
        "not_a_jwt": lambda: "garbage",
        "typ": lambda: wallet.proof(ISSUER, nonce, NOW, header={"typ": "JWT"}),
    }[attack]()
    with pytest.raises(WalletProtocolError) as caught:
        _issue(db, ready, proof)
    assert caught.value.error == "invalid_proof"
    assert db.scalars(select(WalletIssuance)).first() is None


@pytest.mark.parametrize("iat", [10**30, -1e300, "1", True, None])
def test_a_proof_whose_iat_is_no_time_is_refused(db: Session, ready: dict, iat: Any) -> None:
    wallet: TestWallet = ready["wallet"]
    header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": wallet.public_jwk()}
    claims = {"aud": ISSUER, "iat": iat, "nonce": ready["nonce"]}
    with pytest.raises(WalletProtocolError) as caught:
        _issue(db, ready, jwt.encode(header, claims, wallet.key))
    assert caught.value.error == "invalid_proof"


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(db: Session, ready: dict) -> None:
    wallet: TestWallet = ready["wallet"]
    other = ECKey.generate_key("P-256")
    with pytest.raises(WalletProtocolError, match="signature"):
        _issue(db, ready, wallet.proof(ISSUER, ready["nonce"], NOW, key=other))


@pytest.mark.parametrize("nonce", [None, "never-given"])
def test_a_proof_without_a_good_nonce_is_refused(db: Session, ready: dict, nonce: Any) -> None:
    wallet: TestWallet = ready["wallet"]
    with pytest.raises(WalletProtocolError) as caught:
        _issue(db, ready, wallet.proof(ISSUER, nonce, NOW))
    assert caught.value.error == "invalid_nonce"


def test_a_reused_nonce_is_refused(db: Session, ready: dict) -> None:
    wallet: TestWallet = ready["wallet"]
    _issue(db, ready, wallet.proof(ISSUER, ready["nonce"], NOW))
    certificate = ready["certificate"]
    made = create_offer(db, ready["offer"].created_by, certificate, NOW)
    ready["offer"], _ = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    with pytest.raises(WalletProtocolError) as caught:
        _issue(db, ready, wallet.proof(ISSUER, ready["nonce"], NOW))
    assert caught.value.error == "invalid_nonce"


def test_requests_for_other_configurations_or_many_proofs(db: Session, ready: dict) -> None:
    wallet: TestWallet = ready["wallet"]
    proof = wallet.proof(ISSUER, ready["nonce"], NOW)
    cases = {
        "unknown_credential_configuration": {"credential_configuration_id": "x"},
        "invalid_credential_request": {
            "credential_configuration_id": CONFIGURATION_ID,
            "proofs": {"jwt": [proof, proof]},
        },
        "invalid_proof": {"credential_configuration_id": CONFIGURATION_ID},
    }
    for error, body in cases.items():
        with pytest.raises(WalletProtocolError) as caught:
            issue_credential(db, ready["offer"], body, ISSUER, PASS, NOW)
        assert caught.value.error == error
    with pytest.raises(WalletProtocolError):
        issue_credential(db, ready["offer"], ["not", "an", "object"], ISSUER, PASS, NOW)


def x5c_from(issued: str) -> dict[str, Any]:
    token = issued.split("~")[0]
    return dict(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")))


def _joserfc(header: dict[str, Any], root_pem: str | None) -> Any:
    """The issuer key the wallet trusts: the x5c leaf, checked against Attesta's root."""
    public = x5c_chain(header, root_pem or "")
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return ECKey.import_key(pem)


def _is_element(disclosure: str) -> bool:
    """An array element's disclosure (salt, value) rather than a claim's (salt, name, value)."""
    return len(json.loads(unb64url(disclosure))) == 2
