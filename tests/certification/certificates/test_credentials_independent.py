"""Our credentials verify in an independent implementation: digitalbazaar's verifier
(tools/vc-verify, Node), offline, with the issuer profile and status lists given as files.

Needs ``npm ci`` in tools/vc-verify; without it these tests skip, unless
``ATTESTA_REQUIRE_TOOLS=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certification.certificates import credentials as C
from certification.keys.material import credential_key_relationships, key_id
from certification.models import SigningKey
from tests.support.credentials import (
    CREATED,
    ISSUER_ID,
    PROFILE_CONTEXT,
    STATUS_INDEX,
    issuer_key,
    issuer_profile,
    method_of,
    ob_credential,
    run_verifier,
    verifier_command,
)


@pytest.fixture(scope="module")
def verifier() -> list[str]:
    return verifier_command()


def _signed() -> dict[str, Any]:
    return C.sign_credential(ob_credential(), issuer_key(), method_of(issuer_key()), CREATED)


@pytest.mark.slow
def test_our_credential_and_status_lists_verify(verifier: list[str], tmp_path: Path) -> None:
    credential = _signed()
    # Neighbours of our index set: the verifier must read exactly our bit.
    code, result = run_verifier(
        verifier, tmp_path, credential, revoked=(STATUS_INDEX - 1, STATUS_INDEX + 1)
    )
    assert (code, result["verified"], result["errors"]) == (0, True, [])
    assert sorted((s["purpose"], s["index"], s["set"]) for s in result["statuses"]) == [
        ("revocation", STATUS_INDEX, False),
        ("suspension", STATUS_INDEX, False),
    ]


@pytest.mark.slow
def test_a_revoked_credential_is_reported_set(verifier: list[str], tmp_path: Path) -> None:
    credential = _signed()
    code, result = run_verifier(verifier, tmp_path, credential, revoked=(STATUS_INDEX,))
    assert (code, result["verified"]) == (1, True)  # the proof holds; the status says revoked
    assert {s["purpose"]: s["set"] for s in result["statuses"]} == {
        "revocation": True,
        "suspension": False,
    }


def _tampered() -> dict[str, Any]:
    credential = _signed()
    credential["credentialSubject"]["achievement"]["name"] = "Dirigere un'azienda"
    return credential


def _signed_by_unlisted_key() -> dict[str, Any]:
    # A key in the profile's verificationMethod but not in assertionMethod (as the app
    # publishes a compromised key): it must not verify.
    other = issuer_key(seed=2)
    return C.sign_credential(ob_credential(), other, method_of(other), CREATED)


def _profile_listing_both_asserting_one() -> dict[str, Any]:
    profile = issuer_profile(issuer_key(), issuer_key(seed=2))
    profile["assertionMethod"] = [method_of(issuer_key())]
    return profile


def _profile_as_served_today() -> dict[str, Any]:
    # app/keys `issuer` without the DID v1 and Multikey contexts: refused in safe mode.
    return {**issuer_profile(issuer_key()), "@context": [C.VC_V2, C.OB_V3P0]}


@pytest.mark.parametrize(
    ("make_credential", "make_profile", "expected_error"),
    [
        pytest.param(_tampered, None, "Invalid signature.", id="tampered"),
        pytest.param(
            _signed_by_unlisted_key,
            _profile_listing_both_asserting_one,
            "not authorized",
            id="key-not-in-assertionMethod",
        ),
        pytest.param(
            _signed, _profile_as_served_today, "invalid property", id="profile-missing-contexts"
        ),
    ],
)
def test_the_node_verifier_refuses(
    verifier: list[str],
    tmp_path: Path,
    make_credential: Any,
    make_profile: Any,
    expected_error: str,
) -> None:
    profile = make_profile() if make_profile else None
    code, result = run_verifier(verifier, tmp_path, make_credential(), profile)
    assert (code, result["verified"]) == (1, False)
    assert any(expected_error in message for message in result["errors"]), result["errors"]


@pytest.mark.slow
def test_a_random_key_verifies_too(verifier: list[str], tmp_path: Path) -> None:
    # Beyond the fixed test seeds: any Ed25519 key the app generates, with its Multikey.
    key = Ed25519PrivateKey.generate()
    credential = C.sign_credential(ob_credential(), key, method_of(key), CREATED)
    code, result = run_verifier(verifier, tmp_path, credential, key=key)
    assert (code, result["verified"], result["errors"]) == (0, True, [])


# --- keys with lifetimes: what the published profile makes of retired and compromised keys ---

ACTIVATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RETIRED = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)  # the old key's rotation
COMPROMISED = dt.datetime(2026, 11, 12, tzinfo=dt.UTC)  # a third key reported stolen
BEFORE = CREATED  # 2026-11-02: before both
AFTER = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)  # after both, before the verifier's NOW


def _stored(key: Ed25519PrivateKey, **lifetime: dt.datetime) -> SigningKey:
    """The register's row of ``key`` (public part only), with its lifetime."""
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(
        kid=key_id(key.public_key()),
        public_key_pem=pem.decode(),
        activated_at=ACTIVATED,
        **lifetime,
    )


