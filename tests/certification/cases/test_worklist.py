"""Whose next step a case waits for (certification/cases/worklist.py, issue 18): a table of (state,
who) -> the tasks in their queue; the SQL of the queue agrees with the rule for every account
and case; the list of cases searches, filters, sorts and pages, and shows nobody a case they
do not see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.cases.worklist import (
    CaseFilter,
    Sort,
    StateGroup,
    Task,
    days_late,
    due_steps,
    list_cases,
    my_worklist,
)
from certification.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    CertificationCase,
    RubricSnapshot,
)
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import make_account, make_case, make_organisation
from tests.support.worlds import StaffWorld, assessment_world, to_session

S = CaseStatus
T = Task


@pytest.fixture
def w(db: Session) -> StaffWorld:
    """``assessment_world`` plus an operator, a signatory, an administrator, the region's
    supervisor, and a certifier and a case of another ente."""
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
        other=other,
    )
    db.flush()
    return w


def _in(db: Session, w: StaffWorld, status: CaseStatus, **fields: Any) -> CertificationCase:
    """A case of the ente set straight into ``status``; from the review on, with its rubric."""
    case = make_case(db, ente=fields.pop("ente", w.ente), tutor=w.tutor, status=status)
    if status not in {S.SUBMITTED, S.IN_ACCOGLIENZA, S.IDENTIFICATION, S.TRANSPARENCY_ISSUED}:
        case.snapshot = RubricSnapshot(content={}, sha256="0" * 64, created_at=NOW)
    for name, value in fields.items():
        setattr(case, name, value)
    db.flush()
    return case


# (state, who looks) -> the tasks of that case in their queue.
TABLE: list[tuple[CaseStatus, str, set[Task]]] = [
    (S.SUBMITTED, "operator", {T.TAKE_CHARGE}),
    (S.SUBMITTED, "tutor", set()),  # sees it, but the step is the operator's
    (S.SUBMITTED, "supervisor", set()),  # reads, never acts
    (S.SUBMITTED, "admin", set()),
    (S.IN_ACCOGLIENZA, "operator", {T.ADMISSION}),
    (S.IDENTIFICATION, "tutor", {T.TRANSPARENCY}),
    (S.IDENTIFICATION, "operator", set()),
    (S.IDENTIFICATION, "assessor2", set()),
    (S.TRANSPARENCY_ISSUED, "tutor", set()),  # the candidate's turn
    (S.INTEGRATION_REQUESTED, "tutor", {T.INTEGRATION}),
    (S.INTEGRATION_REQUESTED, "certifier", set()),
    (S.DOSSIER_REVIEW, "certifier", {T.REVIEW}),
    (S.DOSSIER_REVIEW, "certifier2", {T.REVIEW}),
    (S.DOSSIER_REVIEW, "tutor", set()),
    (S.DOSSIER_REVIEW, "assessor", set()),  # not on a panel
    (S.DOSSIER_REVIEW, "foreign_certifier", set()),
    (S.DOSSIER_REVIEW, "signatory", set()),
    (S.ASSESSMENT_SCHEDULED, "certifier2", set()),  # no panel: the session is the panel's
    (S.APPEAL_PENDING, "certifier", {T.APPEAL}),
    (S.VALIDATED_FULL, "certifier", {T.START_CERTIFICATION}),
    (S.VALIDATED_FULL, "signatory", set()),
    (S.CERTIFICATION, "certifier", {T.CERTIFY}),
    (S.CERTIFICATION, "signatory", set()),
    (S.CERTIFIED, "signatory", {T.ISSUE_CERTIFICATE}),
    (S.CERTIFIED, "certifier", set()),
    (S.CERTIFIED, "admin", set()),
    (S.CERTIFIED, "supervisor", set()),
    (S.CERTIFICATE_ISSUED, "signatory", set()),
    (S.CLOSED, "certifier", set()),
    (S.CANCELLED, "signatory", set()),
]


def _queued(db: Session, account: Any) -> dict[Any, set[Task]]:
    found: dict[Any, set[Task]] = {}
    for task, items in my_worklist(db, account, NOW).groups.items():
        for item in items:
            assert item.case.id not in found, "a case is listed once"
            assert item.tasks[0] == task
            found[item.case.id] = set(item.tasks)
    return found


@pytest.mark.parametrize(("status", "who", "tasks"), TABLE)
def test_whose_next_step_a_case_in_a_state_is(
    db: Session, w: StaffWorld, status: CaseStatus, who: str, tasks: set[Task]
) -> None:
    case = _in(db, w, status)
    assert {s.task for s in due_steps(w.account(who), case)} == tasks
    assert _queued(db, w.account(who)).get(case.id, set()) == tasks
    assert due_steps(case.candidate.account, case) == []  # the candidate's own case is no work


def test_during_the_session_the_panel_rates_and_its_certifier_records(
    db: Session, w: StaffWorld
) -> None:
    case = to_session(db, w)  # panel: certifier + assessor, the session open
    assert _queued(db, w.assessor)[case.id] == {T.RATE}
    assert _queued(db, w.certifier)[case.id] == {T.RATE, T.OUTCOMES}
    for outsider in ("assessor2", "certifier2", "tutor", "foreign_certifier"):
        assert case.id not in _queued(db, w.account(outsider)), outsider


def test_a_case_with_two_tasks_counts_once(db: Session, w: StaffWorld) -> None:
    """The certifier both rates and records outcomes on one case: one row naming both tasks,
    counted once in its group and in the total."""
    case = to_session(db, w)
    case.deadline_at = NOW - dt.timedelta(days=2)
    db.flush()
    worklist = my_worklist(db, w.certifier, NOW)
    assert {t: [i.case.id for i in items] for t, items in worklist.groups.items()} == {
        T.RATE: [case.id]
    }
    (item,) = worklist.groups[T.RATE]
    assert item.tasks == (T.RATE, T.OUTCOMES)
    assert worklist.total == 1 and worklist.overdue == 1


@pytest.mark.slow
def test_the_queue_query_is_the_same_rule(db: Session, w: StaffWorld) -> None:
    """The SQL pre-filter never drops a case the rule puts in someone's queue."""
    for status, _who, _tasks in TABLE:
        _in(db, w, status)
    _in(db, w, S.DOSSIER_REVIEW, ente=w.other)
    to_session(db, w)
    db.expire_all()
    cases = list(db.query(CertificationCase))
    accounts = w.accounts()
    for account in accounts:
        expected = {c.id: {s.task for s in due_steps(account, c)} for c in cases}
        assert _queued(db, account) == {k: v for k, v in expected.items() if v}, account.email


