"""The public check: ``/verify`` (type a code, upload a file), ``/verify/<code>`` (the link in
the QR code), and the same for machines under ``/api/v1/verify`` (see app.api.views).

No login. Rate-limited per client and overall; pages are never indexed or cached; unknown and
malformed codes get the same 404 page; every check is logged without data about who asked.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _

from app.db import db_session, reads_only
from app.extensions import limiter
from app.labels import EVIDENCE_REVEAL_STATES, VERIFICATION_STATES
from app.services import storage, upload_pool, verification_recorder
from app.verify import bp
from certification.clock import utcnow
from certification.evidence_reveal import EvidenceReveal, verify_evidence
from certification.models import VerificationChannel
from certification.verification import (
    MAX_PDF_BYTES,
    Method,
    Verification,
    public_view,
    verify_code,
    verify_file,
)

#: Per client: a person checks a few certificates; a script enumerating codes is stopped.
CODE_LIMIT = "30 per minute;300 per hour"
#: Uploads cost a PDF parse in a child process: stricter.
UPLOAD_LIMIT = "10 per minute;60 per hour"
#: All clients together, so that enumeration spread over many addresses is bounded too.
GLOBAL_LIMIT = "3000 per minute"


def _everyone() -> str:
    return "everyone"


# One budget per client for the web pages and the API together.
code_limit = limiter.shared_limit(
    CODE_LIMIT,
    scope="verify-code",
    exempt_when=lambda: request.endpoint == "verify.index" and "code" not in request.args,
)
upload_limit = limiter.shared_limit(UPLOAD_LIMIT, scope="verify-upload")
global_limit = limiter.shared_limit(GLOBAL_LIMIT, scope="verify-all", key_func=_everyone)


def private(response: Response) -> Response:
    """Headers for pages that name a person: not indexed, not cached, no referrer."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def checked(result: Verification, channel: VerificationChannel) -> dict[str, Any] | None:
    """Log the check and return what the verifier may see of the certificate."""
    verification_recorder().record(result, channel, utcnow())
    if result.certificate is None:
        return None
    return public_view(db_session(), result.certificate, result.consents)


def read_upload() -> bytes | None:
    """The uploaded file's bytes (at most one byte over the cap, so the cap is detected)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    return upload.stream.read(MAX_PDF_BYTES + 1)


def _page(result: Verification, channel: VerificationChannel) -> Response:
    from app.verify.results import KeepResultForm, offer

    view = checked(result, channel)
    # A checked file's result can be kept at an address of its own (a code has one already).
    keep_form = (
        KeepResultForm(formdata=None, token=offer(result)) if result.method != Method.CODE else None
    )
    return private(
        make_response(
            render_template(
                "verify/result.html", result=result, record=view, now=utcnow(), keep_form=keep_form
            )
        )
    )


def _not_found() -> Response:
    # One body for every unknown or malformed code: nothing to learn from the difference.
    return private(
        make_response(
            render_template("verify/not_found.html", language_next=url_for("verify.index")), 404
        )
    )


def _by_code(code: str, channel: VerificationChannel) -> Response:
    result = verify_code(db_session(), code, utcnow())
    if result.certificate is None:
        return _not_found()
    return _page(result, channel)


@bp.get("/verify")
@code_limit
@global_limit
def index() -> Response:
    """The form (type a code, upload a file) or, with ``?code=``, the result for that code."""
    code = request.args.get("code")
    if code is None:
        return private(make_response(render_template("verify/index.html")))
    return _by_code(code[:100], VerificationChannel.WEB)


@bp.get("/verify/<code>")
@code_limit
@global_limit
def by_link(code: str) -> Response:
    """The address printed on the certificate and in its QR code."""
    return _by_code(code[:100], VerificationChannel.QR)


@bp.post("/verify")
@reads_only  # a check against the register writes nothing (the log is written apart)
@upload_limit
@global_limit
def upload() -> Response:
    """A PDF or credential JSON checked: the result page, whatever the file."""
    data = read_upload()
    if data is None:
        page = render_template(
            "verify/index.html", upload_error=_("Choose the certificate file to check.")
        )
        return private(make_response(page, 422))
    result = verify_file(db_session(), storage(), data, upload_pool(), utcnow())
    return _page(result, VerificationChannel.WEB)


def read_evidence_upload() -> bytes | None:
    """The uploaded evidence file (at most one byte over the upload cap)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    return upload.stream.read(evidence_max_bytes() + 1)


