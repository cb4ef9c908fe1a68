"""Staff work: whose next step a case waits for, and the searchable list of cases (issue 18).

``NEXT_STEPS`` is the one table: for each state, the steps that are due and the transition each
step is (``TRANSITIONS`` names who may do it; :func:`certification.cases.workflow.actor_may` and
:func:`certification.policy.case_relations` decide, for one actor and one case, whether that is
this person). Rating criteria is no transition: :func:`certification.cases.assessment.may_rate`
decides it. Both queries see only :func:`certification.policy.visible_cases`.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from certification.cases.assessment import may_rate
from certification.cases.states import TERMINAL, TRANSITIONS, CaseEvent, CaseStatus
from certification.cases.workflow import actor_may
from certification.clock import in_rome
from certification.models import (
    AssessmentSession,
    Certificate,
    CertificateStatus,
    CertificationCase,
    Organisation,
    PanelMember,
    Person,
    RubricSnapshot,
    UserAccount,
)
from certification.people.roles import OrganisationKind, Role
from certification.people.staff import StaffItem, staff_matters
from certification.policy import is_panel_member, visible_cases

S = CaseStatus


class Task(enum.StrEnum):
    """What is due on a case (the groups of "needs my action")."""

    TAKE_CHARGE = "take_charge"
    ADMISSION = "admission"
    TRANSPARENCY = "transparency"
    INTEGRATION = "integration"
    REVIEW = "review"
    OPEN_SESSION = "open_session"
    RATE = "rate"
    OUTCOMES = "outcomes"
    APPEAL = "appeal"
    START_CERTIFICATION = "start_certification"
    CERTIFY = "certify"
    ISSUE_CERTIFICATE = "issue_certificate"


#: The event that rates criteria is no transition: ``may_rate`` says who rates.
RATE: Final = "rate"


@dataclass(frozen=True)
class Step:
    task: Task
    event: CaseEvent | Literal["rate"]  # a row of TRANSITIONS, or RATE
    #: Only a member of this round's panel takes it (the operation checks it too).
    panel_only: bool = False

    @property
    def roles(self) -> frozenset[Role]:
        """The staff roles that may take this step somewhere (the SQL pre-filter)."""
        if not isinstance(self.event, CaseEvent):  # RATE
            return frozenset({Role.CERTIFICATORE, Role.ASSESSOR})
        return frozenset(r for r in TRANSITIONS[self.event].actors if isinstance(r, Role))


#: State -> the steps due in it, in the order they are shown.
NEXT_STEPS: Final[dict[CaseStatus, tuple[Step, ...]]] = {
    S.SUBMITTED: (Step(Task.TAKE_CHARGE, CaseEvent.TAKE_CHARGE),),
    S.IN_ACCOGLIENZA: (Step(Task.ADMISSION, CaseEvent.ADMIT),),
    S.IDENTIFICATION: (Step(Task.TRANSPARENCY, CaseEvent.ISSUE_TRANSPARENCY),),
    S.INTEGRATION_REQUESTED: (Step(Task.INTEGRATION, CaseEvent.RESUBMIT),),
    S.DOSSIER_REVIEW: (Step(Task.REVIEW, CaseEvent.PLAN_ASSESSMENT),),
    S.ASSESSMENT_SCHEDULED: (Step(Task.OPEN_SESSION, CaseEvent.OPEN_SESSION, panel_only=True),),
    S.ASSESSMENT_IN_PROGRESS: (
        Step(Task.RATE, RATE),
        Step(Task.OUTCOMES, CaseEvent.RECORD_OUTCOMES, panel_only=True),
    ),
    S.APPEAL_PENDING: (Step(Task.APPEAL, CaseEvent.UPHOLD_APPEAL),),
    S.VALIDATED_FULL: (Step(Task.START_CERTIFICATION, CaseEvent.START_CERTIFICATION),),
    S.VALIDATED_PARTIAL: (Step(Task.START_CERTIFICATION, CaseEvent.START_CERTIFICATION),),
    S.VALIDATION_ISSUED: (Step(Task.START_CERTIFICATION, CaseEvent.START_CERTIFICATION),),
    S.CERTIFICATION: (Step(Task.CERTIFY, CaseEvent.CERTIFY),),
    S.CERTIFIED: (Step(Task.ISSUE_CERTIFICATE, CaseEvent.ISSUE_CERTIFICATE),),
}
TASK_ORDER: Final = tuple(dict.fromkeys(s.task for steps in NEXT_STEPS.values() for s in steps))


def step_is_mine(actor: UserAccount, case: CertificationCase, step: Step) -> bool:
    """Whether ``step`` on ``case`` is ``actor``'s to take (staff only, never as candidate)."""
    if case.candidate_id == actor.person_id:
        return False
    if not isinstance(step.event, CaseEvent):  # RATE
        return may_rate(actor, case)
    if step.panel_only and not is_panel_member(actor, case, current_round=True):
        return False
    return actor_may(actor, case, step.event)


