"""Who may do what: object-level authorisation as plain functions (security.md §3.3).

Views ask these questions; they never decide on their own. Objects outside an actor's scope are
reported as not found, so their existence does not leak.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.errors import NotFound
from certification.models import Organisation, StaffRole, UserAccount
from certification.roles import Role

#: Roles that make someone staff (as opposed to a candidate or a partner business).
STAFF_ROLES = frozenset(Role) - {Role.PARTNER}


def is_staff(actor: UserAccount) -> bool:
    """Holds any staff role anywhere."""
    return actor.has_role(*STAFF_ROLES)


def can_manage_staff(actor: UserAccount, organisation: Organisation) -> bool:
    """Only an administrator of that very organisation manages its staff."""
    return actor.is_active and Role.ADMIN in actor.roles_in(organisation.id)


def managed_organisations(session: Session, actor: UserAccount) -> list[Organisation]:
    """The organisations whose staff ``actor`` manages."""
    query = (
        select(Organisation)
        .join(StaffRole, StaffRole.organisation_id == Organisation.id)
        .where(StaffRole.person_id == actor.person_id, StaffRole.role == Role.ADMIN)
        .order_by(Organisation.short_name)
    )
    return list(session.scalars(query))


def get_managed_organisation(
    session: Session, actor: UserAccount, organisation_id: uuid.UUID
) -> Organisation:
    """The organisation if ``actor`` administers it; :class:`NotFound` otherwise (no oracle)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not can_manage_staff(actor, organisation):
        raise NotFound("organisation not found")
    return organisation


def can_view_outbox(actor: UserAccount) -> bool:
    """The full outbox holds other people's mail: administrators only."""
    return actor.has_role(Role.ADMIN)
