from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification.audit import chains
from certification.cases import workflow
from certification.cases.states import TRANSITIONS, CaseStatus
from certification.errors import InvalidInput, NotPermitted
from certification.models import ConsentPurpose
from certification.people.codice_fiscale import normalise_codice_fiscale
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import (
    make_account,
    make_candidate,
    make_case,
    make_organisation,
    profile,
)


@pytest.fixture
def cast(db: Session) -> dict[str, Any]:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    other = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    return {
        "ente": ente,
        "candidate": make_candidate(db),
        "other_candidate": make_candidate(db),
        "operator": make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=ente),
        "other_tutor": make_account(db, roles=(Role.TUTOR,), organisation=ente),
        "certifier": make_account(db, roles=(Role.CERTIFICATORE,), organisation=ente),
        "assessor": make_account(db, roles=(Role.ASSESSOR,), organisation=ente),
        "signatory": make_account(db, roles=(Role.SIGNATORY,), organisation=ente),
        "admin": make_account(db, roles=(Role.ADMIN,), organisation=ente),
        "foreign_operator": make_account(
            db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=other
        ),
        "foreign_certifier": make_account(db, roles=(Role.CERTIFICATORE,), organisation=other),
    }


# Who may fire each event, among the cast (the case belongs to "candidate", tutor "tutor", taken
# in charge by "operator", its dossier reviewed: each of them has a role on it, see policy.py).
# An empty set: only the system (computed results, timeouts).
ALLOWED: dict[str, set[str]] = {
    "submit": {"candidate"},
    "take_charge": {"operator"},
    "reject": {"operator"},
    "admit": {"operator"},
    "issue_transparency": {"tutor"},
    "stop": {"candidate"},
    "request_validation": {"candidate"},
    "request_integration": {"certifier"},  # assessors act only on the panels they sit on
    "resubmit": {"candidate", "tutor"},
    "dossier_insufficient": {"certifier"},
    "plan_assessment": {"certifier"},
    "open_session": {"certifier"},
    "record_outcomes": {"certifier"},
    "validate_full": set(),
    "validate_partial": set(),
    "not_validate": set(),
    "issue_validation_doc": {"certifier", "signatory"},
    "start_certification": {"candidate", "certifier"},
    "certify": {"certifier"},
    "issue_certificate": {"signatory"},
    "close": set(),
    "file_appeal": {"candidate"},
    "uphold_appeal": {"certifier"},
    "reject_appeal": {"certifier"},
    "withdraw": {"candidate"},
    "suspend": set(),
    "reactivate": {"candidate", "certifier", "operator"},
    "cancel": {"admin"},
}


def _case_in(cast: dict[str, Any], status: CaseStatus) -> Any:
    """An unsaved case in ``status``: the engine's checks need no row."""
    from certification.models import (
        CertificationCase,
        RubricSnapshot,
        TargetScope,
        WorkflowProfile,
    )

    return CertificationCase(
        candidate_id=cast["candidate"].person_id,
        ente_titolato_id=cast["ente"].id,
        workflow_profile=WorkflowProfile.LOMBARDIA_9380,
        target_profile_id=None,
        target_scope=TargetScope.SINGLE_COMPETENCES,
        status=status,
        status_changed_at=NOW,
        opened_at=NOW,
        assigned_tutor_id=cast["tutor"].person_id,
        assigned_operator_id=cast["operator"].person_id,
        snapshot=RubricSnapshot(content={}, sha256="0" * 64, created_at=NOW),
        transitions=[],
    )


def _fire(db: Session, actor: Any, case: Any, event: str) -> Exception | None:
    savepoint = db.begin_nested()
    try:
        workflow.apply_transition(db, actor, case, event, NOW)
    except (workflow.InvalidTransition, NotPermitted) as exc:
        return exc
    finally:
        savepoint.rollback()
    return None


def test_the_table_is_the_whole_state_machine() -> None:
    assert set(ALLOWED) == set(TRANSITIONS)
    reachable = {t.target for t in TRANSITIONS.values()} | {CaseStatus.DRAFT}
    assert reachable - {None} == set(CaseStatus)


@pytest.mark.parametrize("event", sorted(TRANSITIONS))
def test_every_event_from_every_state(db: Session, cast: dict[str, Any], event: str) -> None:
    """From each state: the event moves the case exactly when the table lists the state."""
    rule = TRANSITIONS[event]
    actor = cast[sorted(ALLOWED[event])[0]] if ALLOWED[event] else None
    for status in CaseStatus:
        case = _case_in(cast, status)
        refusal = _fire(db, actor, case, event)
        if status in rule.sources:
            assert refusal is None, (status, refusal)
            assert case.status == (rule.target or CaseStatus.IDENTIFICATION)
            assert [t.event for t in case.transitions] == [event]
        else:
            assert isinstance(refusal, workflow.InvalidTransition), status
            assert case.status == status and case.transitions == []