def evidence_max_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 2**20


def reveal_evidence(code: str, channel: VerificationChannel) -> EvidenceReveal:
    """Check the holder's reveal (code, ``file``, ``salt``); the certificate's check by code
    is logged like any other."""
    reveal = verify_evidence(
        db_session(),
        code,
        read_evidence_upload(),
        request.form.get("salt", ""),
        utcnow(),
        max_bytes=evidence_max_bytes(),
    )
    if reveal.verification is not None:
        verification_recorder().record(reveal.verification, channel, utcnow())
    return reveal


#: HTTP status of each reveal answer: refusals of the input are 422 (413 too large), an
#: unknown code the same 404 as everywhere; a decision on the evidence is a 200.
REVEAL_STATUS = {
    "confirmed": 200,
    "not_confirmed": 200,
    "not_committed": 200,
    "not_found": 404,
    "salt_malformed": 422,
    "no_file": 422,
    "too_large": 413,
}


@bp.post("/verify/<code>/evidence")
@upload_limit
@global_limit
def evidence(code: str) -> Response:
    """The holder's reveal of one evidence file and its salt, from a certificate's page."""
    reveal = reveal_evidence(code[:100], VerificationChannel.WEB)
    if reveal.reason == "not_found":
        return _not_found()
    record = None
    if reveal.verification is not None and reveal.verification.certificate is not None:
        record = public_view(
            db_session(), reveal.verification.certificate, reveal.verification.consents
        )
    page = render_template(
        "verify/evidence.html",
        reveal=reveal,
        record=record,
        code=code[:100],
        message=EVIDENCE_REVEAL_STATES[reveal.reason],
        now=utcnow(),
    )
    return private(make_response(page, REVEAL_STATUS[reveal.reason]))


def verification_json(result: Verification, record: dict[str, Any] | None) -> dict[str, Any]:
    """The API's body for a verification (app.api.schemas.VerificationSchema)."""
    certificate = None
    if record is not None:
        standard = record["standard"]
        certificate = {
            "number": record["number"],
            "verification_code": record["code"],
            "issued_on": record["issued_on"],
            "kind": record["kind"],
            "holder_name": record["holder"]["name"],
            "holder_full_name_shown": record["holder"]["full_name_shown"],
            "ente_titolato": record["ente_titolato"],
            "ente_titolare": record["ente_titolare"],
            "framework_title": {
                "it": standard["framework_title_it"],
                "en": standard["framework_title_en"],
            },
            "profile_code": standard["profile_code"],
            "profile_title": {
                "it": standard["profile_title_it"],
                "en": standard["profile_title_en"],
            },
            "eqf_level": standard["eqf_level"],
            "competences": [
                {
                    "code": c["code"],
                    "title": {"it": c["title_it"], "en": c["title_en"]},
                    "eqf_level": c["eqf_level"],
                }
                for c in record["competences"]
            ],
            "coverage": {
                **record["coverage"].as_dict(),
                "missing": [
                    {"code": m["code"], "title": {"it": m["title_it"], "en": m["title_en"]}}
                    for m in record["coverage"].missing
                ],
            },
            "assessment_methods": record["assessment_methods"],
            "status": record["status"],
            "status_changed_on": record["status_changed_on"],
            "superseded_by": record["superseded_by"],
            "illustrative": record["illustrative"],
        }
        if "evidence" in record:
            certificate["learning_experiences"] = record["learning"]["experiences"]
            certificate["evidence"] = record["evidence"]
    return {
        "verdict": result.verdict.value,
        "reason": result.reason,
        "method": result.method.value,
        "checked_at": utcnow(),
        "dimensions": [
            {
                "name": d.name,
                "state": d.state,
                "outcome": d.outcome.value,
                "detail": d.detail,
                "message": str(VERIFICATION_STATES.get(d.state, d.state)),
            }
            for d in result.dimensions
        ],
        "certificate": certificate,
    }
