"""Writing the audit log (security-relevant actions, staff changes, imports)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

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
    return event
