from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar, cast

from flask import g, jsonify, request, url_for
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Response

from app.api.blueprint import bp
from app.db import db_session, reads_only
from app.errors import error_response
from app.extensions import csrf
from app.jobs import start_bulk_run
from app.labels import EVIDENCE_REVEAL_STATES
from app.services import storage, upload_pool
from app.verify.checks import (
    REVEAL_STATUS,
    answer,
    checked,
    code_limit,
    global_limit,
    read_upload,
    reveal_evidence,
    upload_limit,
    verification_json,
)
from app.web import private
from certification import standards
from certification.certificates.bulk import is_stalled, start_bulk
from certification.clock import utcnow
from certification.errors import InvalidInput, NotFound
from certification.models import (
    BulkIssuance,
    Competence,
    Framework,
    Profile,
    UserAccount,
    VerificationChannel,
)
from certification.people import accounts
from certification.verification.checks import (
    MISTYPED,
    Verification,
    verify_file,
)
from certification.verification.public import (
    public_view,
)

csrf.exempt(bp)  # token-authenticated JSON: no cookies are trusted here

F = TypeVar("F", bound=Callable[..., Any])


class _LazySchemas:
    """``app.api.schemas``, imported by the first call that uses a schema: building the app (and
    every ``flask`` command) does not load marshmallow (startup time, issue 20)."""

    def __getattr__(self, name: str) -> Any:
        from app.api import schemas

        return getattr(schemas, name)


s = _LazySchemas()


