"""What the ente titolare's supervisors open is written to the audit log: one
``supervision.viewed`` event per case, document or certificate they open, in the request's
own transaction (no view without its trace, no trace of a view that failed)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from sqlalchemy.orm import Session

from certification.audit import record_event
from certification.models import CertificationCase, UserAccount
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
