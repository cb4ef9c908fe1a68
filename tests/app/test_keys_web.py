from __future__ import annotations

from typing import Any

from cryptography import x509
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from certification.keys import init_keys
from certification.roles import OrganisationKind
from tests.conftest import NOW
from tests.factories import make_organisation


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


def test_retired_and_compromised_keys_keep_their_lifetime_in_public(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    import datetime as dt

    from certification.keys import active_key, mark_compromised, rotate_key
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
