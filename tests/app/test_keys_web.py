from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.keys.management import init_keys
from certification.models import KeyPurpose, SigningKey
from certification.people.roles import OrganisationKind
from tests.support.clock import NOW
from tests.support.factories import make_organisation


def _setup(db: Session, app: Flask) -> Any:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    init_keys(db, None, app.config["KEY_PASSPHRASE"].encode(), NOW)
    db.commit()
    return ente


def test_published_keys(app: Flask, client: FlaskClient, db: Session) -> None:
    ente = _setup(db, app)
    index = client.get("/keys/")
    assert index.headers["Cache-Control"] == "public, max-age=300"
    keys = index.get_json()["keys"]
    assert {k["purpose"] for k in keys} >= {"root_ca", "pdf_seal", "credential"}
    assert all("private" not in str(k).lower() for k in keys)
    root = client.get("/keys/root-ca.pem")
    assert (
        x509.load_pem_x509_certificate(root.data)
        .subject.rfc4514_string()
        .startswith("CN=Attesta Root CA")
    )
    seal = next(k for k in keys if k["purpose"] == "pdf_seal" and k["organisation"] == str(ente.id))
    pem = client.get(f"/keys/{seal['kid']}.pem").data
    assert b"BEGIN CERTIFICATE" in pem and b"PRIVATE" not in pem
    profile = client.get(f"/issuers/{ente.id}.json").get_json()
    assert profile["type"] == ["Profile"]
    method = profile["verificationMethod"][0]
    assert method["type"] == "Multikey" and method["publicKeyMultibase"].startswith("z6Mk")
    assert profile["assertionMethod"] == [method["id"]]
    assert client.get("/keys/" + "0" * 64 + ".pem").status_code == 404
    assert client.get("/issuers/00000000-0000-0000-0000-000000000000.json").status_code == 404


def test_keys_cli(app: Flask, db: Session) -> None:
    make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "init"])
    assert result.exit_code == 0 and "created root_ca" in result.output
    assert "All keys exist already." in runner.invoke(args=["keys", "init"]).output
    result = runner.invoke(args=["keys", "rotate", "--org", "CML", "--purpose", "credential"])
    assert result.exit_code == 0 and "new active credential key" in result.output
    listing = runner.invoke(args=["keys", "list"]).output
    assert "retired" in listing and "active" in listing
    wrong = app.test_cli_runner()
    app.config["KEY_PASSPHRASE"] = "not the passphrase"
    result = wrong.invoke(args=["keys", "rotate", "--org", "CML", "--purpose", "pdf_seal"])
    assert result.exit_code == 1 and "does not open the stored keys" in result.output
    result = wrong.invoke(args=["keys", "rotate", "--org", "XYZ", "--purpose", "pdf_seal"])
    assert "no organisation with code 'XYZ'" in result.output


@pytest.mark.slow
def test_retired_and_compromised_keys_keep_their_lifetime_in_public(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    import datetime as dt

    from certification.keys.management import mark_compromised, rotate_key
    from certification.keys.material import active_key
    from certification.models import KeyPurpose

    ente = _setup(db, app)
    passphrase = app.config["KEY_PASSPHRASE"].encode()
    first = active_key(db, ente.id, KeyPurpose.CREDENTIAL)
    retired_at = NOW + dt.timedelta(days=10)
    second = rotate_key(db, None, ente, KeyPurpose.CREDENTIAL, passphrase, retired_at)
    third = rotate_key(
        db, None, ente, KeyPurpose.CREDENTIAL, passphrase, retired_at + dt.timedelta(days=1)
    )
    stolen_at = NOW + dt.timedelta(days=12, hours=3)
    mark_compromised(db, None, second.kid, stolen_at, stolen_at)
    db.commit()
    profile = client.get(f"/issuers/{ente.id}.json").get_json()
    methods = {m["id"].rpartition("#")[2]: m for m in profile["verificationMethod"]}
    assert list(methods) == [first.kid, second.kid, third.kid]  # none removed
    assert methods[first.kid]["expires"] == "2026-11-12T09:30:00Z"
    assert "revoked" not in methods[first.kid]
    assert methods[second.kid]["revoked"] == "2026-11-14T12:30:00Z"
    assert methods[second.kid]["expires"] == "2026-11-13T09:30:00Z"
    assert not {"expires", "revoked"} & set(methods[third.kid])
    ids = {kid: m["id"] for kid, m in methods.items()}
    assert profile["assertionMethod"] == [ids[first.kid], ids[third.kid]]
    listed = {k["kid"]: k for k in client.get("/keys/").get_json()["keys"]}
    entry = listed[second.kid]
    assert entry["activated_at"].startswith("2026-11-12T09:30")
    assert entry["retired_at"].startswith("2026-11-13T09:30")
    assert entry["compromised_at"].startswith("2026-11-14T12:30")
    assert entry["verification_method"] == methods[second.kid]
    assert listed[first.kid]["verification_method"] == methods[first.kid]
    seal = next(k for k in listed.values() if k["purpose"] == "pdf_seal")
    assert seal["verification_method"] is None
    assert client.get(f"/keys/{second.kid}.pem").status_code == 200  # still resolvable


# --since as people type it (the README's example was refused): Rome time unless an offset says
# otherwise; the moment stored is UTC.
SINCE = [
    ("2026-11-01T00:00", dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)),  # winter: UTC+1
    ("2026-07-01T12:30", dt.datetime(2026, 7, 1, 10, 30, tzinfo=dt.UTC)),  # summer: UTC+2
    ("2026-11-01", dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)),
    ("2026-11-01 08:15:30", dt.datetime(2026, 11, 1, 7, 15, 30, tzinfo=dt.UTC)),
    ("2026-11-01T00:00+01:00", dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)),
    ("2026-11-01T00:00Z", dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)),
    ("2026-11-01T00:00:00-05:00", dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC)),
    ("2026-10-25T02:30+02:00", dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
]

