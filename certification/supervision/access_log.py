"""What the ente titolare's supervisors open is written to the audit log: one
``supervision.viewed`` event per case, document, certificate, portfolio page or evidence file
they open, in the request's own transaction (no view without its trace, no trace of a view
that failed)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.cases.states import CaseStatus
from certification.models import CertificationCase, Person, UserAccount
from certification.policy import CaseRelation, case_relations

#: The audit action of a supervisor's view.
VIEWED: Final = "supervision.viewed"


def note_view(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    what: str,
    entity_id: uuid.UUID,
    now: dt.datetime,
    **details: Any,
) -> bool:
    """Record that ``actor`` opened ``what`` (case, document, certificate…) of ``case`` as its
    supervisor; nothing when they see it for another reason (their own case, a role on it).
    Whether an event was recorded."""
    if case_relations(actor, case) != {CaseRelation.SUPERVISOR}:
        return False
    record_event(
        session,
        actor,
        VIEWED,
        what,
        entity_id,
        now,
        organisation_id=case.ente_titolato_id,
        case_id=str(case.id),
        protocol=case.protocol_number,
        **details,
    )
    return True


def note_portfolio_view(
    session: Session,
    actor: UserAccount,
    person: Person,
    what: str,
    entity_id: uuid.UUID,
    now: dt.datetime,
    **details: Any,
) -> bool:
    """Record that ``actor`` opened ``what`` of ``person``'s portfolio (the overview, an
    experience, an evidence or its file) as a supervisor: the portfolio is the dossier of the
    candidate's cases, and they see it only through them. One event for each ente whose cases
    they supervise, naming the latest of them; nothing when they also see one of the cases for
    another reason (a role on it, their own). Whether an event was recorded."""
    if actor.person_id == person.id:
        return False
    cases = session.scalars(
        select(CertificationCase)
        .where(
            CertificationCase.candidate_id == person.id,
            CertificationCase.status != CaseStatus.DRAFT,
        )
        .order_by(CertificationCase.opened_at.desc(), CertificationCase.id)
    )
    supervised: dict[uuid.UUID, list[CertificationCase]] = {}
    for case in cases:
        relations = case_relations(actor, case)
        if relations - {CaseRelation.SUPERVISOR}:
            return False
        if relations:
            supervised.setdefault(case.ente_titolato_id, []).append(case)
    for ente_id, of_ente in supervised.items():
        record_event(
            session,
            actor,
            VIEWED,
            what,
            entity_id,
            now,
            organisation_id=ente_id,
            case_id=str(of_ente[0].id),
            protocol=of_ente[0].protocol_number,
            person_id=str(person.id),
            cases=[str(c.id) for c in of_ente],
            **details,
        )
    return bool(supervised)