@pytest.mark.parametrize("event", sorted(TRANSITIONS))
def test_every_actor_for_every_event(db: Session, cast: dict[str, Any], event: str) -> None:
    """From a valid state: exactly the allowed actors may fire the event, nobody else."""
    rule = TRANSITIONS[event]
    source = sorted(rule.sources)[0]
    for who in sorted(set(cast) - {"ente"}):
        case = _case_in(cast, source)
        refusal = _fire(db, cast[who], case, event)
        if who in ALLOWED[event]:
            assert refusal is None, (who, refusal)
        else:
            assert isinstance(refusal, NotPermitted), who
            assert case.status == source and case.transitions == []


@pytest.mark.parametrize(("event", "who"), [("withdraw", "candidate"), ("cancel", "admin")])
def test_no_withdrawal_or_cancellation_once_the_certificate_is_issued(
    db: Session, cast: dict[str, Any], event: str, who: str
) -> None:
    """The certificate stays valid, so the case cannot become withdrawn or cancelled: a
    revocation or a correction of the certificate is the way."""
    case = _case_in(cast, CaseStatus.CERTIFICATE_ISSUED)
    assert isinstance(_fire(db, cast[who], case, event), workflow.InvalidTransition)
    assert case.status == CaseStatus.CERTIFICATE_ISSUED
    assert _fire(db, cast[who], _case_in(cast, CaseStatus.CERTIFIED), event) is None


def _submission(**changes: Any) -> workflow.SubmissionInput:
    data = {
        "birth_date": dt.date(2000, 5, 17),
        "birth_place": "Cremona",
        "codice_fiscale": "rss mra 85t10 a562s",
        "consent_processing": True,
        "consent_public_verification": True,
        "declaration_accepted": True,
    }
    data.update(changes)
    return workflow.SubmissionInput(**data)


def test_create_and_submit(db: Session, cast: dict[str, Any]) -> None:
    candidate = cast["candidate"]
    case = workflow.create_case(
        db, candidate, ente_titolato=cast["ente"], profile=profile(db), competences=None, now=NOW
    )
    assert case.status == CaseStatus.DRAFT and len(case.competences) == 5
    workflow.submit_case(db, candidate, case, _submission(), NOW)
    assert case.status == CaseStatus.SUBMITTED
    assert case.protocol_number == "CML-2026-000001"
    assert candidate.person.codice_fiscale == "RSSMRA85T10A562S"
    assert {c.purpose for c in case.consents} == {
        ConsentPurpose.PROCESSING_IVC,
        ConsentPurpose.PUBLIC_VERIFICATION_PAGE,
    }
    second = workflow.create_case(
        db,
        candidate,
        ente_titolato=cast["ente"],
        profile=profile(db),
        competences=[profile(db).competence_links[0].competence],
        now=NOW,
    )
    workflow.submit_case(db, candidate, second, _submission(), NOW)
    assert second.protocol_number == "CML-2026-000002"


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"consent_processing": False}, "consent_processing", "must_accept"),
        ({"declaration_accepted": False}, "declaration_accepted", "must_accept"),
        ({"birth_date": dt.date(2010, 1, 1)}, "guardian_name", "guardian_required"),
        ({"birth_date": dt.date(2030, 1, 1)}, "birth_date", "bad_date"),
        ({"codice_fiscale": "RSSMRA85T10A562X"}, "codice_fiscale", "bad_codice_fiscale"),
        ({"birth_place": " "}, "birth_place", "required"),
    ],
)
def test_submission_guards(
    db: Session, cast: dict[str, Any], changes: dict[str, Any], field: str, problem: str
) -> None:
    case = make_case(db, candidate=cast["candidate"], ente=cast["ente"])
    with pytest.raises(InvalidInput) as info:
        workflow.submit_case(db, cast["candidate"], case, _submission(**changes), NOW)
    assert info.value.errors[field] == [problem]
    assert case.status == CaseStatus.DRAFT and case.protocol_number is None