RETIRED_KEY, ACTIVE_KEY, STOLEN_KEY = issuer_key(3), issuer_key(4), issuer_key(5)


def _published_profile() -> dict[str, Any]:
    """The issuer profile as app/keys serves it, its keys from the register's rows:
    certification.keys.material.credential_key_relationships, the function the app uses."""
    keys = [
        _stored(RETIRED_KEY, retired_at=RETIRED),
        _stored(STOLEN_KEY, retired_at=COMPROMISED, compromised_at=COMPROMISED),
        _stored(ACTIVE_KEY),
    ]
    return {
        **issuer_profile(ACTIVE_KEY),
        "@context": PROFILE_CONTEXT,
        **credential_key_relationships(keys, ISSUER_ID),
    }


def test_the_profile_gives_each_key_its_lifetime() -> None:
    profile = _published_profile()
    by_key = {m["id"]: m for m in profile["verificationMethod"]}
    assert by_key[method_of(RETIRED_KEY)]["expires"] == "2026-11-10T00:00:00Z"
    assert "revoked" not in by_key[method_of(RETIRED_KEY)]
    assert by_key[method_of(STOLEN_KEY)]["revoked"] == "2026-11-12T00:00:00Z"
    assert not {"expires", "revoked"} & set(by_key[method_of(ACTIVE_KEY)])
    # Every key stays resolvable; the stolen one asserts nothing any more.
    assert profile["assertionMethod"] == [method_of(RETIRED_KEY), method_of(ACTIVE_KEY)]


def _signed_by(key: Ed25519PrivateKey, created: dt.datetime) -> dict[str, Any]:
    # validFrom stays 2026-11-02 (back-dated when signed later); `created` is the signing
    # time digitalbazaar's own signer would write (a forger may back-date it too).
    return C.sign_credential(ob_credential(), key, method_of(key), created)


def _tampered_by(key: Ed25519PrivateKey, created: dt.datetime) -> dict[str, Any]:
    credential = _signed_by(key, created)
    credential["credentialSubject"]["achievement"]["name"] = "Dirigere un'azienda"
    return credential


# (credential, plain digitalbazaar verifier, with --key-validity): None = verified, else a
# fragment of the error. digitalbazaar's libraries ignore `expires` and `revoked`; they only
# ask whether the profile lists the key under assertionMethod.
KEY_LIFETIMES: dict[str, tuple[Any, str | None, str | None]] = {
    "active key": (lambda: _signed_by(ACTIVE_KEY, BEFORE), None, None),
    "retired key, signed before its retirement": (
        lambda: _signed_by(RETIRED_KEY, BEFORE),
        None,
        None,
    ),
    "retired key, signed after its retirement, validFrom back-dated": (
        lambda: _signed_by(RETIRED_KEY, AFTER),
        None,  # digitalbazaar reads no `expires`: accepted
        "The verification method expired at 2026-11-10T00:00:00Z",
    ),
    "retired key, signed after its retirement, proof's created back-dated too": (
        lambda: _signed_by(RETIRED_KEY, BEFORE + dt.timedelta(days=3)),
        None,  # indistinguishable offline from a genuine one: only the register knows
        None,
    ),
    "stolen key, signed before the compromise": (
        lambda: _signed_by(STOLEN_KEY, BEFORE),
        "not authorized",  # the signature checks against the published key; not its use
        "not authorized",
    ),
    "stolen key, forged after the compromise": (
        lambda: _signed_by(STOLEN_KEY, AFTER),
        "not authorized",
        "not authorized",
    ),
    "stolen key, a changed credential": (
        lambda: _tampered_by(STOLEN_KEY, BEFORE),
        "Invalid signature.",  # the key resolves and the signature is checked first
        "Invalid signature.",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(KEY_LIFETIMES))
def test_key_lifetimes_in_the_node_verifier(verifier: list[str], tmp_path: Path, case: str) -> None:
    make, plain, with_validity = KEY_LIFETIMES[case]
    credential = make()
    for extra, expected in (((), plain), (("--key-validity",), with_validity)):
        code, result = run_verifier(
            verifier, tmp_path, credential, _published_profile(), key=ACTIVE_KEY, extra=extra
        )
        if expected is None:
            assert (code, result["verified"], result["errors"]) == (0, True, []), (extra, result)
        else:
            assert (code, result["verified"]) == (1, False), (extra, result)
            assert any(expected in m for m in result["errors"]), (extra, result["errors"])
