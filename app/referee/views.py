"""The page a referee opens from the e-mailed link to confirm a testimonial (no account)."""

from __future__ import annotations

import contextlib
import datetime as dt

from flask import current_app, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.db import db_session
from app.extensions import limiter
from app.referee.blueprint import bp
from app.web import EmptyForm
from certification.clock import utcnow
from certification.errors import Conflict
from certification.portfolio import operations as portfolio

LINK_VALIDITY = dt.timedelta(days=30)


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def answer(token: str) -> Response:
    session = db_session()
    evidence = portfolio.evidence_for_referee_token(
        session, token, current_app.config["SECRET_KEY"], LINK_VALIDITY
    )
    form = EmptyForm()
    answered = None
    if form.validate_on_submit():
        confirm = request.form.get("answer") == "confirm"
        with contextlib.suppress(Conflict):  # answered already: the page says so anyway
            portfolio.answer_testimonial(session, evidence, confirm=confirm, now=utcnow())
        answered = _("Thank you: your answer has been recorded.")
    html = render_template("referee/answer.html", evidence=evidence, form=form, answered=answered)
    response = make_response(html)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"  # a person's name and their words
    return response
