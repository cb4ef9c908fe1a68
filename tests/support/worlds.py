"""Worlds for tests that need a case taken through the real workflow: an ente with its staff,
a candidate with linked evidence, and the steps from the review to certification.

Plain functions of a session, so they also seed real instances (tests/faults, backups).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from certification.cases import assessment as A
from certification.cases import panels
from certification.cases.states import CaseStatus
from certification.models import (
    AssessmentMethod,
    CertificationCase,
    Evidence,
    Organisation,
    Outcome,
    PanelFunction,
    UserAccount,
)
from certification.people.roles import OrganisationKind, Role
from certification.portfolio.operations import link_evidence
from tests.support.clock import NOW
from tests.support.factories import (
    competence,
    make_account,
    make_candidate,
    make_case,
    make_evidence,
    make_experience,
    make_organisation,
)

LATER = NOW + dt.timedelta(days=7)


@dataclass
class CaseWorld:
    """An ente with its staff and one candidate's case (``assessment_world``); the signatory
    when a test adds one (``stage``, ``certificate_world``)."""

    ente: Organisation
    certifier: UserAccount
    certifier2: UserAccount
    assessor: UserAccount  # 15 years' experience, sector 24, as assessor2, junior and tutor
    assessor2: UserAccount
    junior: UserAccount  # 4 years' experience: too few for a panel
    tutor: UserAccount  # also an assessor
    candidate: UserAccount
    case: CertificationCase
    evidence: Evidence  # linked to DEMO-C01
    signatory: UserAccount | None = None

    def accounts(self) -> list[UserAccount]:
        """Every account of the world, in the order of its attributes."""
        found = (getattr(self, f.name) for f in fields(self))
        return [value for value in found if isinstance(value, UserAccount)]

    def account(self, name: str) -> UserAccount:
        """The account called ``name`` here (tables of tests name people by their role)."""
        found = getattr(self, name)
        assert isinstance(found, UserAccount), name
        return found


@dataclass(kw_only=True)
class StaffWorld(CaseWorld):
    """``CaseWorld`` and more of the ente's staff (its signatory too), the region's supervisor,
    and a certifier of another ente (``other``, when a test keeps it)."""

    operator: UserAccount
    admin: UserAccount
    supervisor: UserAccount
    foreign_certifier: UserAccount
    other: Organisation | None = None


W = TypeVar("W", bound=CaseWorld)


def assessment_world(db: Session, code: str = "CML") -> CaseWorld:
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
    candidate, case, evidence = _new_case(db, ente, people["tutor"])
    return CaseWorld(ente=ente, **people, candidate=candidate, case=case, evidence=evidence)


def another_case(db: Session, w: W) -> W:
    """``w`` with a new candidate and case of the same ente, ready for the review."""
    candidate, case, evidence = _new_case(db, w.ente, w.tutor)
    return replace(w, candidate=candidate, case=case, evidence=evidence)


def _new_case(
    db: Session, ente: Organisation, tutor: UserAccount
) -> tuple[UserAccount, CertificationCase, Evidence]:
    candidate = make_candidate(db)
    case = make_case(
        db,
        candidate=candidate,
        ente=ente,
        tutor=tutor,
        status=CaseStatus.TRANSPARENCY_ISSUED,
        codes=("DEMO-C01", "DEMO-C02"),
    )
    evidence = make_evidence(db, make_experience(db, candidate.person))
    link_evidence(db, candidate, evidence, competence(db, "DEMO-C01"), None, "", NOW)
    db.flush()
    return candidate, case, evidence


def panel(w: CaseWorld, *names: str) -> list[panels.PanelChoice]:
    functions = {
        "certifier": PanelFunction.CERTIFICATORE,
        "certifier2": PanelFunction.CERTIFICATORE,
    }
    return [
        panels.PanelChoice(w.account(n).person, functions.get(n, PanelFunction.ASSESSOR))
        for n in names
    ]


def to_review(db: Session, w: CaseWorld) -> Any:
    A.request_validation(db, w.candidate, w.case, NOW)
    return w.case


def to_session(db: Session, w: CaseWorld) -> Any:
    case = to_review(db, w)
    panels.plan_assessment(
        db,
        w.certifier,
        case,
        methods=[AssessmentMethod.COLLOQUIO_TECNICO],
        scheduled_at=LATER,
        location="Sede di Cremona",
        panel=panel(w, "certifier", "assessor"),
        now=NOW,
    )
    for name in ("certifier", "assessor"):
        panels.declare_conflict(db, w.account(name), case, False, "", NOW)
    panels.open_session(db, w.certifier, case, identity_checked=True, now=LATER)
    return case


def rate_all(db: Session, w: CaseWorld, code: str, level: str) -> None:
    case = w.case
    for comp in A.snapshot_competences(case):
        if comp["code"] == code:
            for crit in comp["criteria"]:
                A.rate_criterion(db, w.assessor, case, code, crit["code"], level, "", LATER)


def decide(code: str, outcome: Outcome, **changes: Any) -> A.OutcomeInput:
    data: dict[str, Any] = {
        "competence_code": code,
        "outcome": outcome,
        "rationale": "Evidenze solide e colloquio convincente.",
        "feedback": "" if outcome == Outcome.VALIDATA else "Manca il C02-I2.",
        "methods": ["esame_dossier", "colloquio_tecnico"],
    }
    data.update(changes)
    return A.OutcomeInput(**data)


def certified(db: Session, w: CaseWorld) -> Any:
    """Take ``w``'s case through the review and the session to CERTIFIED (DEMO-C01 validated)."""
    case = to_session(db, w)
    rate_all(db, w, "DEMO-C01", "L3")
    rate_all(db, w, "DEMO-C02", "L1")
    A.record_outcomes(
        db,
        w.certifier,
        case,
        [
            decide("DEMO-C01", Outcome.VALIDATA, evidence_ids=[str(w.evidence.id)]),
            decide("DEMO-C02", Outcome.NON_VALIDATA),
        ],
        LATER,
    )
    A.start_certification(db, w.certifier, case, LATER)
    A.certify(db, w.certifier, case, LATER)
    return case
