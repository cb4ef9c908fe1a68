"""Validation and certification of a case: the frozen rubric, dossier review, ratings, outcomes.

Rules kept here (domain.md §3.4, §6.6, §7):
- the rubric is frozen when the review starts; ratings and outcomes refer to the snapshot;
- terzietà: the case's tutor never rates (nor sits on a panel: :mod:`panels`, nor decides an
  appeal: :mod:`appeals`);
- the case's result is computed from the outcomes, never chosen.

The panels and sessions of the assessment are in :mod:`~certification.cases.panels`, appeals in
:mod:`~certification.cases.appeals`; suspension for inactivity, reactivation and cancellation
stay here, beside the deadlines they read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.cases.panels import current_session
from certification.cases.states import WAITING_FOR_CANDIDATE, CaseEvent, CaseStatus
from certification.cases.states import CaseEvent as E
from certification.cases.workflow import apply_transition, linked_evidence_for_case
from certification.errors import AccessRefused, InvalidInput, NotFound, NotPermitted, clean_text
from certification.models import (
    AssessmentMethod,
    CertificationCase,
    CompetenceOutcome,
    CriterionRating,
    Outcome,
    RubricSnapshot,
    UserAccount,
    WorkflowProfile,
)
from certification.policy import (
    CaseRelation,
    can_view_case,
    case_relations,
    is_panel_member,
)

REVIEW_DAYS: Final = 30
MAX_INTEGRATION_DAYS: Final = 90


# --- the frozen rubric ------------------------------------------------------------------------


def snapshot_content(case: CertificationCase) -> dict[str, Any]:
    """The requested competences of the case, with criteria and levels, as plain data."""
    profile = case.target_profile
    framework = profile.framework
    return {
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "title_it": framework.title_it,
            "title_en": framework.title_en,
            "illustrative": framework.illustrative,
            "content_sha256": framework.content_sha256,
        },
        "profile": {
            "code": profile.code,
            "title_it": profile.title_it,
            "title_en": profile.title_en,
            "eqf_level": profile.eqf_level,
            "sep_code": profile.sep_code,
        },
        "competences": [
            {
                "id": str(cc.competence.id),
                "code": cc.competence.code,
                "title_it": cc.competence.title_it,
                "title_en": cc.competence.title_en,
                "eqf_level": cc.competence.eqf_level,
                "ada_codes": cc.competence.ada_codes,
                "criteria": [
                    {
                        "code": crit.code,
                        "text_it": crit.text_it,
                        "text_en": crit.text_en,
                        "levels": [
                            {
                                "code": lvl.code,
                                "label_it": lvl.label_it,
                                "label_en": lvl.label_en,
                                "passing": lvl.passing,
                            }
                            for lvl in crit.levels
                        ],
                    }
                    for crit in cc.competence.criteria
                ],
            }
            for cc in case.competences
        ],
    }


def snapshot_competences(case: CertificationCase) -> list[dict[str, Any]]:
    """The competences of the frozen rubric (:class:`NotFound` before the review starts)."""
    if case.snapshot is None:
        raise NotFound("no rubric snapshot yet")
    return list(case.snapshot.content["competences"])


def _criterion(
    case: CertificationCase, competence_code: str, criterion_code: str
) -> dict[str, Any]:
    for competence in snapshot_competences(case):
        if competence["code"] == competence_code:
            for criterion in competence["criteria"]:
                if criterion["code"] == criterion_code:
                    return dict(criterion)
    raise InvalidInput("criterion", errors={"criterion_code": ["invalid_choice"]})


def request_validation(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The candidate asks to go on to validation (transition 9): the rubric is frozen now."""
    apply_transition(
        session, actor, case, E.REQUEST_VALIDATION, now, expected_version=expected_version
    )
    content = snapshot_content(case)
    digest = hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    case.snapshot = RubricSnapshot(case_id=case.id, content=content, sha256=digest, created_at=now)
    case.deadline_at = now + dt.timedelta(days=REVIEW_DAYS)
    session.flush()


