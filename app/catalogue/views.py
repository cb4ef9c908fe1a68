from __future__ import annotations

from flask import render_template, request

from app.catalogue.blueprint import bp
from app.db import db_session
from certification import standards


def search_args() -> tuple[str, int | None]:
    """The ``q`` and ``eqf`` query parameters; a malformed level is ignored, not an error."""
    text = (request.args.get("q") or "").strip()[:100]
    raw = request.args.get("eqf") or ""
    eqf = int(raw) if raw.isdigit() and 1 <= int(raw) <= 8 else None
    return text, eqf


@bp.get("/")
def index() -> str:
    text, eqf = search_args()
    session = db_session()
    return render_template(
        "catalogue/index.html",
        profiles=standards.search_profiles(session, text=text, eqf_level=eqf),
        frameworks=standards.list_frameworks(session),
        q=text,
        eqf=eqf,
    )


@bp.get("/<code>/<version>/profiles/<profile_code>")
def profile(code: str, version: str, profile_code: str) -> str:
    item = standards.get_profile(db_session(), code, version, profile_code)
    return render_template("catalogue/profile.html", profile=item, framework=item.framework)


@bp.get("/<code>/<version>/competences/<competence_code>")
def competence(code: str, version: str, competence_code: str) -> str:
    item = standards.get_competence(db_session(), code, version, competence_code)
    return render_template("catalogue/competence.html", competence=item, framework=item.framework)
