"""Where a candidate stands on the IVC path (issue 19): the stage of each application, whose turn
it is, by when, the convocation to the assessment, and the documents and certificates issued.

The five stages are the phases of the national process (domain.md §3: domanda, accoglienza,
individuazione/identificazione, validazione, certificazione); every state of a case belongs to
one, except the ends that leave the path (withdrawn, cancelled, suspended, closed).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from certification.cases.panels import current_session
from certification.cases.states import TRANSITIONS, CaseEvent, CaseStatus
from certification.cases.workflow import actor_may, cases_of_candidate
from certification.models import AssessmentSession, CertificationCase, UserAccount

S = CaseStatus


class Stage(enum.StrEnum):
    DOMANDA = "domanda"
    ACCOGLIENZA = "accoglienza"
    IDENTIFICAZIONE = "identificazione"
    VALIDAZIONE = "validazione"
    CERTIFICAZIONE = "certificazione"


STAGES: Final = tuple(Stage)

#: The stage of each state; None for the states that leave the path.
STAGE_OF: Final[dict[CaseStatus, Stage | None]] = {
    S.DRAFT: Stage.DOMANDA,
    S.SUBMITTED: Stage.DOMANDA,
    S.IN_ACCOGLIENZA: Stage.ACCOGLIENZA,
    S.NOT_ADMITTED: Stage.ACCOGLIENZA,
    S.IDENTIFICATION: Stage.IDENTIFICAZIONE,
    S.TRANSPARENCY_ISSUED: Stage.IDENTIFICAZIONE,
    S.CLOSED_TRANSPARENCY_ONLY: Stage.IDENTIFICAZIONE,
    S.DOSSIER_REVIEW: Stage.VALIDAZIONE,
    S.INTEGRATION_REQUESTED: Stage.VALIDAZIONE,
    S.NOT_ADMITTED_TO_ASSESSMENT: Stage.VALIDAZIONE,
    S.ASSESSMENT_SCHEDULED: Stage.VALIDAZIONE,
    S.ASSESSMENT_IN_PROGRESS: Stage.VALIDAZIONE,
    S.ASSESSED: Stage.VALIDAZIONE,
    S.VALIDATED_FULL: Stage.VALIDAZIONE,
    S.VALIDATED_PARTIAL: Stage.VALIDAZIONE,
    S.NOT_VALIDATED: Stage.VALIDAZIONE,
    S.VALIDATION_ISSUED: Stage.VALIDAZIONE,
    S.APPEAL_PENDING: Stage.VALIDAZIONE,
    S.CERTIFICATION: Stage.CERTIFICAZIONE,
    S.CERTIFIED: Stage.CERTIFICAZIONE,
    S.CERTIFICATE_ISSUED: Stage.CERTIFICAZIONE,
    S.CLOSED: None,
    S.WITHDRAWN: None,
    S.SUSPENDED_INACTIVE: None,
    S.CANCELLED: None,
}

#: Leaving the application is always possible, so it never makes it "your turn".
_ALWAYS: Final = frozenset({CaseEvent.WITHDRAW})


@dataclass(frozen=True)
class Progress:
    """One application as its candidate sees it."""

    case: CertificationCase
    stage: Stage | None
    #: The candidate has a step to take (submit, add evidence, ask for validation, choose...).
    my_turn: bool
    deadline: dt.datetime | None
    #: The assessment the candidate is called to, when it is still ahead.
    convocation: AssessmentSession | None

    @property
    def stage_index(self) -> int | None:
        return STAGES.index(self.stage) if self.stage is not None else None


def progress(actor: UserAccount, case: CertificationCase, now: dt.datetime) -> Progress:
    """Where ``case`` stands for its candidate ``actor``."""
    events = [
        name
        for name, transition in TRANSITIONS.items()
        if case.status in transition.sources and name not in _ALWAYS
    ]
    session = current_session(case)
    ahead = (
        session
        if session is not None
        and session.scheduled_at is not None
        and session.scheduled_at > now
        and case.status == S.ASSESSMENT_SCHEDULED
        else None
    )
    return Progress(
        case=case,
        stage=STAGE_OF[case.status],
        my_turn=any(actor_may(actor, case, event) for event in events),
        deadline=case.deadline_at if STAGE_OF[case.status] is not None else None,
        convocation=ahead,
    )


def my_path(session: Session, actor: UserAccount, now: dt.datetime) -> list[Progress]:
    """The candidate's applications, newest first, with where each stands."""
    return [progress(actor, case, now) for case in cases_of_candidate(session, actor.person)]
