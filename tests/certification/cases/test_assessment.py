from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from certification.cases import appeals, panels
from certification.cases import assessment as A
from certification.cases.states import CaseStatus
from certification.errors import AccessRefused, InvalidInput, NotFound, NotPermitted
from certification.models import Outcome, WorkflowProfile
from certification.people.roles import Role
from tests.support.clock import NOW
from tests.support.factories import (
    competence,
    make_account,
)
from tests.support.worlds import (
    LATER,
    CaseWorld,
    decide,
    panel,
    rate_all,
    to_review,
    to_session,
)


def test_the_rubric_is_frozen_when_the_review_starts(db: Session, w: CaseWorld) -> None:
    case = to_review(db, w)
    snapshot = case.snapshot
    assert snapshot is not None and len(snapshot.sha256) == 64
    assert [c["code"] for c in snapshot.content["competences"]] == ["DEMO-C01", "DEMO-C02"]
    assert case.deadline_at == NOW + dt.timedelta(days=30)
    # later changes to the catalogue do not reach the case
    competence(db, "DEMO-C01").criteria[0].text_it = "cambiato"
    assert snapshot.content["competences"][0]["criteria"][0]["text_it"] != "cambiato"


def test_ratings_follow_the_snapshot_and_terzieta(db: Session, w: CaseWorld) -> None:
    case = to_review(db, w)
    rating = A.rate_criterion(db, w.certifier, case, "DEMO-C01", "DEMO-C01-I1", "L2", "ok", NOW)
    assert rating.passing
    rating = A.rate_criterion(db, w.certifier2, case, "DEMO-C01", "DEMO-C01-I1", "L1", "", NOW)
    assert not rating.passing and len(A.current_ratings(case)) == 1  # updated, not duplicated
    with pytest.raises(NotPermitted):  # the case's own tutor, although also an assessor
        A.rate_criterion(db, w.tutor, case, "DEMO-C01", "DEMO-C01-I1", "L3", "", NOW)
    with pytest.raises(InvalidInput):
        A.rate_criterion(db, w.certifier, case, "DEMO-C01", "DEMO-C05-I1", "L2", "", NOW)
    with pytest.raises(InvalidInput):
        A.rate_criterion(db, w.certifier, case, "DEMO-C01", "DEMO-C01-I1", "L7", "", NOW)
    # The dossier review is the certifiers'; an assessor rates only on a panel of the case.
    with pytest.raises(AccessRefused):
        A.rate_criterion(db, w.assessor, case, "DEMO-C01", "DEMO-C01-I1", "L2", "", NOW)
    outsider = make_account(db, roles=(Role.CERTIFICATORE,))  # a certifier of another ente
    with pytest.raises(AccessRefused):
        A.rate_criterion(db, outsider, case, "DEMO-C01", "DEMO-C01-I1", "L2", "", NOW)


def test_integration_round_trip(db: Session, w: CaseWorld) -> None:
    case = to_review(db, w)
    with pytest.raises(InvalidInput):
        A.request_integration(db, w.certifier, case, "", NOW.date() + dt.timedelta(days=10), NOW)
    with pytest.raises(InvalidInput):
        A.request_integration(
            db, w.certifier, case, "Manca il report", NOW.date() + dt.timedelta(days=400), NOW
        )
    A.request_integration(
        db, w.certifier, case, "Manca il report finale", NOW.date() + dt.timedelta(days=10), NOW
    )
    assert case.status == CaseStatus.INTEGRATION_REQUESTED
    with pytest.raises(InvalidInput) as info:
        A.resubmit(db, w.candidate, case, NOW + dt.timedelta(days=20))
    assert info.value.errors == {"case": ["deadline_passed"]}
    A.resubmit(db, w.tutor, case, NOW + dt.timedelta(days=5))
    assert case.status == CaseStatus.DOSSIER_REVIEW


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (("certifier",), "panel_composition"),
        (("assessor",), "panel_composition"),
        (("certifier", "tutor"), "panel_tutor"),
        (("certifier", "junior"), "panel_assessor_experience"),
    ],
)
def test_panel_rules(db: Session, w: CaseWorld, names: tuple[str, ...], problem: str) -> None:
    case = to_review(db, w)
    with pytest.raises(InvalidInput) as info:
        panels.plan_assessment(
            db,
            w.certifier,
            case,
            methods=["colloquio_tecnico"],
            scheduled_at=LATER,
            location="Cremona",
            panel=panel(w, *names),
            now=NOW,
        )
    assert problem in info.value.errors["panel"]
    assert case.status == CaseStatus.DOSSIER_REVIEW and case.sessions == []


