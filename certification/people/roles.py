"""Kinds of organisation and the staff roles each may give (domain.md §3.4, §6.3)."""

from __future__ import annotations

import enum
from typing import Final


class OrganisationKind(enum.StrEnum):
    """What an organisation is in the IVC system.

    - ``ENTE_TITOLARE``: the public authority that regulates the service (Regione Lombardia).
    - ``ENTE_TITOLATO``: a body accredited by it to identify, validate and certify competences
      (e.g. Consorzio Mestieri Lombardia); it issues the documents.
    - ``HOST``: where the learning happened (a co-working space, an association, a company).
    - ``PARTNER_BUSINESS``: a business offering conventions to talent-card holders.
    """

    ENTE_TITOLARE = "ente_titolare"
    ENTE_TITOLATO = "ente_titolato"
    HOST = "host"
    PARTNER_BUSINESS = "partner_business"


class Role(enum.StrEnum):
    """Staff roles, held per organisation (the national functions of D.I. 2015, domain.md §3.4).

    - ``OPERATORE_ACCOGLIENZA``: reception; informs, checks admissibility, admits or rejects.
    - ``TUTOR``: supports identification and issues the Documento di trasparenza.
    - ``CERTIFICATORE``: the esperto di valutazione (Lombardy: certificatore delle competenze);
      plans and runs the assessment and signs off outcomes.
    - ``ASSESSOR``: the esperto di settore (in Lombardy at least ten years in the sector).
    - ``SIGNATORY``: signs and issues certificates on behalf of the ente titolato.
    - ``ADMIN``: manages the organisation's staff, keys and settings.
    - ``REGION_SUPERVISOR``: read-only oversight for the ente titolare.
    - ``PARTNER``: staff of a partner business (talent-card conventions).
    """

    OPERATORE_ACCOGLIENZA = "operatore_accoglienza"
    TUTOR = "tutor"
    CERTIFICATORE = "certificatore"
    ASSESSOR = "assessor"
    SIGNATORY = "signatory"
    ADMIN = "admin"
    REGION_SUPERVISOR = "region_supervisor"
    PARTNER = "partner"


ROLES_BY_ORGANISATION_KIND: Final[dict[OrganisationKind, frozenset[Role]]] = {
    OrganisationKind.ENTE_TITOLATO: frozenset(
        {
            Role.OPERATORE_ACCOGLIENZA,
            Role.TUTOR,
            Role.CERTIFICATORE,
            Role.ASSESSOR,
            Role.SIGNATORY,
            Role.ADMIN,
        }
    ),
    OrganisationKind.ENTE_TITOLARE: frozenset({Role.REGION_SUPERVISOR, Role.ADMIN}),
    OrganisationKind.HOST: frozenset({Role.ADMIN}),
    OrganisationKind.PARTNER_BUSINESS: frozenset({Role.PARTNER, Role.ADMIN}),
}

#: Lombardy's rule for assessors (decreto 9380/2012 as described by the accredited bodies).
ASSESSOR_MIN_YEARS_LOMBARDY: Final = 10