def test_overdue_counts_whole_days_in_rome() -> None:
    assert days_late(None, NOW) == 0
    assert days_late(NOW + dt.timedelta(hours=1), NOW) == 0
    assert days_late(NOW - dt.timedelta(minutes=5), NOW) == 1
    assert days_late(NOW - dt.timedelta(days=3), NOW) == 3


def test_the_queue_puts_the_latest_first_and_counts_the_late(db: Session, w: StaffWorld) -> None:
    late = _in(db, w, S.SUBMITTED, deadline_at=NOW - dt.timedelta(days=4))
    soon = _in(db, w, S.SUBMITTED, deadline_at=NOW + dt.timedelta(days=2))
    undated = _in(db, w, S.SUBMITTED)
    worklist = my_worklist(db, w.operator, NOW)
    items = worklist.groups[T.TAKE_CHARGE]
    assert [i.case.id for i in items] == [late.id, soon.id, undated.id]
    assert [i.days_late for i in items] == [4, 0, 0]
    assert worklist.total == 3 and worklist.overdue == 1


# --- the list ---------------------------------------------------------------------------------


def _listed(db: Session, account: Any, **wanted: Any) -> list[Any]:
    return [c.id for c in list_cases(db, account, CaseFilter(**wanted), NOW).cases]


def test_the_list_hides_closed_cases_unless_asked(db: Session, w: StaffWorld) -> None:
    open_ = _in(db, w, S.DOSSIER_REVIEW)
    closed = _in(db, w, S.CLOSED)
    assert set(_listed(db, w.certifier)) == {open_.id}
    assert set(_listed(db, w.certifier, include_closed=True)) == {open_.id, closed.id}
    assert _listed(db, w.certifier, group=StateGroup.CLOSED) == [closed.id]
    assert _listed(db, w.certifier, group=StateGroup.INTAKE) == []