def test_a_minor_needs_a_guardian(db: Session, cast: dict[str, Any]) -> None:
    case = make_case(db, candidate=cast["candidate"], ente=cast["ente"])
    workflow.submit_case(
        db,
        cast["candidate"],
        case,
        _submission(
            birth_date=dt.date(2010, 3, 1), guardian_name="Maria Rossi", guardian_consent=True
        ),
        NOW,
    )
    guardian = [c for c in case.consents if c.purpose == ConsentPurpose.GUARDIAN]
    assert guardian and guardian[0].guardian_name == "Maria Rossi"


def test_reception_admits_with_a_tutor_of_the_same_ente(db: Session, cast: dict[str, Any]) -> None:
    case = make_case(
        db, candidate=cast["candidate"], ente=cast["ente"], status=CaseStatus.SUBMITTED
    )
    workflow.take_charge(db, cast["operator"], case, NOW)
    outsider_tutor = make_account(db, roles=(Role.TUTOR,))
    with pytest.raises(InvalidInput):
        workflow.admit_case(db, cast["operator"], case, outsider_tutor.person, NOW)
    workflow.admit_case(db, cast["operator"], case, cast["tutor"].person, NOW)
    assert case.status == CaseStatus.IDENTIFICATION
    assert case.assigned_tutor_id == cast["tutor"].person_id


def test_reject_needs_a_known_reason(db: Session, cast: dict[str, Any]) -> None:
    case = make_case(
        db, candidate=cast["candidate"], ente=cast["ente"], status=CaseStatus.IN_ACCOGLIENZA
    )
    with pytest.raises(InvalidInput):
        workflow.reject_case(db, cast["operator"], case, "made_up", "", NOW)
    with pytest.raises(InvalidInput):
        workflow.reject_case(db, cast["operator"], case, "other", "  ", NOW)
    workflow.reject_case(db, cast["operator"], case, "regulated_profession", "", NOW)
    assert case.status == CaseStatus.NOT_ADMITTED and case.closed_at == NOW


def test_stale_forms_are_refused(db: Session, cast: dict[str, Any]) -> None:
    case = make_case(
        db, candidate=cast["candidate"], ente=cast["ente"], status=CaseStatus.SUBMITTED
    )
    seen = case.version
    workflow.take_charge(db, cast["operator"], case, NOW, expected_version=seen)
    with pytest.raises(workflow.StaleCase):
        workflow.reject_case(
            db, cast["operator"], case, "other", "late", NOW, expected_version=seen
        )
    assert case.status == CaseStatus.IN_ACCOGLIENZA


def test_hash_chain_detects_tampering(db: Session, cast: dict[str, Any]) -> None:
    case = make_case(
        db, candidate=cast["candidate"], ente=cast["ente"], status=CaseStatus.SUBMITTED
    )
    workflow.take_charge(db, cast["operator"], case, NOW)
    workflow.admit_case(
        db, cast["operator"], case, cast["tutor"].person, NOW + dt.timedelta(hours=1)
    )
    assert chains.verify_case_chain(case) is None
    case.transitions[0].payload = {"tutor": "someone else"}
    broken = chains.verify_case_chain(case)
    assert broken is not None and broken.sequence == 1 and broken.reason == "content changed"
    case.transitions[0].payload = {}
    case.transitions[1].prev_hash = "f" * 64
    broken = chains.verify_case_chain(case)
    assert broken is not None and broken.sequence == 2


def test_only_candidates_apply_and_only_to_entes_titolati(
    db: Session, cast: dict[str, Any]
) -> None:
    with pytest.raises(NotPermitted):
        workflow.create_case(
            db,
            cast["operator"],
            ente_titolato=cast["ente"],
            profile=profile(db),
            competences=None,
            now=NOW,
        )
    host = make_organisation(db, OrganisationKind.HOST)
    with pytest.raises(InvalidInput):
        workflow.create_case(
            db,
            cast["candidate"],
            ente_titolato=host,
            profile=profile(db),
            competences=None,
            now=NOW,
        )
    with pytest.raises(InvalidInput):
        workflow.create_case(
            db,
            cast["candidate"],
            ente_titolato=cast["ente"],
            profile=profile(db),
            competences=[],
            now=NOW,
        )


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("RSSMRA85T10A562S", True),
        ("rssmra85t10a562s", True),
        ("RSSMRA85T10A562T", False),
        ("RSSMRA85T10A562", False),
        ("12345678901", False),
    ],
)
def test_codice_fiscale(value: str, ok: bool) -> None:
    if ok:
        assert normalise_codice_fiscale(value) == value.upper()
    else:
        with pytest.raises(ValueError, match="invalid"):
            normalise_codice_fiscale(value)