def token_required(view: F) -> F:
    """Require ``Authorization: Bearer att_...``; 401 with ``WWW-Authenticate`` otherwise."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        account = None
        if scheme.lower() == "bearer" and secret:
            account = accounts.authenticate_api_token(db_session(), secret.strip(), utcnow())
        if account is None:
            raise Unauthorized(www_authenticate=WWWAuthenticate("Bearer", {"realm": "attesta"}))
        g.api_account = account
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _text(obj: Any, field: str) -> dict[str, str]:
    return {"it": getattr(obj, f"{field}_it"), "en": getattr(obj, f"{field}_en")}


def _framework(fw: Framework) -> dict[str, Any]:
    return {
        "code": fw.code,
        "version": fw.version,
        "title": _text(fw, "title"),
        "publisher": _text(fw, "publisher"),
        "legal_reference": _text(fw, "legal_reference"),
        "illustrative": fw.illustrative,
        "content_sha256": fw.content_sha256,
        "valid_from": fw.valid_from,
    }


def _profile_url(p: Profile) -> str:
    return url_for(
        "api.profile",
        code=p.framework.code,
        version=p.framework.version,
        profile_code=p.code,
        _external=True,
    )


def _competence_url(c: Competence) -> str:
    return url_for(
        "api.competence",
        code=c.framework.code,
        version=c.framework.version,
        competence_code=c.code,
        _external=True,
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    from app.api.openapi import openapi_document  # apispec, marshmallow: loaded when used

    return jsonify(openapi_document())


@bp.get("/frameworks")
def frameworks() -> Response:
    items = [_framework(fw) for fw in standards.list_frameworks(db_session())]
    return jsonify(s.FrameworkListSchema().dump({"items": items}))


@bp.get("/profiles")
def profiles() -> Response | tuple[Any, int]:
    from marshmallow import ValidationError  # loaded by the first call, not at start

    try:
        args = s.ProfileQuerySchema().load(request.args)
    except ValidationError as exc:
        return error_response(
            422, "invalid_input", "invalid query parameters", cast(dict[str, Any], exc.messages)
        )
    found = standards.search_profiles(db_session(), text=args["q"], eqf_level=args["eqf"])
    items = [
        {
            "framework_code": p.framework.code,
            "framework_version": p.framework.version,
            "code": p.code,
            "title": _text(p, "title"),
            "eqf_level": p.eqf_level,
            "illustrative": p.illustrative,
            "url": _profile_url(p),
        }
        for p in found
    ]
    return jsonify(s.ProfileListSchema().dump({"items": items, "count": len(items)}))


@bp.get("/frameworks/<code>/<version>/profiles/<profile_code>")
def profile(code: str, version: str, profile_code: str) -> Response:
    p = standards.get_profile(db_session(), code, version, profile_code)
    body = {
        "framework": _framework(p.framework),
        "code": p.code,
        "title": _text(p, "title"),
        "description": _text(p, "description"),
        "eqf_level": p.eqf_level,
        "sep_code": p.sep_code,
        "illustrative": p.illustrative,
        "alignments": p.alignments,
        "competences": [
            {
                "code": link.competence.code,
                "title": _text(link.competence, "title"),
                "eqf_level": link.competence.eqf_level,
                "mandatory": link.mandatory,
                "url": _competence_url(link.competence),
            }
            for link in p.competence_links
        ],
    }
    return jsonify(s.ProfileSchema().dump(body))


@bp.get("/frameworks/<code>/<version>/competences/<competence_code>")
def competence(code: str, version: str, competence_code: str) -> Response:
    c = standards.get_competence(db_session(), code, version, competence_code)
    body = {
        "framework": _framework(c.framework),
        "code": c.code,
        "title": _text(c, "title"),
        "description": _text(c, "description"),
        "eqf_level": c.eqf_level,
        "certifiable": c.certifiable,
        "ada_codes": c.ada_codes,
        "alignments": c.alignments,
        "abilita": [_text(st, "text") for st in c.abilita],
        "conoscenze": [_text(st, "text") for st in c.conoscenze],
        "criteria": [
            {
                "code": crit.code,
                "text": _text(crit, "text"),
                "expected_evidence": crit.expected_evidence,
                "levels": [
                    {
                        "code": lvl.code,
                        "label": _text(lvl, "label"),
                        "descriptor": _text(lvl, "descriptor"),
                        "passing": lvl.passing,
                    }
                    for lvl in crit.levels
                ],
            }
            for crit in c.criteria
        ],
    }
    return jsonify(s.CompetenceSchema().dump(body))


@bp.get("/me")
@token_required
def me() -> Response:
    account: UserAccount = g.api_account
    body = {
        "id": account.id,
        "email": account.email,
        "given_name": account.person.given_name,
        "family_name": account.person.family_name,
        "locale": account.locale,
        "is_candidate": account.person.is_candidate,
        "roles": [
            {
                "organisation_id": r.organisation_id,
                "organisation": r.organisation.short_name,
                "role": r.role.value,
            }
            for r in account.person.staff_roles
        ],
    }
    return jsonify(s.MeSchema().dump(body))


# --- certificates -----------------------------------------------------------------------------


def _bulk_body(bulk: BulkIssuance) -> dict[str, Any]:
    return {
        "id": bulk.id,
        "idempotency_key": bulk.idempotency_key,
        "created_at": bulk.created_at,
        "finished_at": bulk.finished_at,
        "total": len(bulk.items),
        "done": sum(1 for i in bulk.items if i["status"] != "pending"),
        "items": bulk.items,
    }


@bp.post("/certificates/bulk")
@token_required
def bulk_issue() -> tuple[Response, int, dict[str, str]]:
    """Issue certificates for many certified cases; idempotent by the Idempotency-Key header."""
    account: UserAccount = g.api_account
    key = request.headers.get("Idempotency-Key", "")
    from marshmallow import ValidationError  # loaded by the first call, not at start

    try:
        data = s.BulkRequestSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise InvalidInput("invalid body", errors={k: ["invalid"] for k in exc.messages}) from None
    session = db_session()
    bulk, created = start_bulk(session, account, key, data["case_ids"], utcnow())
    if created or is_stalled(bulk, utcnow()):
        start_bulk_run(bulk.id)
    location = url_for("api.bulk_status", bulk_id=bulk.id)
    return (
        jsonify(s.BulkSchema().dump(_bulk_body(bulk))),
        202 if created else 200,
        {"Location": location},
    )


@bp.get("/certificates/bulk/<uuid:bulk_id>")
@token_required
def bulk_status(bulk_id: uuid.UUID) -> Response:
    """Progress and per-item results of a bulk request (its requester only)."""
    account: UserAccount = g.api_account
    bulk = db_session().get(BulkIssuance, bulk_id)
    if bulk is None or bulk.requested_by_id != account.id:
        raise NotFound("no such bulk issuance")
    return jsonify(s.BulkSchema().dump(_bulk_body(bulk)))


# --- verification (public, no token) ----------------------------------------------------------


# Planned once, on first use, from the schema (the spec's truth): the same body as its dump, without
# marshmallow's per-call walk, an eighth of the public check's time (app.api.dumping).
@cache
def _verification_dumper() -> Any:
    from app.api.dumping import Dumper  # marshmallow: loaded by the first verification

    return Dumper(s.VerificationSchema())


def _verification(result: Verification, status: int = 200) -> tuple[Response, int]:
    record = checked(result, VerificationChannel.API) if status == 200 else None
    return _verification_body(result, record, status)


def _verification_body(
    result: Verification, record: dict[str, Any] | None, status: int
) -> tuple[Response, int]:
    body = verification_json(result, record)
    if status in (404, 422):
        del body["checked_at"]  # the same body for every unknown (or mistyped) code
    return private(jsonify(_verification_dumper().dump(body))), status


@bp.get("/verify/<code>")
@code_limit
@global_limit
def verify_by_code(code: str) -> tuple[Response, int]:
    # No session (issue 22), no more of the competences than the answer shows; logged.
    found = answer(code[:100], VerificationChannel.API, details=False)
    result = found.verification
    if result.reason == MISTYPED:  # the check character is wrong: nothing was looked up
        return _verification_body(result, None, 422)
    # Unknown and malformed codes: one identical 404 body.
    return _verification_body(result, found.view, 200 if found.view is not None else 404)


@bp.post("/verify")
@reads_only  # a check against the register writes nothing (the log is written apart)
@upload_limit
@global_limit
def verify_upload() -> tuple[Response | str, int]:
    data = read_upload()
    if data is None:
        return error_response(
            422,
            "invalid_input",
            "send the file as multipart/form-data field `file`",
            {"file": ["required"]},
        )
    return _verification(verify_file(db_session(), storage(), data, upload_pool(), utcnow()))


@cache
def _reveal_schema() -> Any:
    return s.EvidenceRevealSchema()


#: Refusals of the input: the usual error body.
_REVEAL_INPUT_ERRORS = {
    "no_file": {"file": ["required"]},
    "salt_malformed": {"salt": ["salt_malformed"]},
    "too_large": {"file": ["too_large"]},
}


@bp.post("/verify/evidence")
@upload_limit
@global_limit
def verify_evidence_reveal() -> tuple[Response | str, int]:
    """The holder's reveal of one evidence file: ``code``, ``salt`` and ``file``."""
    code = request.form.get("code", "")[:100]
    reveal = reveal_evidence(code, VerificationChannel.API)
    status = REVEAL_STATUS[reveal.reason]
    message = str(EVIDENCE_REVEAL_STATES[reveal.reason])
    if reveal.reason in _REVEAL_INPUT_ERRORS:
        code_name = "too_large" if reveal.reason == "too_large" else "invalid_input"
        return error_response(status, code_name, message, _REVEAL_INPUT_ERRORS[reveal.reason])
    verification = reveal.verification
    body = {
        "confirmed": reveal.confirmed,
        "reason": reveal.reason,
        "message": message,
        "indicators": [
            {
                "id": i.id,
                "code": i.code,
                "kind": i.kind,
                "competence_code": i.competence_code,
                "title": {"it": i.title_it, "en": i.title_en},
            }
            for i in reveal.indicators
        ],
        "verification": verification_json(
            verification,
            public_view(db_session(), verification.certificate, verification.consents)
            if verification.certificate is not None
            else None,
        )
        if verification is not None
        else None,
    }
    return private(jsonify(_reveal_schema().dump(body))), status
