"""The one rule for who sees a case (certification/policy.py): staff only through a role on it.

A table of (case state, who looks) -> relation; the list query agrees with the rule for every
account and case; panel membership follows the panel when it changes; leaving the ente ends
every relation; the rating a member off the panel tried in the outside attack run is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification.cases import assessment as A
from certification.cases import panels
from certification.cases.states import CaseStatus
from certification.cases.workflow import cases_for_staff
from certification.errors import AccessRefused, NotPermitted
from certification.models import CertificationCase, StaffRole
from certification.people.roles import OrganisationKind, Role
from certification.policy import (
    CaseRelation,
    administers,
    can_view_case,
    case_relations,
    is_signatory,
    may_cancel_case,
    runs_card_programme,
    signs_for,
)
from tests.support.clock import NOW
from tests.support.factories import make_account, make_case, make_organisation
from tests.support.worlds import LATER, StaffWorld, assessment_world, panel, to_review, to_session

S = CaseStatus
R = CaseRelation


@pytest.fixture
def w(db: Session) -> StaffWorld:
    """``assessment_world`` plus an operator, a signatory, an administrator of the ente, the
    region's supervisor, and staff of another ente; the case's panel is certifier + assessor."""
    w = assessment_world(db)
    ente = w.ente
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    ente.accredited_by = region
    other = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    w = StaffWorld(
        **{k: v for k, v in vars(w).items() if k != "signatory"},
        operator=make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
        signatory=make_account(db, roles=(Role.SIGNATORY,), organisation=ente),
        admin=make_account(db, roles=(Role.ADMIN,), organisation=ente),
        supervisor=make_account(db, roles=(Role.REGION_SUPERVISOR,), organisation=region),
        foreign_certifier=make_account(db, roles=(Role.CERTIFICATORE,), organisation=other),
    )
    db.flush()
    return w


def _in(db: Session, w: StaffWorld, status: CaseStatus, **fields: Any) -> CertificationCase:
    case = make_case(db, ente=w.ente, tutor=w.tutor, status=status)
    for name, value in fields.items():
        setattr(case, name, value)
    db.flush()
    return case


# (state, who looks) -> the relations they have. A case set straight into a state has no rubric
# frozen and no panel: those come from the workflow (tests below).
TABLE: list[tuple[CaseStatus, str, set[CaseRelation]]] = [
    (S.DRAFT, "tutor", set()),  # a draft is its candidate's alone
    (S.DRAFT, "supervisor", set()),
    (S.SUBMITTED, "operator", {R.INTAKE}),
    (S.SUBMITTED, "tutor", {R.TUTOR}),
    (S.SUBMITTED, "certifier", set()),
    (S.SUBMITTED, "assessor", set()),
    (S.SUBMITTED, "signatory", set()),
    (S.SUBMITTED, "admin", set()),
    (S.SUBMITTED, "supervisor", {R.SUPERVISOR}),
    (S.SUBMITTED, "foreign_certifier", set()),
    (S.IN_ACCOGLIENZA, "operator", {R.INTAKE}),
    (S.IDENTIFICATION, "operator", set()),  # out of intake, and not the one who took it
    (S.IDENTIFICATION, "tutor", {R.TUTOR}),
    (S.IDENTIFICATION, "assessor2", set()),
    (S.VALIDATED_PARTIAL, "signatory", {R.SIGNATORY}),
    (S.CERTIFIED, "signatory", {R.SIGNATORY}),
    (S.CERTIFICATE_ISSUED, "signatory", {R.SIGNATORY}),
    (S.CLOSED, "signatory", set()),  # the certificate page is theirs, not the closed case
    (S.CERTIFIED, "assessor2", set()),
    (S.CERTIFIED, "admin", set()),
]


@pytest.mark.slow
@pytest.mark.parametrize(("status", "who", "relations"), TABLE)
def test_who_sees_a_case_in_a_state(
    db: Session, w: StaffWorld, status: CaseStatus, who: str, relations: set[CaseRelation]
) -> None:
    case = _in(db, w, status)
    assert case_relations(w.account(who), case) == relations
    assert can_view_case(w.account(who), case) == bool(relations)
    assert case_relations(case.candidate.account, case) == {R.CANDIDATE}


def test_the_operator_who_took_the_case_in_charge_keeps_seeing_it(
    db: Session, w: StaffWorld
) -> None:
    case = _in(db, w, S.IDENTIFICATION, assigned_operator_id=w.operator.person_id)
    assert case_relations(w.operator, case) == {R.INTAKE}
    # an inactivity suspension keeps the relations of the state it interrupted
    suspended = _in(db, w, S.SUSPENDED_INACTIVE, suspended_from=S.IN_ACCOGLIENZA.value)
    assert case_relations(w.operator, suspended) == {R.INTAKE}


def test_certifiers_see_a_case_once_its_dossier_is_under_review(db: Session, w: StaffWorld) -> None:
    case = w.case
    assert not can_view_case(w.certifier2, case)
    to_review(db, w)
    assert case_relations(w.certifier2, case) == {R.CERTIFIER}
    assert not can_view_case(w.assessor, case)  # no panel yet
    assert not can_view_case(w.foreign_certifier, case)


def test_the_panel_sees_the_case_and_only_this_rounds_panel_rates(
    db: Session, w: StaffWorld
) -> None:
    case = to_session(db, w)  # panel: certifier + assessor, the session open
    assert R.PANEL in case_relations(w.assessor, case)
    assert not can_view_case(w.assessor2, case)
    A.rate_criterion(db, w.assessor, case, "DEMO-C01", "DEMO-C01-I1", "L3", "", LATER)
    # The outside attack run: an assessor of the ente on no panel of the case saved a rating.
    with pytest.raises(AccessRefused):
        A.rate_criterion(db, w.assessor2, case, "DEMO-C01", "DEMO-C01-I1", "L1", "", LATER)
    # A certifier of the ente sees it (the review was theirs) but is not on the panel.
    with pytest.raises(NotPermitted):
        A.rate_criterion(db, w.certifier2, case, "DEMO-C01", "DEMO-C01-I1", "L1", "", LATER)
    # Nor does anyone who merely sees the case record its outcomes.
    with pytest.raises(NotPermitted):
        A.record_outcomes(db, w.certifier2, case, [], LATER)
    assert A.current_ratings(case)["DEMO-C01-I1"].level_code == "L3"


def test_panel_membership_follows_the_panel_when_it_changes(db: Session, w: StaffWorld) -> None:
    case = to_review(db, w)
    panels.plan_assessment(
        db,
        w.certifier,
        case,
        methods=[A.AssessmentMethod.COLLOQUIO_TECNICO],
        scheduled_at=LATER,
        location="Cremona",
        panel=panel(w, "certifier", "assessor"),
        now=NOW,
    )
    assert can_view_case(w.assessor, case) and not can_view_case(w.assessor2, case)
    panels.declare_conflict(db, w.assessor, case, True, "Conosco il candidato.", NOW)
    panels.replace_panel(db, w.certifier, case, panel(w, "certifier", "assessor2"), NOW)
    db.expire(case, ["sessions"])
    assert not can_view_case(w.assessor, case)  # off the panel: no longer sees it
    assert case_relations(w.assessor2, case) == {R.PANEL}
    assert {c.id for c in cases_for_staff(db, w.assessor)} == set()
    assert case.id in {c.id for c in cases_for_staff(db, w.assessor2)}


def test_leaving_the_ente_ends_every_relation(db: Session, w: StaffWorld) -> None:
    case = to_session(db, w)
    assert can_view_case(w.assessor, case)
    for role in list(w.assessor.person.staff_roles):
        db.delete(role)
    db.flush()
    db.expire(w.assessor.person, ["staff_roles"])
    assert not can_view_case(w.assessor, case)
    w.tutor.is_active = False
    assert not can_view_case(w.tutor, case)


@pytest.mark.slow
def test_the_list_query_is_the_same_rule(db: Session, w: StaffWorld) -> None:
    """``visible_cases`` (SQL, for lists) and ``case_relations`` (Python, for one case) agree
    for every account and every case, in every state the table and the workflow give."""
    for status, _who, _relations in TABLE:
        _in(db, w, status)
    _in(db, w, S.IDENTIFICATION, assigned_operator_id=w.operator.person_id)
    _in(db, w, S.SUSPENDED_INACTIVE, suspended_from=S.SUBMITTED.value)
    to_session(db, w)
    db.add(
        StaffRole(
            person_id=w.assessor2.person_id,
            organisation_id=w.ente.id,
            role=Role.SIGNATORY,
            created_at=NOW,
        )
    )
    db.flush()
    db.expire_all()
    cases = list(db.query(CertificationCase))
    accounts = w.accounts()
    for account in accounts:
        listed = {c.id for c in cases_for_staff(db, account)}
        seen = {
            c.id for c in cases if can_view_case(account, c) and c.candidate_id != account.person_id
        }
        assert listed == seen, account.email


def test_administrators_cancel_the_cases_of_their_ente_but_drafts(
    db: Session, w: StaffWorld
) -> None:
    """They cancel a case by its id without seeing it; the candidate's draft is not theirs."""
    submitted, draft = _in(db, w, S.SUBMITTED), _in(db, w, S.DRAFT)
    assert administers(w.admin, w.ente.id)
    assert may_cancel_case(w.admin, submitted) and not can_view_case(w.admin, submitted)
    assert not may_cancel_case(w.admin, draft)
    for who in ("operator", "certifier", "signatory", "supervisor", "foreign_certifier"):
        assert not administers(w.account(who), w.ente.id), who
        assert not may_cancel_case(w.account(who), submitted), who


def test_signatories_sign_for_their_own_ente_only(db: Session, w: StaffWorld) -> None:
    assert is_signatory(w.signatory) and signs_for(w.signatory, w.ente.id)
    other = w.foreign_certifier.person.staff_roles[0].organisation_id
    assert not signs_for(w.signatory, other)
    for who in ("operator", "certifier", "admin", "supervisor"):
        assert not is_signatory(w.account(who)), who
        assert not signs_for(w.account(who), w.ente.id), who


def test_operators_and_administrators_of_an_ente_titolato_run_its_card_programme(
    db: Session, w: StaffWorld
) -> None:
    assert runs_card_programme(w.operator) and runs_card_programme(w.admin)
    for who in ("certifier", "signatory", "tutor", "supervisor"):
        assert not runs_card_programme(w.account(who)), who
    # The region's administrator is an administrator, but of no ente titolato.
    region = w.supervisor.person.staff_roles[0].organisation
    assert not runs_card_programme(make_account(db, roles=(Role.ADMIN,), organisation=region))
    w.operator.is_active = False
    assert not runs_card_programme(w.operator)
