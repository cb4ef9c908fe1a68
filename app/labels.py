"""Translated names of the domain's enumerations, for pages and e-mails."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from certification.roles import OrganisationKind, Role

ROLE_LABELS: dict[Role, Any] = {
    Role.OPERATORE_ACCOGLIENZA: _l("Reception operator (operatore accoglienza)"),
    Role.TUTOR: _l("Tutor"),
    Role.CERTIFICATORE: _l("Certifier (esperto di valutazione)"),
    Role.ASSESSOR: _l("Assessor (esperto di settore)"),
    Role.SIGNATORY: _l("Signatory"),
    Role.ADMIN: _l("Administrator"),
    Role.REGION_SUPERVISOR: _l("Regional supervisor"),
    Role.PARTNER: _l("Partner business staff"),
}

ORGANISATION_KIND_LABELS: dict[OrganisationKind, Any] = {
    OrganisationKind.ENTE_TITOLARE: _l("Ente titolare (public authority)"),
    OrganisationKind.ENTE_TITOLATO: _l("Ente titolato (accredited body)"),
    OrganisationKind.HOST: _l("Host organisation"),
    OrganisationKind.PARTNER_BUSINESS: _l("Partner business"),
}

EVIDENCE_TYPE_LABELS: dict[str, Any] = {
    "DOCUMENTO": _l("document"),
    "TESTIMONIANZA": _l("testimonial"),
    "PRODOTTO": _l("product"),
    "OSSERVAZIONE": _l("observation"),
    "COLLOQUIO": _l("interview"),
}


def register(app: Any) -> None:
    app.jinja_env.globals.update(
        ROLE_LABELS=ROLE_LABELS,
        ORGANISATION_KIND_LABELS=ORGANISATION_KIND_LABELS,
        EVIDENCE_TYPE_LABELS=EVIDENCE_TYPE_LABELS,
    )
