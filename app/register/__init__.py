"""The regional supervisor's read-only register of cases and outcomes, with a CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from app.auth import current_account
from app.db import db_session
from app.i18n import current_language
from certification.clock import in_rome
from certification.register import register
from certification.states import CaseStatus

bp = Blueprint("register", __name__, url_prefix="/register")


def _filters() -> dict[str, Any]:
    ente = request.args.get("ente", "")
    status = request.args.get("status", "")
    try:
        ente_id = uuid.UUID(ente) if ente else None
    except ValueError:
        ente_id = None
    return {
        "ente_id": ente_id,
        "status": CaseStatus(status) if status in CaseStatus.__members__.values() else None,
    }


@bp.get("/")
@login_required
def index() -> str:
    filters = _filters()
    data = register(db_session(), current_account(), **filters)
    return render_template("register/index.html", data=data, filters=filters)


@bp.get("/cases.csv")
@login_required
def export() -> Response:
    data = register(db_session(), current_account(), **_filters())
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            "protocollo",
            "ente_titolato",
            "candidato",
            "profilo",
            "competenze",
            "stato",
            "presentata",
            "ultimo_cambio",
            "validate",
            "non_validate",
            "certificato",
            "stato_certificato",
        ]
    )
    for case in data.cases:
        current = [o for o in case.outcomes if o.round == case.assessment_round]
        certificate = data.certificates.get(case.id)
        writer.writerow(
            [
                case.protocol_number,
                case.ente_titolato.short_name,
                case.candidate.full_name,
                case.target_profile.code,
                " ".join(cc.competence.code for cc in case.competences),
                case.status.value,
                in_rome(case.submitted_at).date().isoformat() if case.submitted_at else "",
                in_rome(case.status_changed_at).date().isoformat(),
                sum(1 for o in current if o.outcome.value == "validata"),
                sum(1 for o in current if o.outcome.value != "validata"),
                certificate.number if certificate else "",
                certificate.status.value if certificate else "",
            ]
        )
    response = Response(out.getvalue().encode("utf-8-sig"), mimetype="text/csv")
    name = f"registro-{current_language()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
