from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from certification.cases import assessment as A
from certification.cases.states import CaseStatus
from certification.errors import InvalidInput, NotFound
from certification.models import EvidenceType, ExperienceKind, LearningContext
from certification.people.roles import Role
from certification.policy import can_edit_portfolio, can_view_portfolio, get_portfolio_owner
from certification.portfolio import operations as portfolio
from tests.support.clock import NOW
from tests.support.factories import (
    competence,
    make_account,
    make_candidate,
    make_case,
    make_evidence,
    make_experience,
    make_organisation,
    profile,
)
from tests.support.files import pdf_bytes

MB = 1024 * 1024


def _input(**changes: Any) -> portfolio.ExperienceInput:
    data: dict[str, Any] = {
        "kind": ExperienceKind.ORGANIZZAZIONE_EVENTO,
        "learning_context": LearningContext.NON_FORMALE,
        "role_title": "Coordinatrice volontari",
        "start_date": dt.date(2025, 3, 1),
        "end_date": dt.date(2025, 9, 30),
        "description": "Festival estivo: 40 volontari, 12 serate.",
        "host_name": "Associazione Kairos",
        "hours_estimate": 220,
    }
    data.update(changes)
    return portfolio.ExperienceInput(**data)


def test_candidate_records_an_experience(db: Session) -> None:
    giulia = make_candidate(db)
    experience = portfolio.create_experience(db, giulia, giulia.person, _input(), NOW)
    assert experience.host_display == "Associazione Kairos"
    assert portfolio.experiences_of(db, giulia.person) == [experience]


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"end_date": dt.date(2025, 1, 1)}, "end_date", "before_start"),
        ({"start_date": dt.date(2027, 1, 1), "end_date": None}, "start_date", "in_future"),
        ({"hours_estimate": -3}, "hours_estimate", "hours_range"),
        ({"role_title": "  "}, "role_title", "required"),
        ({"description": "x" * 5001}, "description", "too_long"),
        (
            {"host_organisation_id": __import__("uuid").uuid4()},
            "host_organisation_id",
            "unknown_host",
        ),
    ],
)
def test_experience_validation(
    db: Session, changes: dict[str, Any], field: str, problem: str
) -> None:
    giulia = make_candidate(db)
    with pytest.raises(InvalidInput) as info:
        portfolio.create_experience(db, giulia, giulia.person, _input(**changes), NOW)
    assert info.value.errors[field] == [problem]
    assert portfolio.experiences_of(db, giulia.person) == []


def test_candidate_a_can_never_see_or_change_b(db: Session, storage: Any) -> None:
    a, b = make_candidate(db), make_candidate(db)
    b_experience = make_experience(db, b.person)
    b_evidence = make_evidence(db, b_experience)
    assert not can_view_portfolio(db, a, b.person)
    assert not can_edit_portfolio(db, a, b.person)
    with pytest.raises(NotFound):
        get_portfolio_owner(db, a, b.person_id)
    with pytest.raises(NotFound):
        portfolio.get_experience(db, a.person, b_experience.id)
    with pytest.raises(NotFound):
        portfolio.get_evidence(db, a.person, b_evidence.id)
    attempts = [
        lambda: portfolio.create_experience(db, a, b.person, _input(), NOW),
        lambda: portfolio.update_experience(db, a, b_experience, _input(), NOW),
        lambda: portfolio.delete_experience(db, a, b_experience, NOW),
        lambda: portfolio.add_link_evidence(
            db,
            a,
            b_experience,
            title="x",
            description="",
            issued_on=None,
            url="https://x.org",
            now=NOW,
        ),
        lambda: portfolio.add_file_evidence(
            db,
            storage,
            a,
            b_experience,
            type_=EvidenceType.DOCUMENTO_ATTESTAZIONE,
            title="x",
            description="",
            issued_on=None,
            data=pdf_bytes(),
            filename="x.pdf",
            max_bytes=MB,
            now=NOW,
        ),
        lambda: portfolio.delete_evidence(db, a, b_evidence, NOW),
        lambda: portfolio.link_evidence(
            db, a, b_evidence, competence(db, "DEMO-C01"), None, "", NOW
        ),
        lambda: portfolio.set_self_assessment(
            db, a, b.person, competence(db, "DEMO-C01"), "L2", "", NOW
        ),
        lambda: portfolio.add_comment(db, a, b.person, "ciao", NOW),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    assert portfolio.experiences_of(db, b.person)[0].role_title == b_experience.role_title


def test_tutor_edits_only_while_assigned_and_identifying(db: Session) -> None:
    ente = make_organisation(db)
    tutor = make_account(db, roles=(Role.TUTOR,), organisation=ente)
    other_tutor = make_account(db, roles=(Role.TUTOR,), organisation=ente)
    certifier = make_account(db, roles=(Role.CERTIFICATORE,), organisation=ente)
    candidate = make_candidate(db)
    case = make_case(db, candidate=candidate, ente=ente, status=CaseStatus.DRAFT, tutor=tutor)
    assert not can_view_portfolio(db, tutor, candidate.person)  # a draft is private
    case.status = CaseStatus.IDENTIFICATION
    assert can_edit_portfolio(db, tutor, candidate.person)
    assert not can_view_portfolio(db, other_tutor, candidate.person)
    # the ente's certifiers see the portfolio once a case of it is under review, never edit it
    assert not can_view_portfolio(db, certifier, candidate.person)
    portfolio.create_experience(db, tutor, candidate.person, _input(), NOW)
    case.status = CaseStatus.TRANSPARENCY_ISSUED
    assert can_view_portfolio(db, tutor, candidate.person)
    assert not can_edit_portfolio(db, tutor, candidate.person)
    A.request_validation(db, candidate, case, NOW)
    assert can_view_portfolio(db, certifier, candidate.person)
    assert not can_edit_portfolio(db, certifier, candidate.person)


def test_evidence_kinds_and_mapping(db: Session, storage: Any) -> None:
    giulia = make_candidate(db)
    experience = make_experience(db, giulia.person)
    file_ev = portfolio.add_file_evidence(
        db,
        storage,
        giulia,
        experience,
        type_=EvidenceType.DOCUMENTO_ATTESTAZIONE,
        title="Attestato",
        description="",
        issued_on=dt.date(2025, 6, 1),
        data=pdf_bytes(),
        filename="attestato.pdf",
        max_bytes=MB,
        now=NOW,
    )
    assert storage.get(file_ev.file_sha256) == pdf_bytes()
    link = portfolio.add_link_evidence(
        db,
        giulia,
        experience,
        title="Programma",
        description="",
        issued_on=None,
        url="https://example.org/p",
        now=NOW,
    )
    testimonial = portfolio.add_testimonial(
        db,
        giulia,
        experience,
        title="Lettera",
        text="Giulia ha gestito 20 eventi.",
        referee_name="Paolo Neri",
        referee_email="Paolo@Example.org",
        issued_on=None,
        now=NOW,
    )
    assert testimonial.referee_email == "paolo@example.org"
    with pytest.raises(InvalidInput):
        portfolio.add_self_declaration(
            db, giulia, experience, title="Dich.", text="...", accepted=False, now=NOW
        )
    portfolio.add_self_declaration(
        db, giulia, experience, title="Dich.", text="Dichiaro...", accepted=True, now=NOW
    )

    c01 = competence(db, "DEMO-C01")
    portfolio.link_evidence(db, giulia, file_ev, c01, c01.criteria[0], "checklist", NOW)
    portfolio.link_evidence(db, giulia, link, c01, None, "", NOW)
    with pytest.raises(InvalidInput):  # the same mapping twice
        portfolio.link_evidence(db, giulia, file_ev, c01, c01.criteria[0], "", NOW)
    with pytest.raises(InvalidInput):  # a criterion of another competence
        portfolio.link_evidence(
            db, giulia, file_ev, c01, competence(db, "DEMO-C02").criteria[0], "", NOW
        )
    rows = {row.competence.code: row for row in portfolio.coverage(db, giulia.person, profile(db))}
    assert rows["DEMO-C01"].covered == 1 and rows["DEMO-C01"].general == [link]
    assert rows["DEMO-C02"].has_evidence is False


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://x.org/f",
        "https://u:p@x.org",
        "http:///nohost",
        "https://x.org/a b",
        "data:text/html,<b>",
    ],
)
def test_bad_links_are_refused(db: Session, url: str) -> None:
    giulia = make_candidate(db)
    with pytest.raises(InvalidInput):
        portfolio.add_link_evidence(
            db,
            giulia,
            make_experience(db, giulia.person),
            title="x",
            description="",
            issued_on=None,
            url=url,
            now=NOW,
        )