def due_steps(actor: UserAccount, case: CertificationCase) -> list[Step]:
    """The steps of ``case`` due from ``actor`` now."""
    return [s for s in NEXT_STEPS.get(case.status, ()) if step_is_mine(actor, case, s)]


def days_late(deadline: dt.datetime | None, now: dt.datetime) -> int:
    """Whole days past the deadline, by the calendar in Rome (0: not late or none)."""
    if deadline is None or deadline >= now:
        return 0
    return max(1, (in_rome(now).date() - in_rome(deadline).date()).days)


@dataclass(frozen=True)
class WorkItem:
    """One case in the queue: listed once, in the group of its first task, with every task
    due on it from this person (during a session a certifier both rates and records)."""

    case: CertificationCase
    tasks: tuple[Task, ...]
    due_at: dt.datetime | None
    days_late: int

    @property
    def task(self) -> Task:
        return self.tasks[0]


@dataclass
class Worklist:
    """The queue grouped by task; each case is in one group, so the counts are of cases. An
    administrator's group is their staff (:func:`certification.people.staff.staff_matters`): they do
    not see the ente's cases, and no state waits for them (they cancel a case when there is a
    reason, which no state records)."""

    groups: dict[Task, list[WorkItem]] = field(default_factory=dict)
    staff: list[StaffItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.groups.values()) + len(self.staff)

    @property
    def overdue(self) -> int:
        return sum(1 for items in self.groups.values() for i in items if i.days_late)


def _staff_roles(actor: UserAccount) -> frozenset[Role]:
    return frozenset(r.role for r in actor.person.staff_roles)


def _loaded(query: Select[CertificationCase]) -> Select[CertificationCase]:
    """What the page and the rule read of each case, in a few queries instead of one a row."""
    return query.options(
        selectinload(CertificationCase.candidate),
        selectinload(CertificationCase.ente_titolato),
        selectinload(CertificationCase.target_profile),
        selectinload(CertificationCase.snapshot).load_only(RubricSnapshot.case_id),
        selectinload(CertificationCase.sessions).selectinload(AssessmentSession.members),
    )


