from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, jsonify, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Response

from app.api import bp
from app.api import schemas as s
from app.api.openapi import openapi_document
from app.db import db_session
from app.errors import error_response
from app.extensions import csrf
from certification import accounts, standards
from certification.clock import utcnow
from certification.models import Competence, Framework, Profile, UserAccount

csrf.exempt(bp)  # token-authenticated JSON: no cookies are trusted here

F = TypeVar("F", bound=Callable[..., Any])


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
    return jsonify(openapi_document())


@bp.get("/frameworks")
def frameworks() -> Response:
    items = [_framework(fw) for fw in standards.list_frameworks(db_session())]
    return jsonify(s.FrameworkListSchema().dump({"items": items}))


@bp.get("/profiles")
def profiles() -> Response | tuple[Any, int]:
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
