"""The case workflow: every state change goes through :func:`apply_transition`, which checks the
table in :mod:`certification.cases.states`, the actor's role, and writes a hash-chained record
whose chain head is signed with the audit key when the transaction commits
(:mod:`certification.audit.chains`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from certification.audit.chains import GENESIS_HASH, transition_hash, transition_record
from certification.audit.events import note_case_changed, record_event
from certification.cases.states import CANDIDATE, TERMINAL, TRANSITIONS, CaseEvent, CaseStatus
from certification.errors import Conflict, InvalidInput, NotFound, NotPermitted
from certification.models import (
    CaseCompetence,
    CaseTransition,
    CertificationCase,
    Competence,
    Consent,
    ConsentPurpose,
    Evidence,
    EvidenceLink,
    Experience,
    Organisation,
    Person,
    PortfolioTarget,
    Profile,
    StaffRole,
    TargetScope,
    UserAccount,
    WorkflowProfile,
)
from certification.numbering.counters import next_number
from certification.people.codice_fiscale import normalise_codice_fiscale
from certification.people.privacy import current_notice
from certification.people.roles import OrganisationKind, Role
from certification.policy import can_view_case, is_assigned_tutor, visible_cases

CONSENT_TEXT_VERSION: Final = "2026-1"
#: Reasons an operator may give for not admitting an application (domain.md §7.2, #4).
REJECTION_REASONS: Final = (
    "not_in_repertory",
    "regulated_profession",
    "no_relevant_experience",
    "not_resident",
    "incomplete_application",
    "other",
)


class InvalidTransition(Conflict):
    """The case is not in a state where this can happen."""

    code = "invalid_transition"


class StaleCase(Conflict):
    """Someone else changed the case since the form was loaded."""

    code = "stale_case"


# --- the transition engine --------------------------------------------------------------------


def actor_may(actor: UserAccount, case: CertificationCase, event: CaseEvent) -> bool:
    """Whether ``actor`` is among those the table allows for ``event`` on this case."""
    allowed = TRANSITIONS[event].actors
    if CANDIDATE in allowed and actor.person_id == case.candidate_id:
        return True
    roles = actor.roles_in(case.ente_titolato_id) & (allowed - {CANDIDATE})
    if Role.ADMIN in roles:  # administrators act by their office (cancellation), unseen cases
        return True
    if Role.TUTOR in roles and not is_assigned_tutor(actor, case):
        roles -= {Role.TUTOR}
    # Staff act only on the cases they have a role on (the one rule of certification.policy).
    return bool(roles) and can_view_case(actor, case)


def apply_transition(
    session: Session,
    actor: UserAccount | None,
    case: CertificationCase,
    event: CaseEvent,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Fire ``event`` on ``case``: the one way a case changes state.

    Refused, with nothing changed: a stale form (:class:`StaleCase`), a state the table does
    not list as a source (:class:`InvalidTransition`), an actor the table does not allow
    (:class:`NotPermitted`; ``actor`` None is the system). Otherwise the case moves, a
    hash-chained :class:`CaseTransition` and an audit event are written, and the session is
    flushed.
    """
    rule = TRANSITIONS[event]
    if expected_version is not None and expected_version != case.version:
        raise StaleCase("the case changed since the form was loaded")
    if case.status not in rule.sources:
        raise InvalidTransition(
            f"{event} not possible from {case.status.value}",
            event=str(event),
            status=case.status.value,
        )
    if actor is not None and not actor_may(actor, case, event):
        raise NotPermitted(f"{event} not allowed for this actor")
    target = rule.target
    if target is None:  # reactivation: back to the state the case was suspended from
        target = CaseStatus(case.suspended_from or CaseStatus.IDENTIFICATION)
        case.suspended_from = None
    elif target == CaseStatus.SUSPENDED_INACTIVE:
        case.suspended_from = case.status.value
    previous = case.transitions[-1] if case.transitions else None
    row = CaseTransition(
        case_id=case.id,
        sequence=(previous.sequence + 1) if previous else 1,
        event=str(event),  # the plain word: the hash chain's record is unchanged by the enum
        from_status=case.status.value,
        to_status=target.value,
        actor_user_id=actor.id if actor else None,
        at=now,
        payload=payload or {},
        prev_hash=previous.hash if previous else GENESIS_HASH,
    )
    row.hash = transition_hash(row.prev_hash, transition_record(row))
    case.transitions.append(row)
    case.status = target
    case.status_changed_at = now
    if target in TERMINAL:
        case.closed_at = now
    record_event(
        session,
        actor,
        f"case.{event}",
        "case",
        case.id,
        now,
        organisation_id=case.ente_titolato_id,
        to=target.value,
        # The global audit chain commits to this link of the case's chain
        # (certification.audit.chains).
        chain={"sequence": row.sequence, "hash": row.hash},
    )
    note_case_changed(session, case.id)
    session.flush()


