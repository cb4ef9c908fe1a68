"""Worlds for tests that need a case taken through the real workflow: an ente with its staff,
a candidate with linked evidence, and the steps from the review to certification.

Plain functions of a session, so they also seed real instances (tests/faults, backups).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from certification import assessment as A
from certification.models import AssessmentMethod, Outcome, PanelFunction
from certification.portfolio import link_evidence
from certification.roles import OrganisationKind, Role
from certification.states import CaseStatus
from tests.conftest import NOW
from tests.factories import (
    competence,
    make_account,
    make_candidate,
    make_case,
    make_evidence,
    make_experience,
    make_organisation,
)

LATER = NOW + dt.timedelta(days=7)


def assessment_world(db: Session, code: str = "CML") -> dict[str, Any]:
    """An ente (``code``) with certifiers, assessors and a tutor, and one candidate's case in
    TRANSPARENCY_ISSUED with evidence linked to DEMO-C01."""
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code=code)
    people = {
        "certifier": make_account(db, roles=(Role.CERTIFICATORE,), organisation=ente),
        "certifier2": make_account(db, roles=(Role.CERTIFICATORE,), organisation=ente),
        "assessor": make_account(
            db, roles=(Role.ASSESSOR,), organisation=ente, years_experience=15
        ),
        "assessor2": make_account(
            db, roles=(Role.ASSESSOR,), organisation=ente, years_experience=12
        ),
        "junior": make_account(db, roles=(Role.ASSESSOR,), organisation=ente, years_experience=4),
        "tutor": make_account(
            db, roles=(Role.TUTOR, Role.ASSESSOR), organisation=ente, years_experience=20
        ),
    }
    for key in ("assessor", "assessor2", "junior", "tutor"):
        for role in people[key].person.staff_roles:
            role.sectors = ["24"]
    return another_case(db, {**people, "ente": ente})


def another_case(db: Session, w: dict[str, Any]) -> dict[str, Any]:
    """``w`` with a new candidate and case of the same ente, ready for the review."""
    ente = w["ente"]
    candidate = make_candidate(db)
    case = make_case(
        db,
        candidate=candidate,
        ente=ente,
        tutor=w["tutor"],
        status=CaseStatus.TRANSPARENCY_ISSUED,
        codes=("DEMO-C01", "DEMO-C02"),
    )
    evidence = make_evidence(db, make_experience(db, candidate.person))
    link_evidence(db, candidate, evidence, competence(db, "DEMO-C01"), None, "", NOW)
    db.flush()
    return {**w, "candidate": candidate, "case": case, "evidence": evidence}


def _panel(w: dict[str, Any], *names: str) -> list[A.PanelChoice]:
    functions = {
        "certifier": PanelFunction.CERTIFICATORE,
        "certifier2": PanelFunction.CERTIFICATORE,
    }
    return [A.PanelChoice(w[n].person, functions.get(n, PanelFunction.ASSESSOR)) for n in names]


def _to_review(db: Session, w: dict[str, Any]) -> Any:
    A.request_validation(db, w["candidate"], w["case"], NOW)
    return w["case"]


def _to_session(db: Session, w: dict[str, Any]) -> Any:
    case = _to_review(db, w)
    A.plan_assessment(
        db,
        w["certifier"],
        case,
        methods=[AssessmentMethod.COLLOQUIO_TECNICO],
        scheduled_at=LATER,
        location="Sede di Cremona",
        panel=_panel(w, "certifier", "assessor"),
        now=NOW,
    )
    for name in ("certifier", "assessor"):
        A.declare_conflict(db, w[name], case, False, "", NOW)
    A.open_session(db, w["certifier"], case, identity_checked=True, now=LATER)
    return case


def _rate_all(db: Session, w: dict[str, Any], code: str, level: str) -> None:
    case = w["case"]
    for comp in A.snapshot_competences(case):
        if comp["code"] == code:
            for crit in comp["criteria"]:
                A.rate_criterion(db, w["assessor"], case, code, crit["code"], level, "", LATER)


def _decide(code: str, outcome: Outcome, **changes: Any) -> A.OutcomeInput:
    data: dict[str, Any] = {
        "competence_code": code,
        "outcome": outcome,
        "rationale": "Evidenze solide e colloquio convincente.",
        "feedback": "" if outcome == Outcome.VALIDATA else "Manca il C02-I2.",
        "methods": ["esame_dossier", "colloquio_tecnico"],
    }
    data.update(changes)
    return A.OutcomeInput(**data)


def certified(db: Session, w: dict[str, Any]) -> Any:
    """Take ``w``'s case through the review and the session to CERTIFIED (DEMO-C01 validated)."""
    case = _to_session(db, w)
    _rate_all(db, w, "DEMO-C01", "L3")
    _rate_all(db, w, "DEMO-C02", "L1")
    A.record_outcomes(
        db,
        w["certifier"],
        case,
        [
            _decide("DEMO-C01", Outcome.VALIDATA, evidence_ids=[str(w["evidence"].id)]),
            _decide("DEMO-C02", Outcome.NON_VALIDATA),
        ],
        LATER,
    )
    A.start_certification(db, w["certifier"], case, LATER)
    A.certify(db, w["certifier"], case, LATER)
    return case