def test_ten_years_rule_is_lombardys(db: Session, w: CaseWorld) -> None:
    w.case.workflow_profile = WorkflowProfile.NATIONAL_IVC_PLUS_CERT
    case = to_review(db, w)
    panels.plan_assessment(
        db,
        w.certifier,
        case,
        methods=["colloquio_tecnico"],
        scheduled_at=LATER,
        location="Cremona",
        panel=panel(w, "certifier", "junior"),
        now=NOW,
    )
    assert case.status == CaseStatus.ASSESSMENT_SCHEDULED


def test_the_session_opens_only_with_clean_declarations(db: Session, w: CaseWorld) -> None:
    case = to_review(db, w)
    panels.plan_assessment(
        db,
        w.certifier,
        case,
        methods=["prova_pratica"],
        scheduled_at=LATER,
        location="Cremona",
        panel=panel(w, "certifier", "assessor"),
        now=NOW,
    )
    with pytest.raises(InvalidInput) as info:
        panels.open_session(db, w.certifier, case, identity_checked=True, now=LATER)
    assert info.value.errors == {"session": ["declarations_missing"]}
    panels.declare_conflict(db, w.certifier, case, False, "", NOW)
    with pytest.raises(InvalidInput):  # a conflict needs an explanation
        panels.declare_conflict(db, w.assessor, case, True, " ", NOW)
    panels.declare_conflict(db, w.assessor, case, True, "Ho lavorato con la candidata.", NOW)
    with pytest.raises(InvalidInput) as info:
        panels.open_session(db, w.certifier, case, identity_checked=False, now=LATER)
    assert set(info.value.errors["session"]) == {"identity_not_checked", "conflict_declared"}
    with pytest.raises(InvalidInput):  # the conflicted member cannot come back
        panels.replace_panel(db, w.certifier, case, panel(w, "certifier", "assessor"), NOW)
    panels.replace_panel(db, w.certifier, case, panel(w, "certifier", "assessor2"), NOW)
    panels.declare_conflict(db, w.certifier, case, False, "", NOW)
    panels.declare_conflict(db, w.assessor2, case, False, "", NOW)
    with pytest.raises(NotPermitted):  # not on the panel
        panels.open_session(db, w.certifier2, case, identity_checked=True, now=LATER)
    panels.open_session(db, w.certifier, case, identity_checked=True, now=LATER)
    assert case.status == CaseStatus.ASSESSMENT_IN_PROGRESS


def test_outcomes_are_checked_and_the_result_computed(db: Session, w: CaseWorld) -> None:
    case = to_session(db, w)
    rate_all(db, w, "DEMO-C01", "L2")
    rate_all(db, w, "DEMO-C02", "L1")
    bad = [
        ([decide("DEMO-C01", Outcome.VALIDATA)], "outcomes", "one_per_competence"),
        (
            [
                decide("DEMO-C01", Outcome.VALIDATA, rationale=" "),
                decide("DEMO-C02", Outcome.NON_VALIDATA),
            ],
            "outcome-DEMO-C01",
            "rationale_required",
        ),
        (
            [decide("DEMO-C01", Outcome.VALIDATA), decide("DEMO-C02", Outcome.VALIDATA)],
            "outcome-DEMO-C02",
            "ratings_not_passing",
        ),
        (
            [
                decide("DEMO-C01", Outcome.VALIDATA),
                decide("DEMO-C02", Outcome.NON_VALIDATA, feedback=""),
            ],
            "outcome-DEMO-C02",
            "feedback_required",
        ),
        (
            [
                decide("DEMO-C01", Outcome.VALIDATA, evidence_ids=["not-an-id"]),
                decide("DEMO-C02", Outcome.NON_VALIDATA),
            ],
            "outcome-DEMO-C01",
            "invalid_choice",
        ),
    ]
    for decisions, key, problem in bad:
        with pytest.raises(InvalidInput) as info:
            A.record_outcomes(db, w.certifier, case, decisions, LATER)
        assert problem in info.value.errors[key], (key, problem, info.value.errors)
        assert case.status == CaseStatus.ASSESSMENT_IN_PROGRESS and case.outcomes == []
    with pytest.raises(NotPermitted):
        A.record_outcomes(db, w.certifier2, case, [], LATER)
    status = A.record_outcomes(
        db,
        w.certifier,
        case,
        [
            decide("DEMO-C01", Outcome.VALIDATA, evidence_ids=[str(w.evidence.id)]),
            decide("DEMO-C02", Outcome.NON_VALIDATA),
        ],
        LATER,
    )
    assert status == CaseStatus.VALIDATED_PARTIAL  # computed, and it stays for the candidate
    events = [t.event for t in case.transitions]
    assert events[-2:] == ["record_outcomes", "validate_partial"]
    assert case.transitions[-1].actor_user_id is None  # the system computed it


