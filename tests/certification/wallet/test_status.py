"""The Token Status List: one state with the Bitstring Status Lists, so a revocation,
suspension or reinstatement shows in both."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from certification.certificates import credentials
from certification.certificates.lifecycle import (
    reinstate_certificate,
    revoke_certificate,
    suspend_certificate,
)
from certification.certificates.status_lists import status_list
from certification.keys.material import NoActiveKey, active_key
from certification.models import KeyPurpose, Organisation, StatusPurpose
from certification.people.roles import Role
from certification.wallet.credential import issue_credential
from certification.wallet.offers import CONFIGURATION_ID, create_offer, new_nonce, redeem_code
from certification.wallet.status import INVALID, SUSPENDED, VALID, status_list_token
from tests.support.certificates import PASS
from tests.support.clock import NOW
from tests.support.factories import make_account
from tests.support.wallet import TestWallet, open_sd_jwt, token_status, wallet_certificate

ISSUER = "https://attesta.test"


def _bits(db: Session, certificate: Any, purpose: StatusPurpose) -> bool:
    """The certificate's bit in the ente's W3C Bitstring Status List for ``purpose``."""
    listed = status_list(db, certificate.organisation_id, purpose, create=False)
    return credentials.get_bit(listed.bitstring, certificate.status_index)


def test_status_follows_the_certificate_in_both_lists(db: Session) -> None:
    certificate, holder = wallet_certificate(db, PASS)
    made = create_offer(db, holder, certificate, NOW)
    offer, _token = redeem_code(db, made.pre_authorized_code, made.pin, NOW)
    wallet = TestWallet()
    body = {
        "credential_configuration_id": CONFIGURATION_ID,
        "proofs": {"jwt": [wallet.proof(ISSUER, new_nonce(db, NOW), NOW)]},
    }
    issued = issue_credential(db, offer, body, ISSUER, PASS, NOW)
    root = active_key(db, None, KeyPurpose.ROOT_CA).certificate_pem or ""
    signing = active_key(db, certificate.organisation_id, KeyPurpose.WALLET_CREDENTIAL)
    _header, claims = open_sd_jwt(issued, ECKey.import_key(signing.public_key_pem))
    reference = claims["status"]["status_list"]
    assert reference == {
        "idx": certificate.status_index,
        "uri": f"{ISSUER}/wallet/status/{certificate.organisation_id}",
    }

    def status() -> int:
        token = status_list_token(db, certificate.organisation_id, ISSUER, PASS, NOW)
        return token_status(token, reference["idx"], root)

    assert status() == VALID
    signatory = make_account(
        db, roles=(Role.SIGNATORY,), organisation=db.get(Organisation, certificate.organisation_id)
    )
    suspend_certificate(db, signatory, certificate, "fraud_report", "Segnalazione.", NOW)
    assert status() == SUSPENDED and _bits(db, certificate, StatusPurpose.SUSPENSION)
    reinstate_certificate(db, signatory, certificate, "Verifica conclusa.", NOW)
    assert status() == VALID and not _bits(db, certificate, StatusPurpose.SUSPENSION)
    revoke_certificate(db, signatory, certificate, "identity", "Identità errata.", NOW)
    assert status() == INVALID and _bits(db, certificate, StatusPurpose.REVOCATION)
    # Other entries stay valid.
    token = status_list_token(db, certificate.organisation_id, ISSUER, PASS, NOW)
    assert token_status(token, reference["idx"] + 1, root) == VALID


def test_an_ente_that_never_issued_to_a_wallet_has_no_list(db: Session) -> None:
    certificate, _holder = wallet_certificate(db, PASS)
    with pytest.raises(NoActiveKey):
        status_list_token(db, certificate.organisation_id, ISSUER, PASS, NOW)
