"""Staff management by an organisation's administrators (domain.md §3.4, §6.3)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.errors import InvalidInput, LastAdmin, NotFound, NotPermitted
from certification.models import (
    Organisation,
    PasskeyCredential,
    Person,
    StaffRole,
    TotpCredential,
    UserAccount,
)
from certification.people.accounts import create_account, find_account
from certification.people.roles import ROLES_BY_ORGANISATION_KIND, Role
from certification.policy import can_manage_staff, managed_organisations


@dataclass(frozen=True)
class StaffMember:
    """A person with the roles they hold in one organisation."""

    person: Person
    roles: frozenset[Role]
    years_experience: int | None
    sectors: tuple[str, ...]


def list_staff(
    session: Session, actor: UserAccount, organisation: Organisation
) -> list[StaffMember]:
    """The organisation's staff, by family name. Only for its administrators."""
    _require_admin(actor, organisation)
    rows = session.scalars(
        select(StaffRole)
        .join(Person, Person.id == StaffRole.person_id)
        .where(StaffRole.organisation_id == organisation.id)
        .order_by(Person.family_name, Person.given_name)
    )
    by_person: dict[uuid.UUID, list[StaffRole]] = {}
    for row in rows:
        by_person.setdefault(row.person_id, []).append(row)
    return [_member(roles) for roles in by_person.values()]


def get_staff_member(
    session: Session, actor: UserAccount, organisation: Organisation, person_id: uuid.UUID
) -> StaffMember:
    """One staff member of the organisation; not found if they hold no role there."""
    _require_admin(actor, organisation)
    roles = list(
        session.scalars(
            select(StaffRole).where(
                StaffRole.organisation_id == organisation.id, StaffRole.person_id == person_id
            )
        )
    )
    if not roles:
        raise NotFound("no such staff member")
    return _member(roles)


def add_staff_member(
    session: Session,
    actor: UserAccount,
    organisation: Organisation,
    *,
    email: str,
    given_name: str,
    family_name: str,
    roles: Iterable[Role],
    years_experience: int | None,
    sectors: Iterable[str],
    locale: str,
    now: dt.datetime,
) -> tuple[UserAccount, bool]:
    """Give roles in ``organisation`` to the person with ``email``, creating the account if new.

    Returns the account and whether it was created (a new account has no password yet: the
    caller sends an invitation to set one).
    """
    _require_admin(actor, organisation)
    account = find_account(session, email)
    created = account is None
    if account is None:
        account = create_account(
            session,
            email=email,
            given_name=given_name,
            family_name=family_name,
            password=None,
            locale=locale,
            now=now,
        )
    elif any(r.organisation_id == organisation.id for r in account.person.staff_roles):
        raise InvalidInput("already staff", errors={"email": ["already_staff"]})
    set_staff_roles(
        session,
        actor,
        organisation,
        account.person,
        roles=roles,
        years_experience=years_experience,
        sectors=sectors,
        now=now,
    )
    return account, created


def set_staff_roles(
    session: Session,
    actor: UserAccount,
    organisation: Organisation,
    person: Person,
    *,
    roles: Iterable[Role],
    years_experience: int | None,
    sectors: Iterable[str],
    now: dt.datetime,
) -> None:
    """Make ``roles`` exactly the roles ``person`` holds in ``organisation`` (empty removes them).

    Refuses roles the kind of organisation cannot give, an assessor without their years of
    experience in the sector, and leaving the organisation without an administrator.
    """
    _require_admin(actor, organisation)
    wanted = frozenset(roles)
    allowed = ROLES_BY_ORGANISATION_KIND[organisation.kind]
    if not wanted <= allowed:
        raise InvalidInput("role not available here", errors={"roles": ["not_available"]})
    if years_experience is not None and not 0 <= years_experience <= 60:
        raise InvalidInput("years", errors={"years_experience": ["range"]})
    if Role.ASSESSOR in wanted and years_experience is None:
        # The ten-year rule is checked when the panel is formed; the figure is needed from now.
        raise InvalidInput("assessor years", errors={"years_experience": ["years_required"]})
    sector_list = sorted({s.strip() for s in sectors if s.strip()})
    if any(not s.isdigit() or not 1 <= int(s) <= 24 for s in sector_list):
        raise InvalidInput("sectors", errors={"sectors": ["sep_codes"]})

    current = {r.role: r for r in person.staff_roles if r.organisation_id == organisation.id}
    if Role.ADMIN in current and Role.ADMIN not in wanted:
        admins = session.scalars(
            select(StaffRole).where(
                StaffRole.organisation_id == organisation.id, StaffRole.role == Role.ADMIN
            )
        ).all()
        if len(admins) <= 1:
            raise LastAdmin("the organisation would have no administrator")
    for role, row in current.items():
        if role not in wanted:
            person.staff_roles.remove(row)
            session.delete(row)
    for role in wanted:
        existing = current.get(role)
        row = existing or StaffRole(
            person=person, organisation=organisation, role=role, created_at=now, sectors=[]
        )
        if existing is None:
            session.add(row)
        row.years_experience = years_experience
        row.sectors = sector_list
    record_event(
        session,
        actor,
        "staff.roles_set",
        "person",
        person.id,
        now,
        organisation_id=organisation.id,
        roles=sorted(r.value for r in wanted),
        previous=sorted(r.value for r in current),
    )
    session.flush()


