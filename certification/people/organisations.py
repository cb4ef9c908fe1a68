"""An organisation's details kept for the outside world: its LinkedIn company id."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import InvalidInput
from certification.models import Organisation, UserAccount

#: A LinkedIn company id: the digits in linkedin.com/company/<digits>/admin/ (at most 20).
LINKEDIN_ORGANIZATION_ID: Final = re.compile(r"[0-9]{1,20}", re.ASCII)


def set_linkedin_organization_id(
    session: Session,
    actor: UserAccount | None,
    organisation: Organisation,
    value: str | None,
    now: dt.datetime,
) -> bool:
    """Set (or, with an empty ``value``, clear) the organisation's LinkedIn company id, which
    add-to-profile links send as ``organizationId``. Spaces around it are ignored; anything
    but digits is refused (``InvalidInput``, field ``linkedin_organization_id``, problem
    ``linkedin_id_digits``) and nothing changes. Returns whether it changed."""
    cleaned = (value or "").strip() or None
    if cleaned is not None and not LINKEDIN_ORGANIZATION_ID.fullmatch(cleaned):
        raise InvalidInput(
            "a LinkedIn organization id is digits only",
            errors={"linkedin_organization_id": ["linkedin_id_digits"]},
        )
    previous = organisation.linkedin_organization_id
    if cleaned == previous:
        return False
    organisation.linkedin_organization_id = cleaned
    record_event(
        session,
        actor,
        "organisation.linkedin_set",
        "organisation",
        organisation.id,
        now,
        organisation_id=organisation.id,
        value=cleaned,
        previous=previous,
    )
    session.flush()
    return True
