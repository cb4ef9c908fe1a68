"""Who may do what: object-level authorisation as plain functions (security.md §3.3).

Views ask these questions; they never decide on their own. Objects outside an actor's scope are
reported as not found, so their existence does not leak.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from certification.errors import NotFound
from certification.models import CertificationCase, Organisation, Person, StaffRole, UserAccount
from certification.roles import Role
from certification.states import CaseStatus

#: Roles that make someone staff (as opposed to a candidate or a partner business).
STAFF_ROLES = frozenset(Role) - {Role.PARTNER}
#: Roles of an ente titolato that work on its cases (a tutor only on the cases assigned to them).
CASE_STAFF_ROLES = frozenset(
    {Role.OPERATORE_ACCOGLIENZA, Role.CERTIFICATORE, Role.ASSESSOR, Role.SIGNATORY}
)
#: Roles of an ente titolato that run its talent-card programme (cards, partners, conventions).
CARD_PROGRAMME_ROLES = frozenset({Role.OPERATORE_ACCOGLIENZA, Role.ADMIN})


def is_staff(actor: UserAccount) -> bool:
    """Holds any staff role anywhere."""
    return actor.has_role(*STAFF_ROLES)


def can_manage_staff(actor: UserAccount, organisation: Organisation) -> bool:
    """An administrator of that very organisation manages its staff; the staff running an
    ente's card programme also manage the users of its partner businesses."""
    if not actor.is_active:
        return False
    if Role.ADMIN in actor.roles_in(organisation.id):
        return True
    return organisation.managed_by_id is not None and bool(
        actor.roles_in(organisation.managed_by_id) & CARD_PROGRAMME_ROLES
    )


def managed_organisations(session: Session, actor: UserAccount) -> list[Organisation]:
    """The organisations whose staff ``actor`` manages."""
    administered = select(StaffRole.organisation_id).where(
        StaffRole.person_id == actor.person_id, StaffRole.role == Role.ADMIN
    )
    programmes = select(StaffRole.organisation_id).where(
        StaffRole.person_id == actor.person_id, StaffRole.role.in_(CARD_PROGRAMME_ROLES)
    )
    query = (
        select(Organisation)
        .where(
            or_(
                Organisation.id.in_(administered),
                Organisation.managed_by_id.in_(programmes),
            )
        )
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


# --- portfolio and cases ----------------------------------------------------------------------


def _cases_of(session: Session, person_id: uuid.UUID) -> list[CertificationCase]:
    return list(
        session.scalars(
            select(CertificationCase).where(CertificationCase.candidate_id == person_id)
        )
    )


def is_assigned_tutor(actor: UserAccount, case: CertificationCase) -> bool:
    """The actor is the tutor assigned to the case (and still a tutor of its ente)."""
    return case.assigned_tutor_id == actor.person_id and Role.TUTOR in actor.roles_in(
        case.ente_titolato_id
    )


def can_view_portfolio(session: Session, actor: UserAccount, person: Person) -> bool:
    """Owner; the tutor assigned to one of their cases; staff of an ente they applied to."""
    if actor.person_id == person.id:
        return True
    for case in _cases_of(session, person.id):
        if case.status == CaseStatus.DRAFT:
            continue
        if is_assigned_tutor(actor, case):
            return True
        if actor.roles_in(case.ente_titolato_id) & CASE_STAFF_ROLES:
            return True
    return False


def can_edit_portfolio(session: Session, actor: UserAccount, person: Person) -> bool:
    """Owner; or the assigned tutor while a case is in identification (they edit together)."""
    if actor.person_id == person.id:
        return True
    return any(
        case.status == CaseStatus.IDENTIFICATION and is_assigned_tutor(actor, case)
        for case in _cases_of(session, person.id)
    )


def get_portfolio_owner(session: Session, actor: UserAccount, person_id: uuid.UUID) -> Person:
    """The person whose portfolio ``actor`` may see; :class:`NotFound` otherwise (no oracle)."""
    person = session.get(Person, person_id)
    if person is None or not can_view_portfolio(session, actor, person):
        raise NotFound("portfolio not found")
    return person


def can_view_case(actor: UserAccount, case: CertificationCase) -> bool:
    """The candidate; staff of the case's ente once it is submitted."""
    if case.candidate_id == actor.person_id:
        return True
    if case.status == CaseStatus.DRAFT:
        return False
    return is_assigned_tutor(actor, case) or bool(
        actor.roles_in(case.ente_titolato_id) & CASE_STAFF_ROLES
    )


def get_case(session: Session, actor: UserAccount, case_id: uuid.UUID) -> CertificationCase:
    """A case ``actor`` may see; :class:`NotFound` otherwise."""
    case = session.get(CertificationCase, case_id)
    if case is None or not can_view_case(actor, case):
        raise NotFound("case not found")
    return case
