"""What the verification pages (app.verify.views) and the API's ``/api/v1/verify``
(app.api.views) share: one rate-limit budget per client, the logged check, reading uploads, the
holder's evidence reveal and the API's body of a verification."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from app.db import db_session, reading_connection
from app.extensions import limiter
from app.i18n import current_language
from app.labels import VERIFICATION_STATES
from app.services import verification_recorder
from certification.certificates.evidence_reveal import EvidenceReveal, verify_evidence
from certification.clock import utcnow
from certification.models import VerificationChannel
from certification.verification.by_code import PublicAnswer, answer_by_code
from certification.verification.checks import (
    MAX_PDF_BYTES,
    Verification,
    verify_code,
)
from certification.verification.public import (
    public_view,
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


def checked(result: Verification, channel: VerificationChannel) -> dict[str, Any] | None:
    """Log the check and return what the verifier may see of the certificate."""
    verification_recorder().record(result, channel, utcnow())
    if result.certificate is None:
        return None
    return public_view(db_session(), result.certificate, result.consents)


def answer(code: str, channel: VerificationChannel, *, details: bool = True) -> PublicAnswer:
    """The public check of ``code`` on a plain connection, no session (issue 22); logged when a
    certificate was found. A certificate that only the ORM can show (see
    certification.verification.by_code) is checked through the request's session. Without
    ``details`` (the API) the view's competences are their codes, titles and levels."""
    now = utcnow()
    with reading_connection(one_statement=True) as connection:  # answer_by_code runs one
        found = answer_by_code(connection, code, now, details=details)
    if found is None:
        result = verify_code(db_session(), code, now)
        found = PublicAnswer(
            result,
            result.certificate.id if result.certificate else None,
            checked(result, channel) if result.certificate else None,
        )
    elif found.view is not None:
        verification_recorder().record(found.verification, channel, now, found.certificate_id)
    return found


def read_upload() -> bytes | None:
    """The uploaded file's bytes (at most one byte over the cap, so the cap is detected)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    return upload.stream.read(MAX_PDF_BYTES + 1)


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


#: Each dimension state's message in each language, translated once per process: an answer
#: has five, and a translation looked up through Flask-Babel each time was a measurable part of
#: the public check (issue 22). The states are our own fixed codes, so this stays small.
_MESSAGES: dict[tuple[str, str], str] = {}


def state_message(state: str, language: str | None = None) -> str:
    """The message that explains a dimension's ``state``, in ``language`` (default: the
    request's; an answer asks it once for its five dimensions, Flask-Babel's locale lookup
    being dearer than the message's)."""
    key = (language or current_language(), state)
    message = _MESSAGES.get(key)
    if message is None:
        message = _MESSAGES[key] = str(VERIFICATION_STATES.get(state, state))
    return message


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
    language = current_language()
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
                "message": state_message(d.state, language),
            }
            for d in result.dimensions
        ],
        "certificate": certificate,
    }