def my_worklist(
    session: Session,
    actor: UserAccount,
    now: dt.datetime,
    *,
    invitation_valid_for: dt.timedelta | None = None,
    second_factor_roles: frozenset[Role] = frozenset(),
) -> Worklist:
    """The cases whose next step is ``actor``'s, grouped by task, earliest deadline first; with
    ``invitation_valid_for`` (the life of an invitation link) also the staff matters of the
    organisations they manage."""
    roles = _staff_roles(actor)
    states = [state for state, steps in NEXT_STEPS.items() if any(s.roles & roles for s in steps)]
    worklist = Worklist()
    if invitation_valid_for is not None:
        worklist.staff = staff_matters(
            session,
            actor,
            now,
            invitation_valid_for=invitation_valid_for,
            second_factor_roles=second_factor_roles,
        )
    if not states:
        return worklist
    query = (
        select(CertificationCase)
        .where(visible_cases(actor), CertificationCase.status.in_(states))
        .order_by(
            CertificationCase.deadline_at.asc().nulls_last(), CertificationCase.status_changed_at
        )
    )
    for case in session.scalars(_loaded(query)).unique():
        tasks = tuple(dict.fromkeys(step.task for step in due_steps(actor, case)))
        if tasks:
            item = WorkItem(case, tasks, case.deadline_at, days_late(case.deadline_at, now))
            worklist.groups.setdefault(tasks[0], []).append(item)
    worklist.groups = {t: worklist.groups[t] for t in TASK_ORDER if t in worklist.groups}
    return worklist


# --- the list of cases ------------------------------------------------------------------------


class StateGroup(enum.StrEnum):
    """Filters of the list: the states grouped by phase."""

    INTAKE = "intake"
    IDENTIFICATION = "identification"
    ASSESSMENT = "assessment"
    OUTCOME = "outcome"
    CERTIFICATION = "certification"
    SUSPENDED = "suspended"
    CLOSED = "closed"


STATE_GROUPS: Final[dict[StateGroup, frozenset[CaseStatus]]] = {
    StateGroup.INTAKE: frozenset({S.SUBMITTED, S.IN_ACCOGLIENZA}),
    StateGroup.IDENTIFICATION: frozenset(
        {S.IDENTIFICATION, S.TRANSPARENCY_ISSUED, S.INTEGRATION_REQUESTED}
    ),
    StateGroup.ASSESSMENT: frozenset(
        {S.DOSSIER_REVIEW, S.ASSESSMENT_SCHEDULED, S.ASSESSMENT_IN_PROGRESS, S.ASSESSED}
    ),
    StateGroup.OUTCOME: frozenset(
        {
            S.VALIDATED_FULL,
            S.VALIDATED_PARTIAL,
            S.NOT_VALIDATED,
            S.NOT_ADMITTED_TO_ASSESSMENT,
            S.VALIDATION_ISSUED,
            S.APPEAL_PENDING,
        }
    ),
    StateGroup.CERTIFICATION: frozenset({S.CERTIFICATION, S.CERTIFIED, S.CERTIFICATE_ISSUED}),
    StateGroup.SUSPENDED: frozenset({S.SUSPENDED_INACTIVE}),
    StateGroup.CLOSED: TERMINAL,
}


class Sort(enum.StrEnum):
    DEADLINE = "deadline"
    CHANGED = "changed"


@dataclass(frozen=True)
class CaseFilter:
    """What the list is asked for; the defaults are the unfiltered list."""

    text: str = ""
    group: StateGroup | None = None
    profile_id: uuid.UUID | None = None
    ente_id: uuid.UUID | None = None
    mine: bool = False
    overdue: bool = False
    include_closed: bool = False
    sort: Sort = Sort.DEADLINE


@dataclass(frozen=True)
class CasePage:
    cases: Sequence[CertificationCase]
    total: int
    page: int
    pages: int
    #: The status of each listed case's current certificate (issued, suspended, revoked...).
    certificate_status: dict[uuid.UUID, CertificateStatus]


PAGE_SIZE: Final = 25
#: Not closed, as a list the database reads through the (ente, status) index.
_OPEN: Final = sorted(frozenset(CaseStatus) - TERMINAL - {S.DRAFT})
_SHOWN_CERTIFICATES: Final = (
    CertificateStatus.ISSUED,
    CertificateStatus.SUSPENDED,
    CertificateStatus.REVOKED,
)


