"""Who may do what: object-level authorisation as plain functions (security.md §3.3).

Views and operations ask these questions; they never decide on their own. Objects outside an
actor's scope are reported as not found (:class:`AccessRefused`, a :class:`NotFound` that the web
layer also writes to the security log), so their existence does not leak.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import uuid
from typing import Final, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, or_, select
from sqlalchemy import case as case_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.cases.states import CaseStatus
from certification.errors import AccessRefused, NotFound
from certification.models import (
    AssessmentSession,
    Certificate,
    CertificateStatus,
    CertificationCase,
    Organisation,
    PanelMember,
    Person,
    RubricSnapshot,
    StaffRole,
    UserAccount,
    UserSession,
)
from certification.people.roles import OrganisationKind, Role

#: Roles that make someone staff (as opposed to a candidate or a partner business).
STAFF_ROLES = frozenset(Role) - {Role.PARTNER}
#: Roles of an ente titolato that work on its cases (each only on the cases it has a role on).
CASE_STAFF_ROLES = frozenset(
    {Role.OPERATORE_ACCOGLIENZA, Role.TUTOR, Role.CERTIFICATORE, Role.ASSESSOR, Role.SIGNATORY}
)
#: Roles of an ente titolato that run its talent-card programme (cards, partners, conventions).
CARD_PROGRAMME_ROLES = frozenset({Role.OPERATORE_ACCOGLIENZA, Role.ADMIN})


def is_staff(actor: UserAccount) -> bool:
    """Holds any staff role anywhere."""
    return actor.has_role(*STAFF_ROLES)


def administers(actor: UserAccount, organisation_id: uuid.UUID) -> bool:
    """An administrator of that organisation: runs its staff and keys and cancels its cases by
    their id (:func:`may_cancel_case`), without otherwise seeing them."""
    return Role.ADMIN in actor.roles_in(organisation_id)


def is_signatory(actor: UserAccount) -> bool:
    """A signatory of some ente: may open the issuing of certificates (one by one or in bulk;
    each case is still checked)."""
    return actor.has_role(Role.SIGNATORY)


def signs_for(actor: UserAccount, organisation_id: uuid.UUID) -> bool:
    """A signatory of that ente: issues, revokes, suspends and corrects its certificates, and
    sees them in every status."""
    return Role.SIGNATORY in actor.roles_in(organisation_id)


def runs_card_programme(actor: UserAccount) -> bool:
    """Runs the talent-card programme of some ente titolato (an operator or administrator
    there, as ``certification.cards.may_manage_cards`` asks for one ente)."""
    return actor.is_active and any(
        r.organisation.kind == OrganisationKind.ENTE_TITOLATO and r.role in CARD_PROGRAMME_ROLES
        for r in actor.person.staff_roles
    )


def can_manage_staff(actor: UserAccount, organisation: Organisation) -> bool:
    """An administrator of that very organisation manages its staff; the staff running an
    ente's card programme also manage the users of its partner businesses."""
    if not actor.is_active:
        return False
    if Role.ADMIN in actor.roles_in(organisation.id):
        return True
    return organisation.managed_by_id is not None and bool(
        actor.roles_in(organisation.managed_by_id) & CARD_PROGRAMME_ROLES
    )


def can_publish_privacy_notice(actor: UserAccount, organisation: Organisation) -> bool:
    """An administrator of the ente (its titolare del trattamento) publishes its notice."""
    return actor.is_active and Role.ADMIN in actor.roles_in(organisation.id)


def managed_organisations(session: Session, actor: UserAccount) -> list[Organisation]:
    """The organisations whose staff ``actor`` manages."""
    administered = select(StaffRole.organisation_id).where(
        StaffRole.person_id == actor.person_id, StaffRole.role == Role.ADMIN
    )
    programmes = select(StaffRole.organisation_id).where(
        StaffRole.person_id == actor.person_id, StaffRole.role.in_(CARD_PROGRAMME_ROLES)
    )
    query = (
        select(Organisation)
        .where(
            or_(
                Organisation.id.in_(administered),
                Organisation.managed_by_id.in_(programmes),
            )
        )
        .order_by(Organisation.short_name)
    )
    return list(session.scalars(query))