REFUSED = [
    ("yesterday", "is not a time"),
    ("01/11/2026", "is not a time"),
    ("2026-11-31T00:00", "is not a time"),
    ("2026-10-25T02:30", "happens twice in Rome"),  # the clocks went back at 03:00
    ("2026-03-29T02:30", "does not exist in Rome"),  # the clocks jumped from 02:00 to 03:00
    ("2999-01-01T00:00", "is in the future"),
]


def _credential_key(db: Session, app: Flask) -> SigningKey:
    ente = _setup(db, app)
    return db.scalars(
        select(SigningKey).where(
            SigningKey.organisation_id == ente.id, SigningKey.purpose == KeyPurpose.CREDENTIAL
        )
    ).one()


@pytest.mark.parametrize(("typed", "stored"), SINCE)
def test_keys_compromise_since(app: Flask, db: Session, typed: str, stored: dt.datetime) -> None:
    key = _credential_key(db, app)
    result = app.test_cli_runner().invoke(args=["keys", "compromise", key.kid, "--since", typed])
    assert result.exit_code == 0, result.output
    assert f"since {stored.isoformat()}" in result.output
    db.expire_all()
    assert key.compromised_at is not None
    assert key.compromised_at.replace(tzinfo=dt.UTC) == stored


@pytest.mark.parametrize(("typed", "message"), REFUSED)
def test_keys_compromise_refuses_a_time_that_names_no_past_moment(
    app: Flask, db: Session, typed: str, message: str
) -> None:
    key = _credential_key(db, app)
    result = app.test_cli_runner().invoke(args=["keys", "compromise", key.kid, "--since", typed])
    assert result.exit_code == 2 and message in result.output, result.output
    db.expire_all()
    assert key.compromised_at is None


def test_the_root_crl_is_published_and_names_compromised_seals(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    from certification.keys.management import CRL_PATH, mark_compromised, rotate_key

    ente = _setup(db, app)
    passphrase = app.config["KEY_PASSPHRASE"].encode()
    url = "https://attesta.test" + CRL_PATH
    seal = rotate_key(db, None, ente, KeyPurpose.PDF_SEAL, passphrase, NOW, crl_url=url)
    certificate = x509.load_pem_x509_certificate((seal.certificate_pem or "").encode())
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name[0].value for p in points] == [url]  # type: ignore[index]
    db.commit()
    first = client.get(CRL_PATH)
    assert first.status_code == 200 and first.mimetype == "application/pkix-crl"
    crl = x509.load_der_x509_crl(first.data)
    assert crl.issuer.rfc4514_string().endswith("CN=Attesta Root CA,O=Attesta,C=IT")
    assert len(crl) == 0
    assert client.get(CRL_PATH).data == first.data  # cached in the process until it changes
    mark_compromised(db, None, seal.kid, NOW, NOW)
    db.commit()
    revoked = x509.load_der_x509_crl(client.get(CRL_PATH).data)
    entry = revoked.get_revoked_certificate_by_serial_number(certificate.serial_number)
    assert entry is not None and entry.revocation_date_utc == NOW
