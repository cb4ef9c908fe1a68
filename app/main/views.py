from __future__ import annotations

import datetime as dt

from flask import current_app, jsonify, redirect, render_template, request, session
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.auth.second_factor import required_roles
from app.auth.sessions import current_account, safe_next_url, sorted_staff_roles
from app.db import database, db_session
from app.extensions import csrf, limiter
from app.i18n import LOCALES
from app.main.blueprint import bp
from certification.cases.candidate_path import STAGES, my_path
from certification.cases.worklist import my_worklist
from certification.certificates.lifecycle import certificate_coverage, certificates_of_holder
from certification.clock import utcnow
from certification.db import READER
from certification.people import accounts
from certification.policy import is_staff, managed_organisations
from certification.standards import list_frameworks


@bp.get("/")
def index() -> str:
    return render_template("main/index.html", frameworks=list_frameworks(db_session()))


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    account = current_account()
    roles = sorted_staff_roles(account)
    certificates = certificates_of_holder(db_session(), account.person_id)
    now = utcnow()
    worklist = (
        my_worklist(
            db_session(),
            account,
            now,
            invitation_valid_for=dt.timedelta(
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"]
            ),
            second_factor_roles=required_roles(),
        )
        if is_staff(account)
        else None
    )
    return render_template(
        "main/dashboard.html",
        account=account,
        roles=roles,
        worklist=worklist,
        now=now,
        managed=managed_organisations(db_session(), account),
        path=my_path(db_session(), account, now) if account.person.is_candidate else [],
        STAGES=STAGES,
        certificates=certificates,
        coverages={c.id: certificate_coverage(c) for c in certificates},
    )


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated:
            accounts.set_locale(db_session(), current_account(), locale)
    return redirect(safe_next_url(request.form.get("next"), "main.index"))


@bp.get("/healthz")
@limiter.exempt
@csrf.exempt
def healthz() -> tuple[Response, int]:
    engine = database().engine
    try:
        with engine.connect().execution_options(**READER) as connection:  # waits for no writer
            connection.execute(text("SELECT 1"))
        db_status = "ok"
    except SQLAlchemyError:
        db_status = "unavailable"
    ok = db_status == "ok"
    body = {
        "status": "ok" if ok else "degraded",
        "database": {"status": db_status, "backend": engine.dialect.name},
    }
    return jsonify(body), 200 if ok else 503