def get_managed_organisation(
    session: Session, actor: UserAccount, organisation_id: uuid.UUID
) -> Organisation:
    """The organisation if ``actor`` administers it; :class:`NotFound` otherwise (no oracle)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not can_manage_staff(actor, organisation):
        raise NotFound("organisation not found")
    return organisation


# --- cases: one rule for who sees a case ------------------------------------------------------
#
# Staff see a case only through a role *on that case* (security.md §3.3: assignment checked on
# every request), never merely by working for its ente:
#
# - the candidate, always;
# - the tutor assigned to it (identification, Documento di trasparenza);
# - the ente's operatori di accoglienza while it is in intake, and the one who took it in charge;
# - the ente's certifiers once the dossier has gone for review (they review it, plan the
#   assessment, decide appeals): the case then has its frozen rubric;
# - each member of one of its panels (an assessor sees no case but the ones they assess; a
#   member replaced on the panel no longer sees it);
# - the ente's signatories once the outcome is decided (validation document, certificate);
# - the supervisors of the ente titolare that accredits the ente, read only.
#
# Administrators run staff and keys and do not see cases (they cancel one by its id: #27).
# Every role also needs the staff role in the case's ente still: leaving the ente ends it.
# ``visible_cases`` is the same rule as a query, for lists; a test holds the two together.


class CaseRelation(enum.StrEnum):
    """Why someone sees a case."""

    CANDIDATE = "candidate"
    TUTOR = "tutor"
    INTAKE = "intake"
    CERTIFIER = "certifier"
    PANEL = "panel"
    SIGNATORY = "signatory"
    SUPERVISOR = "supervisor"


#: The intake states, where the operatori di accoglienza work on the case.
INTAKE_STATES: Final = frozenset({CaseStatus.SUBMITTED, CaseStatus.IN_ACCOGLIENZA})
#: The states where a signatory has work on the case: documents of a decided outcome.
SIGNATORY_STATES: Final = frozenset(
    {
        CaseStatus.VALIDATED_FULL,
        CaseStatus.VALIDATED_PARTIAL,
        CaseStatus.VALIDATION_ISSUED,
        CaseStatus.CERTIFICATION,
        CaseStatus.CERTIFIED,
        CaseStatus.CERTIFICATE_ISSUED,
    }
)
#: Panel functions and the ente role each needs.
_PANEL_ROLES: Final = frozenset({Role.CERTIFICATORE, Role.ASSESSOR})


def _effective_status(case: CertificationCase) -> CaseStatus:
    """The state the case is in, or was in before an inactivity suspension."""
    if case.status == CaseStatus.SUSPENDED_INACTIVE and case.suspended_from:
        return CaseStatus(case.suspended_from)
    return case.status


def is_assigned_tutor(actor: UserAccount, case: CertificationCase) -> bool:
    """The actor is the tutor assigned to the case (and still a tutor of its ente)."""
    return case.assigned_tutor_id == actor.person_id and Role.TUTOR in actor.roles_in(
        case.ente_titolato_id
    )


def is_panel_member(
    actor: UserAccount, case: CertificationCase, *, current_round: bool = False
) -> bool:
    """The actor sits on a panel of the case (of this round only, with ``current_round``) and
    is still a certifier or assessor of its ente."""
    if not actor.roles_in(case.ente_titolato_id) & _PANEL_ROLES:
        return False
    return any(
        member.person_id == actor.person_id
        for assessment in case.sessions
        if not current_round or assessment.round == case.assessment_round
        for member in assessment.members
    )


def supervises(actor: UserAccount, case: CertificationCase) -> bool:
    """The actor is a supervisor of the ente titolare that accredits the case's ente."""
    if not actor.has_role(Role.REGION_SUPERVISOR):
        return False
    accredited_by = case.ente_titolato.accredited_by_id
    return accredited_by is not None and Role.REGION_SUPERVISOR in actor.roles_in(accredited_by)


def case_relations(actor: UserAccount, case: CertificationCase) -> frozenset[CaseRelation]:
    """Every reason ``actor`` has to see ``case`` (empty: they do not see it)."""
    relations: set[CaseRelation] = set()
    if case.candidate_id == actor.person_id:
        relations.add(CaseRelation.CANDIDATE)
    if case.status == CaseStatus.DRAFT:  # a draft is its candidate's alone
        return frozenset(relations)
    if not actor.is_active:
        return frozenset()
    roles = actor.roles_in(case.ente_titolato_id)
    status = _effective_status(case)
    if is_assigned_tutor(actor, case):
        relations.add(CaseRelation.TUTOR)
    if Role.OPERATORE_ACCOGLIENZA in roles and (
        status in INTAKE_STATES or case.assigned_operator_id == actor.person_id
    ):
        relations.add(CaseRelation.INTAKE)
    if Role.CERTIFICATORE in roles and case.snapshot is not None:
        relations.add(CaseRelation.CERTIFIER)
    if is_panel_member(actor, case):
        relations.add(CaseRelation.PANEL)
    if Role.SIGNATORY in roles and status in SIGNATORY_STATES:
        relations.add(CaseRelation.SIGNATORY)
    if supervises(actor, case):
        relations.add(CaseRelation.SUPERVISOR)
    return frozenset(relations)


