"""Appeals (richiesta di riesame, domain.md §7: transitions #22–#24).

Within :data:`APPEAL_DAYS` of a result the candidate files an appeal (:func:`file_appeal`); it is
decided by someone who sat on none of the case's panels and is not its tutor: upheld, with a new
assessment round by a panel of new people (:func:`uphold_appeal`; the earlier outcomes are kept,
superseded), or rejected with reasons, the earlier result standing (:func:`reject_appeal`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from sqlalchemy.orm import Session

from certification.cases.assessment import REVIEW_DAYS, current_outcomes
from certification.cases.panels import PanelChoice, check_panel, new_session, previous_panel
from certification.cases.states import CaseEvent as E
from certification.cases.workflow import apply_transition
from certification.errors import InvalidInput, NotFound, NotPermitted, clean_text
from certification.models import (
    Appeal,
    AppealStatus,
    AssessmentMethod,
    AssessmentSession,
    CertificationCase,
    UserAccount,
)

APPEAL_DAYS: Final = 30


def file_appeal(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    grounds: str,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> Appeal:
    """The candidate asks for a review (richiesta di riesame) within 30 days of the result."""
    grounds = clean_text(grounds, "grounds")
    if now > case.status_changed_at + dt.timedelta(days=APPEAL_DAYS):
        raise InvalidInput("too late", errors={"grounds": ["appeal_too_late"]})
    from_status = case.status.value
    apply_transition(session, actor, case, E.FILE_APPEAL, now, expected_version=expected_version)
    appeal = Appeal(
        case_id=case.id,
        from_status=from_status,
        grounds=grounds,
        filed_at=now,
        status=AppealStatus.FILED,
    )
    case.appeals.append(appeal)
    case.deadline_at = now + dt.timedelta(days=REVIEW_DAYS)
    session.flush()
    return appeal


def _open_appeal(actor: UserAccount, case: CertificationCase) -> Appeal:
    appeal = next((a for a in case.appeals if a.status == AppealStatus.FILED), None)
    if appeal is None:
        raise NotFound("no appeal pending")
    if actor.person_id in previous_panel(case) or actor.person_id == case.assigned_tutor_id:
        raise NotPermitted("an appeal is decided by someone who did not assess the case")
    return appeal


def uphold_appeal(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    rationale: str,
    *,
    methods: Iterable[AssessmentMethod],
    scheduled_at: dt.datetime,
    location: str,
    panel: list[PanelChoice],
    now: dt.datetime,
    expected_version: int | None = None,
) -> AssessmentSession:
    """Uphold the appeal (#23): a new assessment by a panel with none of the earlier members."""
    rationale = clean_text(rationale, "rationale")
    appeal = _open_appeal(actor, case)
    check_panel(session, case, panel, excluded=previous_panel(case))
    for outcome in current_outcomes(case):
        outcome.superseded_at = now
    case.assessment_round += 1
    assessment = new_session(case, methods, scheduled_at, location, panel, now)
    apply_transition(
        session,
        actor,
        case,
        E.UPHOLD_APPEAL,
        now,
        expected_version=expected_version,
        payload={"appeal": str(appeal.id)},
    )
    case.sessions.append(assessment)
    appeal.status, appeal.decided_at = AppealStatus.UPHELD, now
    appeal.decision_rationale, appeal.decided_by_id = rationale, actor.id
    case.deadline_at = scheduled_at
    session.flush()
    return assessment


def reject_appeal(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    rationale: str,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Reject the appeal with reasons (#24): the earlier result stands and the case closes."""
    rationale = clean_text(rationale, "rationale")
    appeal = _open_appeal(actor, case)
    apply_transition(
        session,
        actor,
        case,
        E.REJECT_APPEAL,
        now,
        expected_version=expected_version,
        payload={"appeal": str(appeal.id)},
    )
    appeal.status, appeal.decided_at = AppealStatus.REJECTED, now
    appeal.decision_rationale, appeal.decided_by_id = rationale, actor.id
    session.flush()
