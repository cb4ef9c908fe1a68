"""The assessment's panels and sessions (domain.md §6.6, §7: transitions #13–#14).

A certifier plans the assessment (:func:`plan_assessment`): methods, date, place and a panel
checked for composition and terzietà (never the case's tutor; in Lombardy, an assessor with ten
years in the profile's sector). Each member declares any conflict of interest
(:func:`declare_conflict`); a conflicted panel is replaced (:func:`replace_panel`); the chair
opens the session once everyone has declared (:func:`open_session`). An upheld appeal plans a
new round with a panel of people who sat on none of the earlier ones
(:mod:`~certification.cases.appeals`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.cases.states import CaseEvent as E
from certification.cases.states import CaseStatus
from certification.cases.workflow import apply_transition
from certification.errors import InvalidInput, NotPermitted, clean_text
from certification.models import (
    AssessmentMethod,
    AssessmentSession,
    CertificationCase,
    PanelFunction,
    PanelMember,
    Person,
    UserAccount,
    WorkflowProfile,
)
from certification.people.roles import ASSESSOR_MIN_YEARS_LOMBARDY, Role


@dataclass(frozen=True)
class PanelChoice:
    """One member of a panel being chosen: the person and the function they sit in."""

    person: Person
    function: PanelFunction


def previous_panel(case: CertificationCase) -> set[Any]:
    """Everyone who sat on any panel of the case."""
    return {m.person_id for s in case.sessions for m in s.members}


def check_panel(
    session: Session, case: CertificationCase, panel: list[PanelChoice], excluded: set[Any]
) -> None:
    """Refuse a panel (:class:`InvalidInput`, every problem named) that repeats a person, lacks
    an assessor or a certifier, seats the tutor or anyone in ``excluded``, or someone without
    the role (in Lombardy, an assessor without ten years in the profile's sector)."""
    errors: list[str] = []
    people = [choice.person.id for choice in panel]
    if len(set(people)) != len(people):
        errors.append("panel_duplicate")
    functions = {choice.function for choice in panel}
    if PanelFunction.ASSESSOR not in functions or not functions & {
        PanelFunction.CERTIFICATORE,
        PanelFunction.PRESIDENTE,
    }:
        errors.append("panel_composition")
    sector = case.target_profile.sep_code
    for choice in panel:
        if choice.person.id == case.assigned_tutor_id:
            errors.append("panel_tutor")
        if choice.person.id in excluded:
            errors.append("panel_previous")
        roles = {r for r in choice.person.staff_roles if r.organisation_id == case.ente_titolato_id}
        needed = Role.ASSESSOR if choice.function == PanelFunction.ASSESSOR else Role.CERTIFICATORE
        role = next((r for r in roles if r.role == needed), None)
        lombardy = case.workflow_profile == WorkflowProfile.LOMBARDIA_9380
        if role is None:
            errors.append("panel_role")
        elif (
            needed == Role.ASSESSOR
            and lombardy
            and (
                (role.years_experience or 0) < ASSESSOR_MIN_YEARS_LOMBARDY
                or (sector and sector not in (role.sectors or []))
            )
        ):
            errors.append("panel_assessor_experience")
    if errors:
        raise InvalidInput("panel", errors={"panel": sorted(set(errors))})


def new_session(
    case: CertificationCase,
    methods: Iterable[AssessmentMethod],
    scheduled_at: dt.datetime,
    location: str,
    panel: list[PanelChoice],
    now: dt.datetime,
) -> AssessmentSession:
    """A new session of the case's current round with this panel (not yet added to the case)."""
    chosen = sorted({AssessmentMethod(m).value for m in methods})
    if not chosen:
        raise InvalidInput("methods", errors={"methods": ["choose_one"]})
    if scheduled_at <= now:
        raise InvalidInput("date", errors={"scheduled_at": ["in_past"]})
    assessment = AssessmentSession(
        case_id=case.id,
        round=case.assessment_round,
        methods=chosen,
        scheduled_at=scheduled_at,
        location=clean_text(location, "location", max_len=300),
        planned_at=now,
    )
    for choice in panel:
        assessment.members.append(PanelMember(person_id=choice.person.id, function=choice.function))
    return assessment


def plan_assessment(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    *,
    methods: Iterable[AssessmentMethod],
    scheduled_at: dt.datetime,
    location: str,
    panel: list[PanelChoice],
    now: dt.datetime,
    expected_version: int | None = None,
) -> AssessmentSession:
    """Plan the assessment with its panel (#13): terzietà, composition, assessor experience."""
    check_panel(session, case, panel, excluded=set())
    assessment = new_session(case, methods, scheduled_at, location, panel, now)
    apply_transition(
        session,
        actor,
        case,
        E.PLAN_ASSESSMENT,
        now,
        expected_version=expected_version,
        payload={
            "scheduled_at": scheduled_at.isoformat(),
            "panel": [str(c.person.id) for c in panel],
        },
    )
    case.sessions.append(assessment)
    case.deadline_at = scheduled_at
    session.flush()
    return assessment


def current_session(case: CertificationCase) -> AssessmentSession | None:
    """The assessment session of the current round, if planned."""
    sessions = [s for s in case.sessions if s.round == case.assessment_round]
    return sessions[-1] if sessions else None


def declare_conflict(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    has_conflict: bool,
    note: str,
    now: dt.datetime,
) -> PanelMember:
    """A panel member declares whether they have a conflict of interest with the candidate or
    the host organisations of the evidence."""
    assessment = current_session(case)
    member = (
        next((m for m in assessment.members if m.person_id == actor.person_id), None)
        if assessment
        else None
    )
    if member is None or case.status != CaseStatus.ASSESSMENT_SCHEDULED:
        raise NotPermitted("not on this case's panel")
    if has_conflict and not note.strip():
        raise InvalidInput("note", errors={"declaration_note": ["required"]})
    member.declared_at = now
    member.has_conflict = has_conflict
    member.declaration_note = note.strip()[:2000] or None
    record_event(
        session,
        actor,
        "case.conflict_declared",
        "case",
        case.id,
        now,
        organisation_id=case.ente_titolato_id,
        has_conflict=has_conflict,
    )
    session.flush()
    return member


def replace_panel(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    panel: list[PanelChoice],
    now: dt.datetime,
) -> AssessmentSession:
    """Change the panel of a planned session (e.g. after a declared conflict)."""
    assessment = current_session(case)
    if assessment is None or case.status != CaseStatus.ASSESSMENT_SCHEDULED:
        raise InvalidInput("no planned session", errors={"case": ["not_scheduled"]})
    if Role.CERTIFICATORE not in actor.roles_in(case.ente_titolato_id):
        raise NotPermitted("only certifiers plan panels")
    earlier = {
        m.person_id for s in case.sessions if s.round < case.assessment_round for m in s.members
    }
    conflicted = {m.person_id for m in assessment.members if m.has_conflict}
    check_panel(session, case, panel, excluded=earlier | conflicted)
    assessment.members.clear()
    session.flush()
    for choice in panel:
        assessment.members.append(PanelMember(person_id=choice.person.id, function=choice.function))
    record_event(
        session,
        actor,
        "case.panel_replaced",
        "case",
        case.id,
        now,
        organisation_id=case.ente_titolato_id,
    )
    session.flush()
    return assessment


def open_session(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    *,
    identity_checked: bool,
    now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    """The panel chair opens the session (#14): identity checked, every member declared."""
    assessment = current_session(case)
    if assessment is None or actor.person_id not in {m.person_id for m in assessment.members}:
        raise NotPermitted("only a member of the panel opens the session")
    errors = []
    if not identity_checked:
        errors.append("identity_not_checked")
    if any(m.declared_at is None for m in assessment.members):
        errors.append("declarations_missing")
    if any(m.has_conflict for m in assessment.members):
        errors.append("conflict_declared")
    if errors:
        raise InvalidInput("cannot open", errors={"session": errors})
    apply_transition(session, actor, case, E.OPEN_SESSION, now, expected_version=expected_version)
    assessment.opened_at = now
    session.flush()