# --- the candidate's application ----------------------------------------------------------------


def enti_titolati(session: Session) -> list[Organisation]:
    """The accredited bodies a candidate can apply to."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.ENTE_TITOLATO)
            .order_by(Organisation.short_name)
        )
    )


def create_case(
    session: Session,
    actor: UserAccount,
    *,
    ente_titolato: Organisation,
    profile: Profile,
    competences: list[Competence] | None,
    now: dt.datetime,
    workflow_profile: WorkflowProfile = WorkflowProfile.LOMBARDIA_9380,
) -> CertificationCase:
    """Open a draft application (transition 1) for a whole profile or some of its competences."""
    person = actor.person
    if not person.is_candidate:
        raise NotPermitted("only candidates apply")
    if ente_titolato.kind != OrganisationKind.ENTE_TITOLATO:
        raise InvalidInput("ente", errors={"ente_titolato_id": ["invalid_choice"]})
    in_profile = [pc.competence for pc in profile.competence_links]
    if competences is None:
        chosen, scope = in_profile, TargetScope.FULL_PROFILE
    else:
        chosen, scope = competences, TargetScope.SINGLE_COMPETENCES
        if not chosen:
            raise InvalidInput("competences", errors={"competences": ["choose_one"]})
        if any(c not in in_profile for c in chosen):
            raise InvalidInput("competences", errors={"competences": ["invalid_choice"]})
    if any(not c.certifiable for c in chosen):
        raise InvalidInput("competences", errors={"competences": ["not_certifiable"]})
    case = CertificationCase(
        candidate_id=person.id,
        ente_titolato_id=ente_titolato.id,
        workflow_profile=workflow_profile,
        target_profile_id=profile.id,
        target_scope=scope,
        status=CaseStatus.DRAFT,
        status_changed_at=now,
        opened_at=now,
    )
    for position, competence in enumerate(chosen):
        case.competences.append(CaseCompetence(competence_id=competence.id, position=position))
    session.add(case)
    if session.get(PortfolioTarget, person.id) is None:
        # Mapping evidence needs a profile: the one applied for, until the person picks another.
        session.add(PortfolioTarget(person_id=person.id, profile_id=profile.id))
    session.flush()
    record_event(
        session, actor, "case.created", "case", case.id, now, organisation_id=ente_titolato.id
    )
    return case


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass
class SubmissionInput:
    """What the candidate states when submitting (transition 2)."""

    birth_date: dt.date
    birth_place: str
    codice_fiscale: str | None
    consent_processing: bool
    consent_public_verification: bool
    declaration_accepted: bool
    guardian_name: str | None = None
    guardian_consent: bool = False


def competences_without_evidence(session: Session, case: CertificationCase) -> list[Competence]:
    """The requested competences of ``case`` with no evidence of the candidate linked to them:
    the candidate is told before submitting (issue 19), and may still submit them."""
    linked = linked_evidence_for_case(session, case)
    return [cc.competence for cc in case.competences if not linked.get(cc.competence_id)]


def submission_errors(
    session: Session, case: CertificationCase, data: SubmissionInput, now: dt.datetime
) -> tuple[dict[str, list[str]], str | None]:
    """What is wrong with a submission, field by field (all of it at once), and the codice
    fiscale made canonical."""
    errors: dict[str, list[str]] = {}
    account = case.candidate.account
    if account is not None and account.email_confirmed_at is None:
        # The ente writes to that address about the application: it must reach the candidate.
        errors["email"] = ["email_unconfirmed"]
    if not data.consent_processing:
        errors["consent_processing"] = ["must_accept"]
    if not data.declaration_accepted:
        errors["declaration_accepted"] = ["must_accept"]
    if data.birth_date > now.date() or data.birth_date.year < 1900:
        errors["birth_date"] = ["bad_date"]
    elif age_on(data.birth_date, now.date()) < 18 and not (
        data.guardian_consent and (data.guardian_name or "").strip()
    ):
        errors["guardian_name"] = ["guardian_required"]
    if not data.birth_place.strip() or len(data.birth_place) > 100:
        errors["birth_place"] = ["required"]
    codice = None
    if data.codice_fiscale and data.codice_fiscale.strip():
        try:
            codice = normalise_codice_fiscale(data.codice_fiscale)
        except ValueError:
            errors["codice_fiscale"] = ["bad_codice_fiscale"]
        else:
            other = session.scalar(
                select(Person).where(
                    Person.codice_fiscale == codice, Person.id != case.candidate_id
                )
            )
            if other is not None:
                errors["codice_fiscale"] = ["codice_fiscale_taken"]
    return errors, codice


def submit_case(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    data: SubmissionInput,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Submit the application: consents given, DPR 445 declaration accepted, a protocol number
    assigned. A minor needs a parent's or guardian's consent."""
    errors, codice = submission_errors(session, case, data, now)
    if errors:
        raise InvalidInput("submission", errors=errors)
    person = case.candidate
    person.birth_date = data.birth_date
    person.birth_place = data.birth_place.strip()
    if codice:
        person.codice_fiscale = codice
    apply_transition(session, actor, case, CaseEvent.SUBMIT, now, expected_version=expected_version)
    minor = age_on(data.birth_date, now.date()) < 18
    guardian = (data.guardian_name or "").strip() or None if minor else None
    notice = current_notice(session, case.ente_titolato)
    consents = [ConsentPurpose.PROCESSING_IVC]
    if data.consent_public_verification:
        consents.append(ConsentPurpose.PUBLIC_VERIFICATION_PAGE)
    if minor:
        consents.append(ConsentPurpose.GUARDIAN)
    for purpose in consents:
        case.consents.append(
            Consent(
                person_id=person.id,
                purpose=purpose,
                granted_at=now,
                text_version=CONSENT_TEXT_VERSION,
                guardian_name=guardian,
                privacy_notice_id=notice.id if notice else None,
            )
        )
    prefix = case.ente_titolato.code or "ATT"
    number = next_number(session, f"protocol:{prefix}:{now.year}")
    case.protocol_number = f"{prefix}-{now.year}-{number:06d}"
    case.submitted_at = now
    session.flush()


