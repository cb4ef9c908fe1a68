"""The one rule for who sees a case (certification/policy.py): staff only through a role on it.

A table of (case state, who looks) -> relation; the list query agrees with the rule for every
account and case; panel membership follows the panel when it changes; leaving the ente ends
every relation; the rating a member off the panel tried in the outside attack run is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification import assessment as A
from certification.errors import AccessRefused, NotPermitted
from certification.models import CertificationCase, StaffRole
from certification.policy import CaseRelation, can_view_case, case_relations
from certification.roles import OrganisationKind, Role
from certification.states import CaseStatus
from certification.workflow import cases_for_staff
from tests.conftest import NOW
from tests.factories import make_account, make_case, make_organisation
from tests.worlds import LATER, _panel, _to_review, _to_session, assessment_world

S = CaseStatus
R = CaseRelation


@pytest.fixture
def w(db: Session) -> dict[str, Any]:
    """``assessment_world`` plus an operator, a signatory, an administrator of the ente, the
    region's supervisor, and staff of another ente; the case's panel is certifier + assessor."""
    w = assessment_world(db)
    ente = w["ente"]
    region = make_organisation(db, OrganisationKind.ENTE_TITOLARE)
    ente.accredited_by = region
    other = make_organisation(db, OrganisationKind.ENTE_TITOLATO)
    w.update(
        operator=make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente),
        signatory=make_account(db, roles=(Role.SIGNATORY,), organisation=ente),
        admin=make_account(db, roles=(Role.ADMIN,), organisation=ente),
        supervisor=make_account(db, roles=(Role.REGION_SUPERVISOR,), organisation=region),
        foreign_certifier=make_account(db, roles=(Role.CERTIFICATORE,), organisation=other),
    )
    db.flush()
    return w


def _in(db: Session, w: dict[str, Any], status: CaseStatus, **fields: Any) -> CertificationCase:
    case = make_case(db, ente=w["ente"], tutor=w["tutor"], status=status)
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


@pytest.mark.parametrize(("status", "who", "relations"), TABLE)
def test_who_sees_a_case_in_a_state(
    db: Session, w: dict[str, Any], status: CaseStatus, who: str, relations: set[CaseRelation]
) -> None:
    case = _in(db, w, status)
    assert case_relations(w[who], case) == relations
    assert can_view_case(w[who], case) == bool(relations)
    assert case_relations(case.candidate.account, case) == {R.CANDIDATE}


def test_the_operator_who_took_the_case_in_charge_keeps_seeing_it(
    db: Session, w: dict[str, Any]
) -> None:
    case = _in(db, w, S.IDENTIFICATION, assigned_operator_id=w["operator"].person_id)
    assert case_relations(w["operator"], case) == {R.INTAKE}
    # an inactivity suspension keeps the relations of the state it interrupted
    suspended = _in(db, w, S.SUSPENDED_INACTIVE, suspended_from=S.IN_ACCOGLIENZA.value)
    assert case_relations(w["operator"], suspended) == {R.INTAKE}


def test_certifiers_see_a_case_once_its_dossier_is_under_review(
    db: Session, w: dict[str, Any]
) -> None:
    case = w["case"]
    assert not can_view_case(w["certifier2"], case)
    _to_review(db, w)
    assert case_relations(w["certifier2"], case) == {R.CERTIFIER}
    assert not can_view_case(w["assessor"], case)  # no panel yet
    assert not can_view_case(w["foreign_certifier"], case)


def test_the_panel_sees_the_case_and_only_this_rounds_panel_rates(
    db: Session, w: dict[str, Any]
) -> None:
    case = _to_session(db, w)  # panel: certifier + assessor, the session open
    assert R.PANEL in case_relations(w["assessor"], case)
    assert not can_view_case(w["assessor2"], case)
    A.rate_criterion(db, w["assessor"], case, "DEMO-C01", "DEMO-C01-I1", "L3", "", LATER)
    # The outside attack run: an assessor of the ente on no panel of the case saved a rating.
    with pytest.raises(AccessRefused):
        A.rate_criterion(db, w["assessor2"], case, "DEMO-C01", "DEMO-C01-I1", "L1", "", LATER)
    # A certifier of the ente sees it (the review was theirs) but is not on the panel.
    with pytest.raises(NotPermitted):
        A.rate_criterion(db, w["certifier2"], case, "DEMO-C01", "DEMO-C01-I1", "L1", "", LATER)
    # Nor does anyone who merely sees the case record its outcomes.
    with pytest.raises(NotPermitted):
        A.record_outcomes(db, w["certifier2"], case, [], LATER)
    assert A.current_ratings(case)["DEMO-C01-I1"].level_code == "L3"


def test_panel_membership_follows_the_panel_when_it_changes(db: Session, w: dict[str, Any]) -> None:
    case = _to_review(db, w)
    A.plan_assessment(
        db,
        w["certifier"],
        case,
        methods=[A.AssessmentMethod.COLLOQUIO_TECNICO],
        scheduled_at=LATER,
        location="Cremona",
        panel=_panel(w, "certifier", "assessor"),
        now=NOW,
    )
    assert can_view_case(w["assessor"], case) and not can_view_case(w["assessor2"], case)
    A.declare_conflict(db, w["assessor"], case, True, "Conosco il candidato.", NOW)
    A.replace_panel(db, w["certifier"], case, _panel(w, "certifier", "assessor2"), NOW)
    db.expire(case, ["sessions"])
    assert not can_view_case(w["assessor"], case)  # off the panel: no longer sees it
    assert case_relations(w["assessor2"], case) == {R.PANEL}
    assert {c.id for c in cases_for_staff(db, w["assessor"])} == set()
    assert case.id in {c.id for c in cases_for_staff(db, w["assessor2"])}


def test_leaving_the_ente_ends_every_relation(db: Session, w: dict[str, Any]) -> None:
    case = _to_session(db, w)
    assert can_view_case(w["assessor"], case)
    for role in list(w["assessor"].person.staff_roles):
        db.delete(role)
    db.flush()
    db.expire(w["assessor"].person, ["staff_roles"])
    assert not can_view_case(w["assessor"], case)
    w["tutor"].is_active = False
    assert not can_view_case(w["tutor"], case)


def test_the_list_query_is_the_same_rule(db: Session, w: dict[str, Any]) -> None:
    """``visible_cases`` (SQL, for lists) and ``case_relations`` (Python, for one case) agree
    for every account and every case, in every state the table and the workflow give."""
    for status, _who, _relations in TABLE:
        _in(db, w, status)
    _in(db, w, S.IDENTIFICATION, assigned_operator_id=w["operator"].person_id)
    _in(db, w, S.SUSPENDED_INACTIVE, suspended_from=S.SUBMITTED.value)
    _to_session(db, w)
    db.add(
        StaffRole(
            person_id=w["assessor2"].person_id,
            organisation_id=w["ente"].id,
            role=Role.SIGNATORY,
            created_at=NOW,
        )
    )
    db.flush()
    db.expire_all()
    cases = list(db.query(CertificationCase))
    accounts = [v for v in w.values() if hasattr(v, "person_id") and hasattr(v, "email")]
    for account in accounts:
        listed = {c.id for c in cases_for_staff(db, account)}
        seen = {
            c.id for c in cases if can_view_case(account, c) and c.candidate_id != account.person_id
        }
        assert listed == seen, account.email