def _require_admin(actor: UserAccount, organisation: Organisation) -> None:
    if not can_manage_staff(actor, organisation):
        raise NotPermitted("only the organisation's administrators manage its staff")


def _member(rows: list[StaffRole]) -> StaffMember:
    first = rows[0]
    return StaffMember(
        person=first.person,
        roles=frozenset(r.role for r in rows),
        years_experience=first.years_experience,
        sectors=tuple(first.sectors or ()),
    )


# --- what needs an administrator (the staff group of "needs my action", issue 18) -------------


class StaffMatter(enum.StrEnum):
    """Why a staff member needs their administrator's attention."""

    #: Invited, no password set yet, and the link is still valid.
    INVITATION_PENDING = "invitation_pending"
    #: Invited, no password set, and the link has expired: they ask for a new one (the login
    #: page's "forgot your password") or the administrator reminds them.
    INVITATION_EXPIRED = "invitation_expired"
    #: Holds a role that may not work with a password alone and has no second factor yet.
    NO_SECOND_FACTOR = "no_second_factor"


@dataclass(frozen=True)
class StaffItem:
    organisation: Organisation
    person: Person
    matter: StaffMatter
    #: When the invitation was sent (the account made), for the invitations.
    since: dt.datetime | None = None


def staff_matters(
    session: Session,
    actor: UserAccount,
    now: dt.datetime,
    *,
    invitation_valid_for: dt.timedelta,
    second_factor_roles: Iterable[Role],
) -> list[StaffItem]:
    """The staff of the organisations ``actor`` manages who need their attention: invitations
    not accepted (still valid or expired, ``invitation_valid_for`` being the link's life), and
    people whose roles there need a second factor they have not set up. Nobody's cases: the
    administrators do not see them. Oldest first within each matter; the actor is left out."""
    required = frozenset(second_factor_roles)
    items: list[StaffItem] = []
    organisations = managed_organisations(session, actor)
    if not organisations:
        return items
    rows = session.scalars(
        select(StaffRole)
        .join(Person, Person.id == StaffRole.person_id)
        .where(
            StaffRole.organisation_id.in_([o.id for o in organisations]),
            StaffRole.person_id != actor.person_id,
        )
        .order_by(Person.family_name, Person.given_name)
    ).all()
    by_member: dict[tuple[uuid.UUID, uuid.UUID], set[Role]] = {}
    for row in rows:
        by_member.setdefault((row.organisation_id, row.person_id), set()).add(row.role)
    people = {row.person_id: row.person for row in rows}
    accounts = [p.account for p in people.values() if p.account is not None]
    ids = [a.id for a in accounts]
    secured = set(
        session.scalars(
            select(TotpCredential.user_id).where(
                TotpCredential.user_id.in_(ids), TotpCredential.confirmed_at.is_not(None)
            )
        )
    ) | set(
        session.scalars(select(PasskeyCredential.user_id).where(PasskeyCredential.user_id.in_(ids)))
    )
    by_id = {o.id: o for o in organisations}
    for (organisation_id, person_id), roles in by_member.items():
        person = people[person_id]
        account = person.account
        if account is None or not account.is_active:
            continue
        organisation = by_id[organisation_id]
        if account.password_hash is None:
            expired = account.created_at + invitation_valid_for < now
            matter = StaffMatter.INVITATION_EXPIRED if expired else StaffMatter.INVITATION_PENDING
            items.append(StaffItem(organisation, person, matter, account.created_at))
        elif roles & required and account.id not in secured:
            items.append(StaffItem(organisation, person, StaffMatter.NO_SECOND_FACTOR))
    order = list(StaffMatter)
    items.sort(key=lambda i: (order.index(i.matter), i.since or now))
    return items