# --- reception (accoglienza) ------------------------------------------------------------------


def take_charge(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The reception operator takes the application in hand (transition 3)."""
    apply_transition(
        session, actor, case, CaseEvent.TAKE_CHARGE, now, expected_version=expected_version
    )
    case.assigned_operator_id = actor.person_id
    session.flush()


def tutors_of(session: Session, organisation_id: uuid.UUID) -> list[Person]:
    """The tutors of an ente titolato."""
    return list(
        session.scalars(
            select(Person)
            .join(StaffRole)
            .where(StaffRole.organisation_id == organisation_id, StaffRole.role == Role.TUTOR)
            .order_by(Person.family_name, Person.given_name)
        )
    )


def admit_case(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    tutor: Person,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Admit the application and assign a tutor of the same ente (transition 5)."""
    if tutor.id not in {t.id for t in tutors_of(session, case.ente_titolato_id)}:
        raise InvalidInput("tutor", errors={"tutor_id": ["invalid_choice"]})
    apply_transition(
        session,
        actor,
        case,
        CaseEvent.ADMIT,
        now,
        expected_version=expected_version,
        payload={"tutor": str(tutor.id)},
    )
    case.assigned_tutor_id = tutor.id
    session.flush()


def reject_case(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    reason: str,
    note: str,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """Do not admit the application, with a reason code the candidate is told (transition 4)."""
    if reason not in REJECTION_REASONS:
        raise InvalidInput("reason", errors={"reason": ["invalid_choice"]})
    note = note.strip()
    if reason == "other" and not note:
        raise InvalidInput("note", errors={"note": ["required"]})
    apply_transition(
        session,
        actor,
        case,
        CaseEvent.REJECT,
        now,
        expected_version=expected_version,
        payload={"reason": reason},
    )
    case.rejection_reason = reason
    case.rejection_note = note[:2000] or None
    session.flush()


def withdraw_case(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The candidate withdraws the application (transition 25)."""
    apply_transition(
        session, actor, case, CaseEvent.WITHDRAW, now, expected_version=expected_version
    )


def delete_draft(session: Session, actor: UserAccount, case: CertificationCase) -> None:
    """A draft never submitted can simply be thrown away by its candidate."""
    if case.candidate_id != actor.person_id:
        raise NotFound("case not found")
    if case.status != CaseStatus.DRAFT:
        raise InvalidTransition(
            "only drafts can be deleted", event="delete", status=case.status.value
        )
    session.delete(case)
    session.flush()


def stop_after_transparency(
    session: Session,
    actor: UserAccount,
    case: CertificationCase,
    now: dt.datetime,
    *,
    expected_version: int | None = None,
) -> None:
    """The candidate keeps the Documento di trasparenza and ends here (transition 8)."""
    apply_transition(session, actor, case, CaseEvent.STOP, now, expected_version=expected_version)


def cases_of_candidate(session: Session, person: Person) -> list[CertificationCase]:
    """A candidate's cases, newest first."""
    return list(
        session.scalars(
            select(CertificationCase)
            .where(CertificationCase.candidate_id == person.id)
            .order_by(CertificationCase.opened_at.desc())
        )
    )


def cases_for_staff(
    session: Session, actor: UserAccount, statuses: set[CaseStatus] | None = None
) -> list[CertificationCase]:
    """The cases ``actor`` has a staff role on (:func:`certification.policy.visible_cases`)."""
    query = select(CertificationCase).where(visible_cases(actor))
    if statuses:
        query = query.where(CertificationCase.status.in_(statuses))
    return list(session.scalars(query.order_by(CertificationCase.status_changed_at)))


def linked_evidence_for_case(
    session: Session, case: CertificationCase, *, with_details: bool = False
) -> dict[uuid.UUID, list[Evidence]]:
    """Evidence of the candidate linked to each requested competence of the case;
    ``with_details``: each item's links and experience (with its host) loaded with it, in a
    bounded number of queries (a certificate's content reads them all: no query per item)."""
    competence_ids = [cc.competence_id for cc in case.competences]
    query = (
        select(EvidenceLink.competence_id, Evidence)
        .join(Evidence, Evidence.id == EvidenceLink.evidence_id)
        .where(
            Evidence.person_id == case.candidate_id, EvidenceLink.competence_id.in_(competence_ids)
        )
        .order_by(Evidence.created_at)
    )
    if with_details:
        query = query.options(
            selectinload(Evidence.links),
            joinedload(Evidence.experience).joinedload(Experience.host_organisation),
        )
    rows = session.execute(query).all()
    result: dict[uuid.UUID, list[Evidence]] = {cid: [] for cid in competence_ids}
    for competence_id, evidence in rows:
        if evidence not in result[competence_id]:
            result[competence_id].append(evidence)
    return result