# --- dossier review ---------------------------------------------------------------------------


def may_rate(actor: UserAccount, case: CertificationCase) -> bool:
    """Who rates criteria now: in the dossier review, the ente's certifiers who review it; in the
    assessment, the members of this round's panel only. Never the case's tutor (terzietà)."""
    if case.assigned_tutor_id == actor.person_id:
        return False
    if case.status == CaseStatus.ASSESSMENT_IN_PROGRESS:
        return is_panel_member(actor, case, current_round=True)
    return CaseRelation.CERTIFIER in case_relations(actor, case) or is_panel_member(
        actor, case, current_round=True
    )


def _require_assessor(actor: UserAccount, case: CertificationCase) -> None:
    if case.assigned_tutor_id == actor.person_id:
        raise NotPermitted("the tutor of a case never assesses it (terzietà)")
    if not can_view_case(actor, case):
        raise AccessRefused("case", case.id)
    if not may_rate(actor, case):
        raise NotPermitted("only the reviewing certifiers or this round's panel rate criteria")


def rate_criterion(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    competence_code: str,
    criterion_code: str,
    level_code: str,
    note: str,
    now: dt.datetime,
) -> CriterionRating:
    """Record the level a criterion reaches, with a note (review or assessment)."""
    _require_assessor(actor, case)
    if case.status not in {CaseStatus.DOSSIER_REVIEW, CaseStatus.ASSESSMENT_IN_PROGRESS}:
        raise InvalidInput("not rating now", errors={"case": ["not_in_review"]})
    criterion = _criterion(case, competence_code, criterion_code)
    level = next((lvl for lvl in criterion["levels"] if lvl["code"] == level_code), None)
    if level is None:
        raise InvalidInput("level", errors={"level_code": ["invalid_choice"]})
    rating = session.scalar(
        select(CriterionRating).where(
            CriterionRating.case_id == case.id,
            CriterionRating.round == case.assessment_round,
            CriterionRating.criterion_code == criterion_code,
        )
    )
    if rating is None:
        rating = CriterionRating(
            case_id=case.id,
            round=case.assessment_round,
            competence_code=competence_code,
            criterion_code=criterion_code,
            level_code=level_code,
            passing=level["passing"],
            rated_at=now,
        )
        case.ratings.append(rating)
    rating.level_code = level_code
    rating.passing = bool(level["passing"])
    rating.note = (note or "").strip()[:2000]
    rating.rated_by_id = actor.id
    rating.rated_at = now
    record_event(
        session,
        actor,
        "case.criterion_rated",
        "case",
        case.id,
        now,
        organisation_id=case.ente_titolato_id,
        criterion=criterion_code,
        level=level_code,
    )
    session.flush()
    return rating


def current_ratings(case: CertificationCase) -> dict[str, CriterionRating]:
    """This round's ratings by criterion code."""
    return {r.criterion_code: r for r in case.ratings if r.round == case.assessment_round}


