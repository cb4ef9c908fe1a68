"""The public check: ``/verify`` (type a code, upload a file), ``/verify/<code>`` (the link in
the QR code), and the same for machines under ``/api/v1/verify`` (see app.api.views).

No login. Rate-limited per client and overall; pages are never indexed or cached; unknown and
malformed codes get the same 404 page; a new-format code whose check character is wrong gets a
page of its own (422: mistyped, nothing looked up); every check of a certificate in the register
is logged without data about who asked.
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request, url_for
from flask_babel import gettext as _

from app.db import db_session, reads_only
from app.extensions import csrf
from app.labels import EVIDENCE_REVEAL_STATES
from app.services import storage, upload_pool
from app.verify.blueprint import bp
from app.verify.checks import (
    REVEAL_STATUS,
    answer,
    checked,
    code_limit,
    global_limit,
    read_upload,
    reveal_evidence,
    upload_limit,
)
from app.web import private
from certification.clock import utcnow
from certification.models import VerificationChannel
from certification.numbering.codes import Mistyped, read_code
from certification.verification.checks import (
    MISTYPED,
    Method,
    Verification,
    verify_file,
)
from certification.verification.public import (
    public_view,
)

# _PUBLIC_FORMS: checking a file and the holder's evidence reveal are offered on the public
# check's pages, which have no session (app.public) and so no CSRF token to give. They need
# none: they act as nobody (no account, nothing of anyone's changed; the log knows no asker),
# exactly as POST /api/v1/verify and /api/v1/verify/evidence, which never took a token; and a
# cross-site POST is still refused by its Origin / Sec-Fetch-Site (app.origins).


def _page(result: Verification, channel: VerificationChannel) -> Response:
    return _shown(result, checked(result, channel))


def _shown(result: Verification, view: dict[str, Any] | None) -> Response:
    from app.verify.results import KeepResultForm, offer

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


def _mistyped(code: str) -> Response:
    # The check character failed: the code as typed, in the groups it is printed in.
    typed = read_code(code)
    groups = typed.groups if isinstance(typed, Mistyped) else []
    page = render_template(
        "verify/mistyped.html", code=code, groups=groups, language_next=url_for("verify.index")
    )
    return private(make_response(page, 422))


def _by_code(code: str, channel: VerificationChannel) -> Response:
    found = answer(code, channel)  # no session (issue 22); logged when found
    if found.verification.reason == MISTYPED:
        return _mistyped(code)
    if found.view is None:
        return _not_found()
    return _shown(found.verification, found.view)


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
@csrf.exempt  # public and anonymous, like POST /api/v1/verify (see _PUBLIC_FORMS)
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


@bp.post("/verify/<code>/evidence")
@csrf.exempt  # public and anonymous (see _PUBLIC_FORMS)
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
