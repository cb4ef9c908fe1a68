"""Writing the audit log (security-relevant actions, staff changes, imports).

Every event joins the global hash chain when its transaction commits, and every case whose
transitions changed gets its chain head re-signed: :mod:`certification.audit.chains` does both,
from the session's ``before_commit`` hook registered here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from certification.audit.chains import PENDING_EVENTS, TOUCHED_CASES, seal_chains
from certification.models import AuditEvent, UserAccount


def record_event(
    session: Session,
    actor: UserAccount | None,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    now: dt.datetime,
    *,
    organisation_id: uuid.UUID | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit entry for ``action`` on an entity; the caller's transaction commits it."""
    event = AuditEvent(
        at=now,
        actor_user_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        organisation_id=organisation_id,
        details=details,
    )
    session.add(event)
    session.info.setdefault(PENDING_EVENTS, []).append(event)
    return event


def note_case_changed(session: Session, case_id: uuid.UUID) -> None:
    """The case's transition chain grew: its signed head is renewed when the session commits."""
    session.info.setdefault(TOUCHED_CASES, set()).add(case_id)


# SQLAlchemy fires both hooks for a SAVEPOINT too (``begin_nested``). The chains are sealed
# once, when the transaction itself commits: not at each savepoint's release (a bulk
# reservation has one per certificate, and each would lock and re-sign the global head), and a
# savepoint rolled back forgets nothing recorded before it (what it added left the session, and
# seal_chains skips what is no longer there).


@event.listens_for(Session, "before_commit")
def _seal_chains(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.info.get(PENDING_EVENTS) or session.info.get(TOUCHED_CASES):
        seal_chains(session)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(TOUCHED_CASES, None)
    session.info.pop(PENDING_EVENTS, None)