def test_locked_evidence_never_changes(db: Session) -> None:
    giulia = make_candidate(db)
    experience = make_experience(db, giulia.person)
    evidence = make_evidence(db, experience, locked_at=NOW)
    with pytest.raises(portfolio.Locked):
        portfolio.delete_evidence(db, giulia, evidence, NOW)
    with pytest.raises(portfolio.Locked):
        portfolio.delete_experience(db, giulia, experience, NOW)
    with pytest.raises(portfolio.Locked):
        portfolio.link_evidence(db, giulia, evidence, competence(db, "DEMO-C01"), None, "", NOW)


def test_self_assessment_uses_the_rubric_levels(db: Session) -> None:
    giulia = make_candidate(db)
    c01 = competence(db, "DEMO-C01")
    portfolio.set_self_assessment(db, giulia, giulia.person, c01, "L2", "ok", NOW)
    portfolio.set_self_assessment(db, giulia, giulia.person, c01, "L3", "meglio", NOW)
    rows = portfolio.coverage(db, giulia.person, profile(db))
    assert rows[0].self_assessment is not None and rows[0].self_assessment.level_code == "L3"
    with pytest.raises(InvalidInput):
        portfolio.set_self_assessment(db, giulia, giulia.person, c01, "L9", "", NOW)


def test_referee_confirms_by_link(db: Session) -> None:
    giulia = make_candidate(db)
    testimonial = portfolio.add_testimonial(
        db,
        giulia,
        make_experience(db, giulia.person),
        title="Lettera",
        text="Ottimo lavoro.",
        referee_name="Paolo Neri",
        referee_email="paolo@example.org",
        issued_on=None,
        now=NOW,
    )
    token = portfolio.make_referee_token(testimonial, "k" * 32)
    found = portfolio.evidence_for_referee_token(db, token, "k" * 32, dt.timedelta(days=30))
    assert found is testimonial
    portfolio.answer_testimonial(db, testimonial, confirm=True, now=NOW)
    assert testimonial.referee_confirmed_at == NOW
    with pytest.raises(portfolio.Conflict):
        portfolio.answer_testimonial(db, testimonial, confirm=False, now=NOW)
    # a changed text invalidates links sent for the old one
    testimonial.text = "Lavoro discreto."
    with pytest.raises(NotFound):
        portfolio.evidence_for_referee_token(db, token, "k" * 32, dt.timedelta(days=30))
    with pytest.raises(NotFound):
        portfolio.evidence_for_referee_token(db, "forged", "k" * 32, dt.timedelta(days=30))