def test_full_validation_flows_into_certification_in_lombardy(db: Session, w: CaseWorld) -> None:
    case = to_session(db, w)
    rate_all(db, w, "DEMO-C01", "L3")
    rate_all(db, w, "DEMO-C02", "L2")
    A.record_outcomes(
        db,
        w.certifier,
        case,
        [decide("DEMO-C01", Outcome.VALIDATA), decide("DEMO-C02", Outcome.VALIDATA)],
        LATER,
    )
    assert case.status == CaseStatus.CERTIFICATION
    assert [t.event for t in case.transitions][-3:] == [
        "record_outcomes",
        "validate_full",
        "start_certification",
    ]
    A.certify(db, w.certifier, case, LATER)
    assert case.status == CaseStatus.CERTIFIED


def test_appeals(db: Session, w: CaseWorld) -> None:
    case = to_session(db, w)
    rate_all(db, w, "DEMO-C01", "L1")
    rate_all(db, w, "DEMO-C02", "L1")
    A.record_outcomes(
        db,
        w.certifier,
        case,
        [decide("DEMO-C01", Outcome.NON_VALIDATA), decide("DEMO-C02", Outcome.NON_VALIDATA)],
        LATER,
    )
    assert case.status == CaseStatus.NOT_VALIDATED
    with pytest.raises(InvalidInput) as info:
        appeals.file_appeal(
            db,
            w.candidate,
            case,
            "Il report non è stato considerato.",
            LATER + dt.timedelta(days=31),
        )
    assert info.value.errors == {"grounds": ["appeal_too_late"]}
    appeals.file_appeal(
        db, w.candidate, case, "Il report non è stato considerato.", LATER + dt.timedelta(days=3)
    )
    assert case.status == CaseStatus.APPEAL_PENDING
    with pytest.raises(NotPermitted):  # someone from the first panel cannot decide it
        appeals.reject_appeal(db, w.certifier, case, "no", LATER)
    with pytest.raises(InvalidInput) as info:  # nor sit on the new panel
        appeals.uphold_appeal(
            db,
            w.certifier2,
            case,
            "Da rivedere",
            methods=["colloquio_tecnico"],
            scheduled_at=LATER + dt.timedelta(days=20),
            location="Cremona",
            panel=panel(w, "certifier2", "assessor"),
            now=LATER,
        )
    assert "panel_previous" in info.value.errors["panel"]
    appeals.uphold_appeal(
        db,
        w.certifier2,
        case,
        "Il report va esaminato.",
        methods=["colloquio_tecnico"],
        scheduled_at=LATER + dt.timedelta(days=20),
        location="Cremona",
        panel=panel(w, "certifier2", "assessor2"),
        now=LATER,
    )
    assert case.status == CaseStatus.ASSESSMENT_SCHEDULED and case.assessment_round == 2
    assert all(o.superseded_at == LATER for o in case.outcomes)
    assert A.current_ratings(case) == {}  # the new panel rates afresh
    assert case.appeals[0].status.value == "upheld"


def test_rejected_appeal_closes_the_case(db: Session, w: CaseWorld) -> None:
    case = to_review(db, w)
    A.dossier_insufficient(db, w.certifier, case, "Nessuna evidenza per C02.", NOW)
    appeals.file_appeal(db, w.candidate, case, "Ho allegato il report.", NOW)
    with pytest.raises(InvalidInput):
        appeals.reject_appeal(db, w.certifier2, case, "", NOW)
    appeals.reject_appeal(db, w.certifier2, case, "Il report non riguarda C02.", NOW)
    assert case.status == CaseStatus.CLOSED and case.closed_at == NOW
    with pytest.raises(NotFound):
        appeals._open_appeal(w.certifier2, case)


def test_suspension_reactivation_and_cancellation(db: Session, w: CaseWorld) -> None:
    case = to_review(db, w)
    A.request_integration(
        db, w.certifier, case, "Manca il report", NOW.date() + dt.timedelta(days=5), NOW
    )
    assert A.suspend_inactive(db, NOW + dt.timedelta(days=2), days=90) == []
    assert A.suspend_inactive(db, NOW + dt.timedelta(days=6), days=90) == [case]
    assert case.status == CaseStatus.SUSPENDED_INACTIVE
    assert case.suspended_from == "integration_requested"
    A.reactivate(db, w.candidate, case, NOW + dt.timedelta(days=7))
    assert case.status == CaseStatus.INTEGRATION_REQUESTED and case.suspended_from is None
    assert case.deadline_at == NOW + dt.timedelta(days=37)  # a fresh deadline
    admin = make_account(db, roles=(Role.ADMIN,), organisation=w.ente)
    with pytest.raises(InvalidInput):
        A.cancel_case(db, admin, case, " ", NOW)
    A.cancel_case(db, admin, case, "Evidenze false accertate.", NOW)
    assert case.status == CaseStatus.CANCELLED and case.cancel_reason