def test_search_by_protocol_name_codice_fiscale_and_certificate_number(
    db: Session, w: StaffWorld
) -> None:
    case = _in(db, w, S.CERTIFIED)
    other = _in(db, w, S.CERTIFIED)
    person = case.candidate
    person.given_name, person.family_name, person.codice_fiscale = (
        "Giulia",
        "Bianchi_%",
        "BNCGLI90A41D150X",
    )
    db.add(
        Certificate(
            case_id=case.id,
            generation=1,
            organisation_id=case.ente_titolato_id,
            number="CML-2026-000042",
            verification_code="X" * 26,
            status_index=7,
            kind=CertificateKind.PROFILO_COMPLETO,
            locale="it",
            status=CertificateStatus.REVOKED,
            content={},
            holder_person_id=person.id,
            issued_at=NOW,
            reserved_at=NOW,
        )
    )
    db.flush()
    who = w.signatory
    assert _listed(db, who, text=case.protocol_number.lower()) == [case.id]
    assert _listed(db, who, text="  giulia  bianchi ") == [case.id]
    assert _listed(db, who, text="bianchi_% giulia") == [case.id]
    assert _listed(db, who, text="g%a") == []  # a wildcard is a character, not "anything"
    assert _listed(db, who, text="bncgli90a41d150x") == [case.id]
    assert _listed(db, who, text="cml-2026-000042") == [case.id]
    assert _listed(db, who, text="nobody") == []
    page = list_cases(db, who, CaseFilter(), NOW)
    assert {c.id for c in page.cases} == {case.id, other.id}
    assert page.certificate_status == {case.id: CertificateStatus.REVOKED}


def test_filters_mine_overdue_profile_and_ente(db: Session, w: StaffWorld) -> None:
    mine = _in(db, w, S.IDENTIFICATION)
    late = _in(db, w, S.SUBMITTED, deadline_at=NOW - dt.timedelta(days=1))
    taken = _in(db, w, S.IN_ACCOGLIENZA, assigned_operator_id=w.operator.person_id)
    assert set(_listed(db, w.tutor, mine=True)) >= {mine.id}
    assert _listed(db, w.operator, overdue=True) == [late.id]
    assert _listed(db, w.operator, mine=True) == [taken.id]
    assert set(_listed(db, w.operator, profile_id=mine.target_profile_id)) == {
        late.id,
        taken.id,
    }
    assert _listed(db, w.operator, ente_id=w.other.id) == []


def test_sort_and_pages(db: Session, w: StaffWorld) -> None:
    cases = [
        _in(
            db,
            w,
            S.SUBMITTED,
            deadline_at=NOW + dt.timedelta(days=10 - i),
            status_changed_at=NOW - dt.timedelta(days=i * 2),
        )
        for i in range(5)
    ]
    by_deadline = [c.id for c in reversed(cases)]
    assert _listed(db, w.operator, sort=Sort.DEADLINE) == by_deadline
    assert _listed(db, w.operator, sort=Sort.CHANGED) == [c.id for c in cases]
    first = list_cases(db, w.operator, CaseFilter(), NOW, page=1, per_page=2)
    last = list_cases(db, w.operator, CaseFilter(), NOW, page=99, per_page=2)
    assert (first.total, first.pages, last.page) == (5, 3, 3)
    assert [c.id for c in first.cases] == by_deadline[:2]
    assert [c.id for c in last.cases] == by_deadline[4:]


def test_nobody_lists_a_case_they_do_not_see(db: Session, w: StaffWorld) -> None:
    foreign = _in(db, w, S.DOSSIER_REVIEW, ente=w.other)
    ours = _in(db, w, S.DOSSIER_REVIEW)
    assert _listed(db, w.certifier, include_closed=True) == [ours.id]
    assert _listed(db, w.certifier, text=foreign.protocol_number) == []
    assert _listed(db, w.certifier, ente_id=w.other.id) == []
    assert _listed(db, w.foreign_certifier) == [foreign.id]
    assert _listed(db, w.assessor2, include_closed=True) == []  # on no panel
    assert _listed(db, w.admin, include_closed=True) == []
