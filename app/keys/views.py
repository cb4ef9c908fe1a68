"""Published keys: what a third party needs to check Attesta's seals and credentials without
Attesta's web pages. Public, cacheable, and kept forever (retired keys included). Also the
daily signed checkpoints of the audit history, for outside parties to keep."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Response, current_app, jsonify, url_for
from sqlalchemy import select

from app.db import db_session
from app.extensions import limiter
from app.keys.blueprint import bp
from certification.audit.chains import checkpoint_days
from certification.clock import utcnow
from certification.errors import NotFound
from certification.keys.material import (
    active_key,
    all_keys,
    credential_key_relationships,
    fingerprint,
    multikey_method,
)
from certification.keys.revocation import CRL_LIFETIME
from certification.keys.revocation import root_crl as make_crl
from certification.models import AuditCheckpoint, KeyPurpose, Organisation, SigningKey
from certification.people.roles import OrganisationKind


def _cacheable(response: Response) -> Response:
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers fetch these anywhere
    return response


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _profile_url(organisation_id: uuid.UUID) -> str:
    return url_for("keys.issuer", organisation_id=organisation_id, _external=True)


@bp.get("/keys/")
@limiter.exempt
def index() -> Response:
    keys = [
        {
            "kid": key.kid,
            "fingerprint": fingerprint(key),
            "purpose": key.purpose.value,
            "algorithm": key.algorithm,
            "organisation": str(key.organisation_id) if key.organisation_id else None,
            "activated_at": _iso(key.activated_at),
            "retired_at": _iso(key.retired_at),
            "compromised_at": _iso(key.compromised_at),
            "url": url_for("keys.key_pem", kid=key.kid, _external=True),
            # A credential key as its issuer profile lists it, lifetime included.
            "verification_method": multikey_method(key, _profile_url(key.organisation_id))
            if key.purpose == KeyPurpose.CREDENTIAL and key.organisation_id
            else None,
        }
        for key in all_keys(db_session())
    ]
    return _cacheable(jsonify({"keys": keys, "root_ca": url_for("keys.root_ca", _external=True)}))


@bp.get("/keys/root-ca.pem")
@limiter.exempt
def root_ca() -> Response:
    key = active_key(db_session(), None, KeyPurpose.ROOT_CA)
    return _cacheable(Response(key.certificate_pem, mimetype="application/x-pem-file"))


@bp.get("/keys/<kid>.pem")
@limiter.exempt
def key_pem(kid: str) -> Response:
    key = db_session().get(SigningKey, kid) if len(kid) == 64 else None
    if key is None:
        raise NotFound("no such key")
    return _cacheable(
        Response(key.certificate_pem or key.public_key_pem, mimetype="application/x-pem-file")
    )


@bp.get("/audit/checkpoints/")
@limiter.exempt
def checkpoints() -> Response:
    """Every daily checkpoint of the history, newest first (certification.audit.chains)."""
    days = checkpoint_days(db_session())
    body = {
        "checkpoints": [
            {
                "date": day.isoformat(),
                "url": url_for("keys.checkpoint", day=day.isoformat(), _external=True),
            }
            for day in days
        ],
        "keys": url_for("keys.index", _external=True),
    }
    return _cacheable(jsonify(body))


@bp.get("/audit/checkpoints/<day>.json")
@limiter.exempt
def checkpoint(day: str) -> Response:
    """One day's checkpoint, exactly as signed: keep it, and give it to ``audit verify``."""
    try:
        date = dt.date.fromisoformat(day) if len(day) == 10 else None
    except ValueError:
        date = None
    found = db_session().get(AuditCheckpoint, date) if date else None
    if found is None:
        raise NotFound("no checkpoint for that day")
    return _cacheable(Response(found.document, mimetype="application/json"))


@bp.get("/issuers/<uuid:organisation_id>.json")
@limiter.exempt
def issuer(organisation_id: uuid.UUID) -> Response:
    """The Open Badges 3.0 issuer Profile, with the ente's credential keys as Multikeys."""
    session = db_session()
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind != OrganisationKind.ENTE_TITOLATO:
        raise NotFound("no such issuer")
    profile_id = _profile_url(organisation.id)
    keys = session.scalars(
        select(SigningKey)
        .where(
            SigningKey.organisation_id == organisation.id,
            SigningKey.purpose == KeyPurpose.CREDENTIAL,
        )
        .order_by(SigningKey.activated_at)
    ).all()
    body = {
        # DID v1 defines verificationMethod/assertionMethod and Multikey v1 the key fields:
        # verifiers frame this document strictly, so every term must be defined.
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": profile_id,
        "type": ["Profile"],
        "name": organisation.legal_name,
        "url": organisation.website or current_app.config["BASE_URL"],
        "address": {
            "type": ["Address"],
            "addressCountry": "IT",
            "addressLocality": organisation.city or "",
        },
        # Each key with its lifetime (Multikey `expires`, `revoked`); compromised keys stay
        # listed but assert nothing (certification.keys.material.credential_key_relationships).
        **credential_key_relationships(keys, profile_id),
    }
    return _cacheable(jsonify(body))


@bp.get("/pki/root.crl")
@limiter.exempt
def root_crl() -> Response:
    """The root CA's certificate revocation list (DER, RFC 5280): every certificate it issued
    for a key reported compromised. Named by the CRL distribution point of seal certificates;
    made from the key table, once a day per process (certification.keys.revocation)."""
    data = make_crl(db_session(), str(current_app.config["KEY_PASSPHRASE"]).encode(), utcnow())
    response = Response(data, mimetype="application/pkix-crl")
    # An hour: a compromise reported now reaches validators within the hour.
    response.headers["Cache-Control"] = f"public, max-age={int(CRL_LIFETIME.total_seconds()) // 24}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