def list_entes(session: Session, actor: UserAccount) -> list[Organisation]:
    """The enti titolati whose cases ``actor`` may be shown (the choices of the ente filter)."""
    own = {r.organisation_id for r in actor.person.staff_roles}
    supervised = {
        r.organisation_id for r in actor.person.staff_roles if r.role == Role.REGION_SUPERVISOR
    }
    query = (
        select(Organisation)
        .where(
            Organisation.kind == OrganisationKind.ENTE_TITOLATO,
            or_(Organisation.id.in_(own), Organisation.accredited_by_id.in_(supervised)),
        )
        .order_by(Organisation.short_name)
    )
    return list(session.scalars(query))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _assigned_to(actor: UserAccount) -> ColumnElement[bool]:
    case = CertificationCase
    on_panel = (
        select(AssessmentSession.case_id)
        .join(PanelMember, PanelMember.session_id == AssessmentSession.id)
        .where(PanelMember.person_id == actor.person_id)
    )
    return or_(
        case.assigned_tutor_id == actor.person_id,
        case.assigned_operator_id == actor.person_id,
        case.id.in_(on_panel),
    )


def _conditions(
    actor: UserAccount, wanted: CaseFilter, now: dt.datetime
) -> list[ColumnElement[bool]]:
    case = CertificationCase
    where: list[ColumnElement[bool]] = [visible_cases(actor)]
    if wanted.group is not None:
        where.append(case.status.in_(STATE_GROUPS[wanted.group]))
    elif not wanted.include_closed:
        where.append(case.status.in_(_OPEN))
    if wanted.profile_id is not None:
        where.append(case.target_profile_id == wanted.profile_id)
    if wanted.ente_id is not None:
        where.append(case.ente_titolato_id == wanted.ente_id)
    if wanted.mine:
        where.append(_assigned_to(actor))
    if wanted.overdue:
        where.append(and_(case.deadline_at < now, case.status.in_(_OPEN)))
    text = " ".join(wanted.text.split())
    if text:
        pattern = _like(text)
        # Scalar subqueries: looked up by primary key or index for each case the actor sees
        # (the planner hashes a whole table for an EXISTS or a join under a rough estimate).
        name = func.lower(Person.given_name + " " + Person.family_name)
        reversed_name = func.lower(Person.family_name + " " + Person.given_name)
        person = (
            select(Person.id)
            .where(
                Person.id == case.candidate_id,
                or_(
                    name.like(pattern, escape="\\"),
                    reversed_name.like(pattern, escape="\\"),
                    func.upper(Person.codice_fiscale) == text.upper(),
                ),
            )
            .scalar_subquery()
        )
        certificate = (
            select(Certificate.id)
            .where(Certificate.case_id == case.id, func.upper(Certificate.number) == text.upper())
            .limit(1)
            .scalar_subquery()
        )
        where.append(
            or_(
                func.lower(case.protocol_number).like(pattern, escape="\\"),
                person.is_not(None),
                certificate.is_not(None),
            )
        )
    return where


def list_cases(
    session: Session,
    actor: UserAccount,
    wanted: CaseFilter,
    now: dt.datetime,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> CasePage:
    """One page of the cases ``actor`` sees, filtered and sorted as ``wanted`` says."""
    where = _conditions(actor, wanted, now)
    total = session.scalar(select(func.count()).select_from(CertificationCase).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    case = CertificationCase
    order = (
        (case.deadline_at.asc().nulls_last(), case.status_changed_at.desc())
        if wanted.sort == Sort.DEADLINE
        else (case.status_changed_at.desc(),)
    )
    query = (
        select(case)
        .where(*where)
        .order_by(*order, case.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    cases = list(session.scalars(_loaded(query)).unique())
    statuses: dict[uuid.UUID, CertificateStatus] = {}
    if cases:
        rows = session.execute(
            select(Certificate.case_id, Certificate.status)
            .where(
                Certificate.case_id.in_([c.id for c in cases]),
                Certificate.status.in_(_SHOWN_CERTIFICATES),
            )
            .order_by(Certificate.generation)
        )
        statuses = {row[0]: row[1] for row in rows}  # the latest generation wins
    return CasePage(cases, total, page, pages, statuses)
