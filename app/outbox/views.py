"""Development outbox: the e-mails Attesta would have sent, readable in the browser.

Only when ``ATTESTA_DEV_OUTBOX`` is on (``make run`` turns it on; production refuses it),
because it shows everyone's messages, password-reset links included.
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from sqlalchemy import select

from app.db import db_session
from app.outbox.blueprint import bp
from certification.models import OutboxMessage


@bp.before_request
def _only_in_development() -> None:
    if not current_app.config["DEV_OUTBOX"]:
        abort(404)


@bp.get("/")
def index() -> str:
    messages = db_session().scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(50)
    )
    return render_template("outbox/index.html", messages=list(messages))