def request_integration(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    note: str,
    deadline: dt.date,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Ask the candidate for more evidence, saying what is missing, by a deadline (#10)."""
    _require_assessor(actor, case)
    note = clean_text(note, "note")
    if not now.date() < deadline <= now.date() + dt.timedelta(days=MAX_INTEGRATION_DAYS):
        raise InvalidInput("deadline", errors={"deadline": ["deadline_range"]})
    apply_transition(
        session,
        actor,
        case,
        E.REQUEST_INTEGRATION,
        now,
        expected_version=expected_version,
        payload={"deadline": deadline.isoformat()},
    )
    case.integration_note = note
    case.deadline_at = dt.datetime.combine(deadline, dt.time(23, 59), tzinfo=dt.UTC)
    session.flush()


def resubmit(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The candidate (with the tutor) sends the completed dossier back, before the deadline."""
    if case.deadline_at is not None and now > case.deadline_at:
        raise InvalidInput("too late", errors={"case": ["deadline_passed"]})
    apply_transition(session, actor, case, E.RESUBMIT, now, expected_version=expected_version)
    case.deadline_at = now + dt.timedelta(days=REVIEW_DAYS)
    session.flush()


def dossier_insufficient(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    rationale: str,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The dossier does not support an assessment (#12); the candidate may appeal."""
    rationale = clean_text(rationale, "rationale")
    _require_assessor(actor, case)
    apply_transition(
        session, actor, case, E.DOSSIER_INSUFFICIENT, now, expected_version=expected_version
    )
    case.integration_note = rationale
    case.deadline_at = None
    session.flush()


# --- outcomes ---------------------------------------------------------------------------------


@dataclass
class OutcomeInput:
    """The panel's decision on one requested competence."""

    competence_code: str
    outcome: Outcome
    rationale: str
    feedback: str = ""
    methods: list[str] = field(default_factory=list)
    evidence_ids: list[str] = field(default_factory=list)


def implied_outcome(
    competence: dict[str, Any], ratings: dict[str, CriterionRating]
) -> tuple[Outcome | None, str]:
    """What a competence's ratings of this round say: VALIDATA when every criterion is rated at
    a passing level (``"passing"``), NON_VALIDATA when every one is rated but not all pass
    (``"ratings_not_passing"``), nothing yet while a criterion is unrated
    (``"criteria_not_rated"``). The panel decides; this is where its form starts."""
    if any(c["code"] not in ratings for c in competence["criteria"]):
        return None, "criteria_not_rated"
    if all(ratings[c["code"]].passing for c in competence["criteria"]):
        return Outcome.VALIDATA, "passing"
    return Outcome.NON_VALIDATA, "ratings_not_passing"


def check_outcomes(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    decisions: list[OutcomeInput],
) -> CaseEvent:
    """Check the outcomes the panel means to record, changing nothing: raises
    :class:`InvalidInput` with a problem per field, else returns the result they give
    (``VALIDATE_FULL``, ``VALIDATE_PARTIAL`` or ``NOT_VALIDATE``)."""
    assessment = current_session(case)
    if assessment is None or actor.person_id not in {m.person_id for m in assessment.members}:
        raise NotPermitted("only the panel records outcomes")
    competences = {c["code"]: c for c in snapshot_competences(case)}
    ratings = current_ratings(case)
    linked = {
        str(e.id) for items in linked_evidence_for_case(session, case).values() for e in items
    }
    errors: dict[str, list[str]] = {}
    if sorted(d.competence_code for d in decisions) != sorted(competences):
        errors["outcomes"] = ["one_per_competence"]
    for decision in decisions:
        key = f"outcome-{decision.competence_code}"
        problems = []
        if not decision.rationale.strip():
            problems.append("rationale_required")
        if decision.outcome != Outcome.VALIDATA and not decision.feedback.strip():
            problems.append("feedback_required")
        competence = competences.get(decision.competence_code)
        if decision.outcome == Outcome.VALIDATA and competence is not None:
            _implied, why = implied_outcome(competence, ratings)
            if why != "passing":  # unrated criteria are not insufficient ones: say which
                problems.append(why)
        if (
            any(m not in AssessmentMethod.__members__.values() for m in decision.methods)
            or not decision.methods
        ):
            problems.append("methods_required")
        if not set(decision.evidence_ids) <= linked:
            problems.append("invalid_choice")
        if problems:
            errors[key] = problems
    if errors:
        raise InvalidInput("outcomes", errors=errors)
    validated = sum(1 for d in decisions if d.outcome == Outcome.VALIDATA)
    if validated == len(decisions):
        return E.VALIDATE_FULL
    return E.VALIDATE_PARTIAL if validated else E.NOT_VALIDATE


def record_outcomes(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    decisions: list[OutcomeInput],
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> CaseStatus:
    """Record one outcome per requested competence (#15), then compute the result (#16).

    A competence is validated only if every one of its criteria was rated at a passing level
    in this round; one not validated needs feedback for the candidate. Returns the new state.
    """
    event = check_outcomes(session, actor, case, decisions)
    assessment = current_session(case)
    if assessment is None:  # pragma: no cover - check_outcomes refused it
        raise NotPermitted("only the panel records outcomes")
    apply_transition(
        session, actor, case, E.RECORD_OUTCOMES, now, expected_version=expected_version
    )
    panel = [str(m.person_id) for m in assessment.members]
    for decision in decisions:
        case.outcomes.append(
            CompetenceOutcome(
                case_id=case.id,
                round=case.assessment_round,
                competence_code=decision.competence_code,
                outcome=decision.outcome,
                rationale=decision.rationale.strip()[:4000],
                feedback=decision.feedback.strip()[:4000],
                methods=sorted(set(decision.methods)),
                evidence_ids=sorted(set(decision.evidence_ids)),
                decided_by=panel,
                decided_at=now,
            )
        )
    assessment.closed_at = now
    apply_transition(session, None, case, event, now)  # computed, never chosen
    if (
        case.status == CaseStatus.VALIDATED_FULL
        and case.workflow_profile == WorkflowProfile.LOMBARDIA_9380
    ):
        # Lombardy's continuous procedure: validation flows straight into certification.
        apply_transition(session, None, case, E.START_CERTIFICATION, now)
    session.flush()
    return case.status


def current_outcomes(case: CertificationCase) -> list[CompetenceOutcome]:
    """This round's outcomes (earlier rounds are kept, superseded)."""
    return [o for o in case.outcomes if o.round == case.assessment_round]


def start_certification(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Go on to certification of the validated competences (#18)."""
    apply_transition(
        session, actor, case, E.START_CERTIFICATION, now, expected_version=expected_version
    )


def certify(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The certifier confirms the outcome collegially (#19): the certificate can be issued."""
    if not any(o.outcome == Outcome.VALIDATA for o in current_outcomes(case)):
        raise InvalidInput("nothing validated", errors={"case": ["nothing_validated"]})
    _require_assessor(actor, case)
    apply_transition(session, actor, case, E.CERTIFY, now, expected_version=expected_version)


# --- suspension, reactivation, cancellation ---------------------------------------------------


def suspend_inactive(session: Session, now: dt.datetime, days: int) -> list[CertificationCase]:
    """Suspend cases that waited for the candidate more than ``days`` days, or past a deadline
    (#26, a daily job)."""
    limit = now - dt.timedelta(days=days)
    cases = session.scalars(
        select(CertificationCase).where(CertificationCase.status.in_(WAITING_FOR_CANDIDATE))
    )
    suspended = []
    for case in cases:
        overdue = (
            case.status == CaseStatus.INTEGRATION_REQUESTED
            and case.deadline_at
            and case.deadline_at < now
        )
        if case.status_changed_at < limit or overdue:
            apply_transition(
                session,
                None,
                case,
                E.SUSPEND,
                now,
                payload={"reason": "deadline" if overdue else "inactivity"},
            )
            suspended.append(case)
    return suspended


def reactivate(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Resume a suspended case where it stopped; a passed integration deadline moves on."""
    apply_transition(session, actor, case, E.REACTIVATE, now, expected_version=expected_version)
    if case.status == CaseStatus.INTEGRATION_REQUESTED:
        case.deadline_at = now + dt.timedelta(days=REVIEW_DAYS)
    session.flush()


def cancel_case(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    reason: str,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """An administrator of the ente cancels a case, e.g. for proven false evidence (#27)."""
    reason = clean_text(reason, "reason")
    apply_transition(
        session,
        actor,
        case,
        E.CANCEL,
        now,
        expected_version=expected_version,
        payload={"reason": reason[:500]},
    )
    case.cancel_reason = reason
    session.flush()