def can_view_case(actor: UserAccount, case: CertificationCase) -> bool:
    """Whether ``actor`` has a role on ``case`` (see the rule above)."""
    return bool(case_relations(actor, case))


def may_cancel_case(actor: UserAccount, case: CertificationCase) -> bool:
    """The administrators of the case's ente may cancel it (they find it by its id: #27); a
    draft is its candidate's alone. Whether the case can be cancelled now is the workflow's."""
    return case.status != CaseStatus.DRAFT and administers(actor, case.ente_titolato_id)


def visible_cases(actor: UserAccount) -> ColumnElement[bool]:
    """The rule of :func:`case_relations` as a WHERE clause on ``CertificationCase``, for lists
    (staff relations only: a candidate's own cases are listed apart)."""
    roles: dict[Role, set[uuid.UUID]] = {}
    for staff_role in actor.person.staff_roles:
        roles.setdefault(staff_role.role, set()).add(staff_role.organisation_id)
    if not actor.is_active or not roles:
        return false()
    case = CertificationCase
    status = case.status
    suspended_from = case.suspended_from
    effective = case_(
        (
            and_(status == CaseStatus.SUSPENDED_INACTIVE, suspended_from.is_not(None)),
            suspended_from,
        ),
        else_=status,
    )
    ente = case.ente_titolato_id

    def entes(*held: Role) -> set[uuid.UUID]:
        return set().union(*(roles.get(role, set()) for role in held))

    # Only the arms of the roles held, each led by its ente (or person), so that the database
    # reads them through the (ente, status) index and scans no table of the whole region.
    arms: list[ColumnElement[bool]] = []
    if tutoring := entes(Role.TUTOR):
        arms.append(and_(case.assigned_tutor_id == actor.person_id, ente.in_(tutoring)))
    if intake := entes(Role.OPERATORE_ACCOGLIENZA):
        arms.append(
            and_(
                ente.in_(intake),
                or_(
                    effective.in_([s.value for s in INTAKE_STATES]),
                    case.assigned_operator_id == actor.person_id,
                ),
            )
        )
    if certifying := entes(Role.CERTIFICATORE):
        # A scalar subquery, looked up by the unique index for each case of the ente: an
        # EXISTS under OR is planned as a hash of every rubric frozen in the region.
        has_snapshot = (
            select(RubricSnapshot.id)
            .where(RubricSnapshot.case_id == case.id)
            .scalar_subquery()
            .is_not(None)
        )
        arms.append(and_(ente.in_(certifying), has_snapshot))
    if panel_entes := entes(Role.CERTIFICATORE, Role.ASSESSOR):
        on_panel = (
            exists()
            .where(AssessmentSession.case_id == case.id)
            .where(PanelMember.session_id == AssessmentSession.id)
            .where(PanelMember.person_id == actor.person_id)
        )
        arms.append(and_(ente.in_(panel_entes), on_panel))
    if signing := entes(Role.SIGNATORY):
        arms.append(and_(ente.in_(signing), effective.in_([s.value for s in SIGNATORY_STATES])))
    if supervising := entes(Role.REGION_SUPERVISOR):
        supervised = select(Organisation.id).where(Organisation.accredited_by_id.in_(supervising))
        arms.append(ente.in_(supervised))
    if not arms:
        return false()
    return and_(status != CaseStatus.DRAFT, or_(*arms))


def get_case(session: Session, actor: UserAccount, case_id: uuid.UUID) -> CertificationCase:
    """A case ``actor`` may see; :class:`AccessRefused` (a not-found) otherwise."""
    case = session.get(CertificationCase, case_id)
    if case is None:
        raise NotFound("case not found")
    if not can_view_case(actor, case):
        raise AccessRefused("case", case_id)
    return case


def can_view_certificate(actor: UserAccount, certificate: Certificate) -> bool:
    """Its holder; the signatories of its ente (they revoke, suspend and correct it); anyone
    with a role on its case; the supervisors of the ente titolare."""
    if certificate.holder_person_id == actor.person_id:
        return True
    if not actor.is_active:
        return False
    if signs_for(actor, certificate.organisation_id):
        return True
    return is_staff(actor) and can_view_case(actor, certificate.case)


def can_offer_to_wallet(actor: UserAccount, certificate: Certificate) -> bool:
    """Only the holder puts a certificate into a wallet (OpenID4VCI offer), and only while it
    is issued (not suspended, revoked or superseded); they also see which wallets took it."""
    return (
        certificate.holder_person_id == actor.person_id
        and certificate.status == CertificateStatus.ISSUED
    )


