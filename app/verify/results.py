"""A checked file's result kept for 30 days (issue 19): ``POST /verify/r`` keeps the result
shown (signed by the server into the page, so nobody can keep a verdict they did not get),
``/verify/r/<id>`` shows it again, ``/verify/r/<id>/report.pdf`` prints it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from flask import Response, abort, current_app, make_response, redirect, render_template, url_for
from flask_babel import force_locale
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as Redirect
from wtforms import HiddenField

from app.db import db_session
from app.i18n import current_language
from app.labels import (
    CERTIFICATE_STATUS_LABELS,
    VERDICT_LABELS,
    VERIFICATION_QUESTIONS,
    VERIFICATION_STATES,
)
from app.services import renderer
from app.verify.blueprint import bp
from app.verify.checks import code_limit, global_limit
from app.web import private
from certification.clock import ROME, utcnow
from certification.models import Certificate, CertificateStatus
from certification.verification.checks import (
    Dimension,
    Method,
    Outcome,
    Verdict,
    Verification,
)
from certification.verification.public import (
    public_view,
)
from certification.verification.results import as_verification, keep, kept_result


class KeepResultForm(FlaskForm):
    token = HiddenField()


#: How long a result page's offer to keep it stays good.
OFFER_SECONDS: Final = 3600
_SALT: Final = "attesta.verification-result"


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=_SALT)


def offer(result: Verification) -> str:
    """The signed result a page may offer to keep (what was checked, never the file)."""
    return _signer().dumps(
        {
            "c": str(result.certificate.id) if result.certificate is not None else None,
            "m": result.method.value,
            "v": result.verdict.value,
            "r": result.reason,
            "d": [[d.name, d.state, d.outcome.value, d.detail] for d in result.dimensions],
        }
    )


def _accepted(token: str) -> tuple[Verification, dt.datetime] | None:
    """The result an offer names and when it was checked; None when forged or too old."""
    try:
        data, signed_at = _signer().loads(token, max_age=OFFER_SECONDS, return_timestamp=True)
    except BadSignature:
        return None
    certificate = db_session().get(Certificate, uuid.UUID(data["c"])) if data["c"] else None
    result = Verification(
        method=Method(data["m"]),
        verdict=Verdict(data["v"]),
        reason=data["r"],
        dimensions=tuple(Dimension(n, s, Outcome(o), d) for n, s, o, d in data["d"]),
        certificate=certificate,
    )
    return result, signed_at.astimezone(dt.UTC)


@bp.post("/verify/r")
@code_limit
@global_limit
def keep_result() -> Response | Redirect:
    form = KeepResultForm()
    accepted = _accepted(form.token.data or "") if form.validate_on_submit() else None
    if accepted is None:
        return _unknown()
    result, checked_at = accepted
    kept = keep(db_session(), result, result.certificate, checked_at)
    return redirect(url_for("verify.kept", result_id=kept.id))


def _address(result_id: str) -> str:
    """The kept result's public address, on the configured base URL (as printed QR codes are)."""
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}/verify/r/{result_id}"


def _unknown() -> Response:
    return private(make_response(render_template("verify/result_unknown.html"), 404))


@bp.get("/verify/r/<result_id>")
@code_limit
@global_limit
def kept(result_id: str) -> Response:
    found = kept_result(db_session(), result_id, utcnow())
    if found is None:
        return _unknown()
    result = as_verification(found)
    record = public_view(db_session(), found.certificate) if found.certificate else None
    page = render_template(
        "verify/result.html",
        result=result,
        record=record,
        now=found.checked_at,
        kept=found,
        kept_url=_address(found.id),
    )
    return private(make_response(page))


def _report_context(
    result: Verification, record: dict[str, Any] | None, kept: Any
) -> dict[str, Any]:
    """What the printed report says, in the reader's language."""
    lang = current_language()
    return {
        "lang": lang,
        "address": _address(kept.id),
        "checked_at": kept.checked_at.astimezone(ROME).strftime("%d/%m/%Y %H:%M"),
        "kept_until": kept.expires_at.astimezone(ROME).strftime("%d/%m/%Y"),
        "method": kept.method,
        "verdict": str(VERDICT_LABELS[result.verdict.value]),
        "verdict_code": result.verdict.value,
        "checks": [
            {
                "question": str(VERIFICATION_QUESTIONS[d.name]),
                "outcome": d.outcome.value,
                "message": str(VERIFICATION_STATES.get(d.state, d.state)),
            }
            for d in result.dimensions
        ],
        "record": record,
        "status": str(CERTIFICATE_STATUS_LABELS[CertificateStatus(record["status"])])
        if record
        else None,
    }


@bp.get("/verify/r/<result_id>/report.pdf")
@code_limit
@global_limit
def report(result_id: str) -> Response:
    found = kept_result(db_session(), result_id, utcnow())
    if found is None:
        abort(404)
    result = as_verification(found)
    record = public_view(db_session(), found.certificate) if found.certificate else None
    lang = current_language()
    with force_locale(lang):
        context = _report_context(result, record, found)
    pdf = renderer().render_pdf("verification_report.html", context, lang)
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'inline; filename="attesta-verification-{found.id[:8]}.pdf"'
    )
    return private(response)
