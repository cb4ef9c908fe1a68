"""Demo applications in every state a case can rest in, made through the real operations.

Each entry names a candidate, a profile, the competences asked for, and the state to reach;
:func:`drive` walks the case there step by step (submission, reception, identification with
the tutor, review, panel, outcomes, appeal...), as the staff would on the web.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.cases import appeals, panels, workflow
from certification.cases import assessment as A
from certification.cases.documents import (
    issue_transparency_document,
    issue_validation_document,
    issue_verbale,
)
from certification.cases.states import CaseEvent
from certification.cases.states import CaseStatus as S
from certification.demo import DEMO_DOMAIN
from certification.models import (
    AssessmentMethod,
    CertificationCase,
    ExperienceKind,
    LearningContext,
    Organisation,
    Outcome,
    PanelFunction,
    Person,
    Profile,
    UserAccount,
    WorkflowProfile,
)
from certification.portfolio import operations as portfolio
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage

#: (candidate, profile, competences, workflow, target state, what they did)
SCENARIOS: tuple[tuple[str, str, tuple[str, ...], WorkflowProfile, S, str], ...] = (
    (
        "alessia.marino",
        "DEMO-P02",
        ("DEMO-C11", "DEMO-C12"),
        WorkflowProfile.LOMBARDIA_9380,
        S.CERTIFIED,
        "Organizzazione della rassegna estiva del Comune",
    ),
    (
        "alessia.marino",
        "DEMO-P02",
        ("DEMO-C14",),
        WorkflowProfile.LOMBARDIA_9380,
        S.DRAFT,
        "Promozione della rassegna estiva",
    ),
    (
        "davide.costa",
        "DEMO-P01",
        ("DEMO-C01", "DEMO-C02", "DEMO-C04"),
        WorkflowProfile.LOMBARDIA_9380,
        S.VALIDATED_PARTIAL,
        "Gestione di un coworking rurale",
    ),
    (
        "davide.costa",
        "DEMO-P03",
        ("DEMO-C21",),
        WorkflowProfile.LOMBARDIA_9380,
        S.NOT_ADMITTED,
        "Idea di impresa ancora da avviare",
    ),
    (
        "elisa.fontana",
        "DEMO-P02",
        ("DEMO-C13", "DEMO-C15"),
        WorkflowProfile.LOMBARDIA_9380,
        S.APPEAL_PENDING,
        "Sicurezza ed esecuzione di un festival",
    ),
    (
        "elisa.fontana",
        "DEMO-P01",
        ("DEMO-C03",),
        WorkflowProfile.LOMBARDIA_9380,
        S.INTEGRATION_REQUESTED,
        "Comunicazione digitale di uno spazio giovani",
    ),
    (
        "matteo.rinaldi",
        "DEMO-P03",
        ("DEMO-C21", "DEMO-C22"),
        WorkflowProfile.NATIONAL_IVC_PLUS_CERT,
        S.VALIDATION_ISSUED,
        "Start-up di app per eventi",
    ),
    (
        "matteo.rinaldi",
        "DEMO-P03",
        ("DEMO-C24",),
        WorkflowProfile.NATIONAL_IVC_PLUS_CERT,
        S.VALIDATED_FULL,
        "Strategia commerciale della start-up",
    ),
    (
        "valentina.lombardo",
        "DEMO-P01",
        ("DEMO-C02",),
        WorkflowProfile.LOMBARDIA_9380,
        S.ASSESSMENT_SCHEDULED,
        "Palinsesto di incontri in biblioteca",
    ),
    (
        "valentina.lombardo",
        "DEMO-P02",
        ("DEMO-C11",),
        WorkflowProfile.LOMBARDIA_9380,
        S.CLOSED_TRANSPARENCY_ONLY,
        "Ideazione di eventi per l'oratorio",
    ),
    (
        "simone.gallo",
        "DEMO-P02",
        ("DEMO-C12",),
        WorkflowProfile.LOMBARDIA_9380,
        S.ASSESSMENT_IN_PROGRESS,
        "Logistica di una fiera del libro",
    ),
    (
        "simone.gallo",
        "DEMO-P01",
        ("DEMO-C05",),
        WorkflowProfile.LOMBARDIA_9380,
        S.NOT_ADMITTED_TO_ASSESSMENT,
        "Rete di partner per un coworking",
    ),
    (
        "irene.mancini",
        "DEMO-P03",
        ("DEMO-C23", "DEMO-C25"),
        WorkflowProfile.LOMBARDIA_9380,
        S.NOT_VALIDATED,
        "Avvio di una cooperativa",
    ),
    (
        "irene.mancini",
        "DEMO-P01",
        ("DEMO-C01",),
        WorkflowProfile.LOMBARDIA_9380,
        S.CERTIFICATION,
        "Accoglienza in uno spazio di coworking",
    ),
    (
        "irene.mancini",
        "DEMO-P02",
        ("DEMO-C15",),
        WorkflowProfile.LOMBARDIA_9380,
        S.IN_ACCOGLIENZA,
        "Valutazione di eventi culturali",
    ),
    (
        "tommaso.deluca",
        "DEMO-P02",
        ("DEMO-C14",),
        WorkflowProfile.LOMBARDIA_9380,
        S.CLOSED,
        "Biglietteria di un festival",
    ),
    (
        "tommaso.deluca",
        "DEMO-P01",
        ("DEMO-C04",),
        WorkflowProfile.LOMBARDIA_9380,
        S.WITHDRAWN,
        "Prenotazioni delle sale",
    ),
    (
        "tommaso.deluca",
        "DEMO-P03",
        ("DEMO-C25",),
        WorkflowProfile.LOMBARDIA_9380,
        S.SUSPENDED_INACTIVE,
        "Gestione del team di progetto",
    ),
    (
        "davide.costa",
        "DEMO-P02",
        ("DEMO-C11",),
        WorkflowProfile.LOMBARDIA_9380,
        S.CANCELLED,
        "Evento dichiarato ma non svolto",
    ),
    (
        "valentina.lombardo",
        "DEMO-P03",
        ("DEMO-C21",),
        WorkflowProfile.LOMBARDIA_9380,
        S.DOSSIER_REVIEW,
        "Analisi di mercato per una libreria",
    ),
    (
        "elisa.fontana",
        "DEMO-P03",
        ("DEMO-C21", "DEMO-C24"),
        WorkflowProfile.LOMBARDIA_9380,
        S.CERTIFICATE_ISSUED,
        "Lancio di una piccola impresa di eventi",
    ),
    (
        "matteo.rinaldi",
        "DEMO-P02",
        ("DEMO-C11", "DEMO-C12"),
        WorkflowProfile.LOMBARDIA_9380,
        S.CERTIFICATE_ISSUED,
        "Organizzazione di un hackathon universitario",
    ),
)

# The order in which a case passes through the states on its way to each target.
_ADMITTED = (
    S.SUBMITTED,
    S.IN_ACCOGLIENZA,
    S.IDENTIFICATION,
    S.TRANSPARENCY_ISSUED,
    S.DOSSIER_REVIEW,
)
_ASSESSED = (*_ADMITTED, S.ASSESSMENT_SCHEDULED, S.ASSESSMENT_IN_PROGRESS)


class _Driver:
    def __init__(
        self,
        session: Session,
        storage: BlobStorage,
        renderer: DocumentRenderer | None,
        accounts: dict[str, UserAccount],
        ente: Organisation,
        now: dt.datetime,
    ) -> None:
        self.session, self.storage, self.renderer = session, storage, renderer
        self.a, self.ente, self.now = accounts, ente, now

    def tick(self, hours: int = 26) -> dt.datetime:
        self.now += dt.timedelta(hours=hours)
        return self.now

    def case(
        self,
        local: str,
        profile: Profile,
        codes: tuple[str, ...],
        flow: WorkflowProfile,
        title: str,
    ) -> CertificationCase:
        candidate = self.a[local]
        experience = portfolio.create_experience(
            self.session,
            candidate,
            candidate.person,
            portfolio.ExperienceInput(
                kind=ExperienceKind.ORGANIZZAZIONE_EVENTO
                if profile.code == "DEMO-P02"
                else ExperienceKind.ANIMAZIONE_COWORKING
                if profile.code == "DEMO-P01"
                else ExperienceKind.PROGETTO_STARTUP,
                learning_context=LearningContext.INFORMALE,
                role_title=title,
                host_name="Associazione giovanile del territorio",
                start_date=dt.date(2024, 3, 1),
                end_date=dt.date(2025, 10, 31),
                hours_estimate=250,
                description=f"{title}: attività svolte e risultati.",
            ),
            self.now,
        )
        evidence = portfolio.add_link_evidence(
            self.session,
            candidate,
            experience,
            title=f"Documentazione: {title}",
            description="",
            issued_on=dt.date(2025, 10, 31),
            url="https://example.org/portfolio/" + local,
            now=self.now,
        )
        competences = [
            pc.competence for pc in profile.competence_links if pc.competence.code in codes
        ]
        for competence in competences:
            portfolio.link_evidence(
                self.session, candidate, evidence, competence, None, "", self.now
            )
        return workflow.create_case(
            self.session,
            candidate,
            ente_titolato=self.ente,
            profile=profile,
            competences=competences,
            now=self.now,
            workflow_profile=flow,
        )

    def advance(self, case: CertificationCase, state: S) -> None:
        """One step along the happy path into ``state``."""
        a, now = self.a, self.tick()
        if state == S.SUBMITTED:
            workflow.submit_case(
                self.session,
                a[_local(case, a)],
                case,
                workflow.SubmissionInput(
                    birth_date=dt.date(2000, 1, 15),
                    birth_place="Cremona",
                    codice_fiscale=None,
                    consent_processing=True,
                    consent_public_verification=True,
                    declaration_accepted=True,
                ),
                now,
            )
        elif state == S.IN_ACCOGLIENZA:
            workflow.take_charge(self.session, a["operatore"], case, now)
        elif state == S.IDENTIFICATION:
            workflow.admit_case(self.session, a["operatore"], case, a["tutor"].person, now)
        elif state == S.TRANSPARENCY_ISSUED:
            if self.renderer is None:
                raise LookupError("documents need a renderer")
            issue_transparency_document(
                self.session, self.storage, self.renderer, a["tutor"], case, now
            )
        elif state == S.DOSSIER_REVIEW:
            A.request_validation(self.session, a[_local(case, a)], case, now)
        elif state == S.ASSESSMENT_SCHEDULED:
            panels.plan_assessment(
                self.session,
                a["certificatore"],
                case,
                methods=[AssessmentMethod.ESAME_DOSSIER, AssessmentMethod.COLLOQUIO_TECNICO],
                scheduled_at=now + dt.timedelta(days=12),
                location="Via Dante 121, Cremona",
                panel=[
                    panels.PanelChoice(a["certificatore"].person, PanelFunction.CERTIFICATORE),
                    panels.PanelChoice(_assessor(case, a).person, PanelFunction.ASSESSOR),
                ],
                now=now,
            )
        elif state == S.ASSESSMENT_IN_PROGRESS:
            for member in (a["certificatore"], _assessor(case, a)):
                panels.declare_conflict(self.session, member, case, False, "", now)
            panels.open_session(
                self.session,
                a["certificatore"],
                case,
                identity_checked=True,
                now=self.tick(24 * 12),
            )

    def assess(self, case: CertificationCase, validated: set[str]) -> None:
        """Rate every criterion and record the outcomes: ``validated`` competences pass."""
        a, now = self.a, self.tick(2)
        decisions = []
        for comp in A.snapshot_competences(case):
            ok = comp["code"] in validated
            for crit in comp["criteria"]:
                A.rate_criterion(
                    self.session,
                    _assessor(case, a),
                    case,
                    comp["code"],
                    crit["code"],
                    "L2" if ok else "L1",
                    "" if ok else "Evidenza parziale.",
                    now,
                )
            decisions.append(
                A.OutcomeInput(
                    competence_code=comp["code"],
                    outcome=Outcome.VALIDATA if ok else Outcome.NON_VALIDATA,
                    rationale=(
                        "Le evidenze e il colloquio mostrano la competenza in autonomia."
                        if ok
                        else "Le evidenze non coprono i criteri in modo sufficiente."
                    ),
                    feedback=""
                    if ok
                    else (
                        "Per ogni criterio servono prove di attività svolte in "
                        "autonomia: ad esempio un report finale firmato."
                    ),
                    methods=["esame_dossier", "colloquio_tecnico"],
                )
            )
        A.record_outcomes(self.session, a["certificatore"], case, decisions, now)
        if self.renderer is not None:
            issue_verbale(self.session, self.storage, self.renderer, a["certificatore"], case, now)


def _local(case: CertificationCase, accounts: dict[str, UserAccount]) -> str:
    return next(k for k, v in accounts.items() if v.person_id == case.candidate_id)


def _assessor(case: CertificationCase, accounts: dict[str, UserAccount]) -> UserAccount:
    # Giorgio Galli covers sectors 24 and 22; the profiles of the demo are in those sectors.
    return accounts["assessor"]


def load_cases(
    session: Session,
    storage: BlobStorage,
    renderer: DocumentRenderer | None,
    accounts: dict[str, UserAccount],
    ente: Organisation,
    now: dt.datetime,
) -> None:
    """Create the scenario cases of candidates who have none yet."""
    started = now - dt.timedelta(days=75)
    driver = _Driver(session, storage, renderer, accounts, ente, started)
    profiles = {p.code: p for p in session.scalars(select(Profile))}
    done = {
        account.person_id
        for account in accounts.values()
        if session.scalar(
            select(CertificationCase.id)
            .where(CertificationCase.candidate_id == account.person_id)
            .limit(1)
        )
        is not None
    }
    for local, profile_code, codes, flow, target, title in SCENARIOS:
        if accounts[local].person_id in done:
            continue
        driver.now = started + dt.timedelta(
            days=SCENARIOS.index((local, profile_code, codes, flow, target, title)) * 2
        )
        case = driver.case(local, profiles[profile_code], codes, flow, title)
        _drive(driver, case, target, codes)
    session.flush()


def _drive(d: _Driver, case: CertificationCase, target: S, codes: tuple[str, ...]) -> None:
    a = d.a
    candidate = a[_local(case, a)]
    if target == S.DRAFT:
        return
    path: tuple[S, ...] = {
        S.SUBMITTED: _ADMITTED[:1],
        S.IN_ACCOGLIENZA: _ADMITTED[:2],
        S.NOT_ADMITTED: _ADMITTED[:2],
        S.IDENTIFICATION: _ADMITTED[:3],
        S.WITHDRAWN: _ADMITTED[:3],
        S.CLOSED_TRANSPARENCY_ONLY: _ADMITTED[:4],
        S.DOSSIER_REVIEW: _ADMITTED,
        S.INTEGRATION_REQUESTED: _ADMITTED,
        S.SUSPENDED_INACTIVE: _ADMITTED,
        S.NOT_ADMITTED_TO_ASSESSMENT: _ADMITTED,
        S.CANCELLED: _ADMITTED,
        S.ASSESSMENT_SCHEDULED: _ASSESSED[:-1],
    }.get(target, _ASSESSED)
    for state in path:
        d.advance(case, state)
    session = d.session
    if target == S.NOT_ADMITTED:
        workflow.reject_case(
            session,
            a["operatore"],
            case,
            "no_relevant_experience",
            "Le esperienze descritte non riguardano ancora la competenza "
            "richiesta: ripresenta la domanda dopo il primo anno di attività.",
            d.tick(),
        )
    elif target == S.WITHDRAWN:
        workflow.withdraw_case(session, candidate, case, d.tick())
    elif target == S.CLOSED_TRANSPARENCY_ONLY:
        workflow.stop_after_transparency(session, candidate, case, d.tick())
    elif target in {S.INTEGRATION_REQUESTED, S.SUSPENDED_INACTIVE}:
        A.request_integration(
            session,
            a["certificatore"],
            case,
            "Manca un documento che mostri il coordinamento del team: "
            "allega il verbale di una riunione o una testimonianza.",
            (d.now + dt.timedelta(days=20)).date(),
            d.tick(),
        )
        if target == S.SUSPENDED_INACTIVE:
            workflow.apply_transition(
                session,
                None,
                case,
                CaseEvent.SUSPEND,
                d.tick(24 * 25),
                payload={"reason": "deadline"},
            )
    elif target == S.NOT_ADMITTED_TO_ASSESSMENT:
        A.dossier_insufficient(
            session,
            a["certificatore"],
            case,
            "Il dossier contiene una sola evidenza, non datata e non "
            "riferibile ai criteri della competenza.",
            d.tick(),
        )
    elif target == S.CANCELLED:
        A.cancel_case(
            session,
            a["admin"],
            case,
            "L'evento documentato non si è svolto: verificato con l'organizzazione ospitante.",
            d.tick(),
        )
    elif target == S.DOSSIER_REVIEW:
        comp = A.snapshot_competences(case)[0]
        A.rate_criterion(
            session,
            a["certificatore"],
            case,
            comp["code"],
            comp["criteria"][0]["code"],
            "L2",
            "Buone evidenze.",
            d.tick(1),
        )
    elif target in {S.VALIDATED_PARTIAL}:
        d.assess(case, set(codes[:-1]))
    elif target in {S.NOT_VALIDATED, S.APPEAL_PENDING, S.CLOSED}:
        d.assess(case, set())
        if target != S.NOT_VALIDATED:
            appeals.file_appeal(
                session,
                candidate,
                case,
                "Il colloquio non ha considerato il report del festival allegato al portfolio.",
                d.tick(),
            )
        if target == S.CLOSED:
            appeals.reject_appeal(
                session,
                a["certificatore2"],
                case,
                "Il report è stato esaminato dalla commissione: non documenta i criteri richiesti.",
                d.tick(),
            )
    elif target in {
        S.CERTIFICATION,
        S.CERTIFIED,
        S.CERTIFICATE_ISSUED,
        S.VALIDATED_FULL,
        S.VALIDATION_ISSUED,
    }:
        d.assess(case, set(codes))
        if target in {S.CERTIFIED, S.CERTIFICATE_ISSUED}:
            A.certify(session, a["certificatore"], case, d.tick())
        if target == S.VALIDATION_ISSUED and d.renderer is not None:
            issue_validation_document(
                session, d.storage, d.renderer, a["certificatore"], case, d.tick()
            )


#: Cases whose certificate the demo issues (after this module, since issuance commits on its
#: own: see certification.certificates.issuance); the second one is then revoked.
DEMO_CERTIFICATES: Final = (
    ("elisa.fontana", "DEMO-P03", False),
    ("matteo.rinaldi", "DEMO-P02", True),
)


def demo_certificate_cases(session: Session) -> list[tuple[CertificationCase, bool]]:
    """The demo cases meant to end with a certificate, and whether it is then revoked."""
    found = []
    for local, profile_code, revoke in DEMO_CERTIFICATES:
        case = session.scalar(
            select(CertificationCase)
            .join(Person, Person.id == CertificationCase.candidate_id)
            .join(UserAccount, UserAccount.person_id == Person.id)
            .join(Profile, Profile.id == CertificationCase.target_profile_id)
            .where(UserAccount.email == f"{local}@{DEMO_DOMAIN}", Profile.code == profile_code)
            .order_by(CertificationCase.opened_at)
            .limit(1)
        )
        if case is not None:
            found.append((case, revoke))
    return found