class HolderFile(NamedTuple):
    """A certificate's issued PDF that its holder may download (:func:`holder_file`)."""

    pdf_sha256: str
    number: str


@functools.cache
def _holder_file_statement(
    roles: frozenset[Role],
) -> Select[dt.datetime, dt.datetime, dt.datetime | None, CertificateStatus, str | None, str, bool]:
    # The session row by its primary key, its account by primary key, the certificate by its
    # primary key *and* that account's person as holder: three index look-ups, plain columns.
    needs_second_factor = (
        select(StaffRole.id)
        # One bound parameter per role, not IN (...): an expanding IN is compiled again on every
        # execution, and this statement runs on every download.
        .where(
            StaffRole.person_id == UserAccount.person_id,
            or_(*(StaffRole.role == role for role in sorted(roles))),
        )
        .exists()
    )
    return (
        select(
            UserSession.expires_at,
            UserSession.last_seen_at,
            UserSession.second_factor_at,
            Certificate.status,
            Certificate.pdf_sha256,
            Certificate.number,
            needs_second_factor if roles else false(),
        )
        .join(UserAccount, UserAccount.id == UserSession.user_id)
        .join(
            Certificate,
            and_(
                Certificate.id == bindparam("certificate_id"),
                Certificate.holder_person_id == UserAccount.person_id,
            ),
        )
        .where(UserSession.token_hash == bindparam("token_hash"), UserAccount.is_active)
    )


def holder_file(
    session: Session | Connection,
    token_hash: str,
    certificate_id: uuid.UUID,
    now: dt.datetime,
    *,
    idle_timeout: dt.timedelta,
    touch_after: dt.timedelta,
    public_states: frozenset[CertificateStatus],
    second_factor_roles: frozenset[Role],
) -> HolderFile | None:
    """The holder's own check for downloading a certificate's PDF, in one indexed query and
    without loading any object (issue 22): the login session ``token_hash`` is live (not
    expired, not idle, seen within ``touch_after`` so there is nothing to write), its account
    is active, that account's person holds the certificate (:func:`can_view_certificate`'s first
    rule), the certificate is public (``public_states``) with its file, and the session is not
    one the second-factor rule ends (the password alone, for a role in
    ``second_factor_roles``). ``session`` may be the request's connection (plain columns:
    no ORM execution). None is no refusal: it says "not decided here", and the full
    check (the loaded account, :func:`can_view_certificate`) decides, as it does for everyone
    who is not the holder. One statement, no more: the download runs it without a transaction
    (``ONE_STATEMENT``)."""
    row = session.execute(
        _holder_file_statement(second_factor_roles),
        {"token_hash": token_hash, "certificate_id": certificate_id},
    ).first()
    if row is None:
        return None
    expires_at, last_seen_at, second_factor_at, status, pdf_sha256, number, needs = row
    live = expires_at > now and last_seen_at + idle_timeout > now
    if not live or now - last_seen_at > touch_after:
        return None
    if status not in public_states or pdf_sha256 is None:
        return None
    if needs and second_factor_at is None:
        return None
    return HolderFile(pdf_sha256, number)


# --- portfolio --------------------------------------------------------------------------------


def _cases_of(session: Session, person_id: uuid.UUID) -> list[CertificationCase]:
    return list(
        session.scalars(
            select(CertificationCase).where(CertificationCase.candidate_id == person_id)
        )
    )


def can_view_portfolio(session: Session, actor: UserAccount, person: Person) -> bool:
    """The owner; anyone who sees one of their cases (the portfolio is its dossier)."""
    if actor.person_id == person.id:
        return True
    return any(can_view_case(actor, case) for case in _cases_of(session, person.id))


def can_edit_portfolio(session: Session, actor: UserAccount, person: Person) -> bool:
    """Owner; or the assigned tutor while a case is in identification (they edit together)."""
    if actor.person_id == person.id:
        return True
    return any(
        case.status == CaseStatus.IDENTIFICATION and is_assigned_tutor(actor, case)
        for case in _cases_of(session, person.id)
    )


def can_preview_portfolio_files(actor: UserAccount, person: Person) -> bool:
    """Thumbnails and inline previews of evidence files: the owner only. Staff who see the
    portfolio download the files (served as attachments), as before."""
    return actor.person_id == person.id


def get_portfolio_owner(session: Session, actor: UserAccount, person_id: uuid.UUID) -> Person:
    """The person whose portfolio ``actor`` may see; :class:`NotFound` otherwise (no oracle)."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("portfolio not found")
    if not can_view_portfolio(session, actor, person):
        raise AccessRefused("portfolio", person_id)
    return person
