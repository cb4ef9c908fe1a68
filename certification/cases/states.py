"""The certification case's states and the transitions between them (domain.md §7).

``TRANSITIONS`` is the one table of the state machine: for each :class:`CaseEvent`, the states
it may happen from, the state it leads to and who may do it (rows written as every lifecycle is,
:mod:`certification.transitions`). The operations in :mod:`certification.cases.workflow` consult
it; a test walks it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from certification.people.roles import Role
from certification.transitions import Transition, table


class CaseStatus(enum.StrEnum):
    """The states of a case (pratica), from the candidate's draft to closure (§7.1)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_ACCOGLIENZA = "in_accoglienza"
    NOT_ADMITTED = "not_admitted"
    IDENTIFICATION = "identification"
    TRANSPARENCY_ISSUED = "transparency_issued"
    CLOSED_TRANSPARENCY_ONLY = "closed_transparency_only"
    DOSSIER_REVIEW = "dossier_review"
    INTEGRATION_REQUESTED = "integration_requested"
    NOT_ADMITTED_TO_ASSESSMENT = "not_admitted_to_assessment"
    ASSESSMENT_SCHEDULED = "assessment_scheduled"
    ASSESSMENT_IN_PROGRESS = "assessment_in_progress"
    ASSESSED = "assessed"
    VALIDATED_FULL = "validated_full"
    VALIDATED_PARTIAL = "validated_partial"
    NOT_VALIDATED = "not_validated"
    VALIDATION_ISSUED = "validation_issued"
    CERTIFICATION = "certification"
    CERTIFIED = "certified"
    CERTIFICATE_ISSUED = "certificate_issued"
    CLOSED = "closed"
    APPEAL_PENDING = "appeal_pending"
    WITHDRAWN = "withdrawn"
    SUSPENDED_INACTIVE = "suspended_inactive"
    CANCELLED = "cancelled"


TERMINAL: Final = frozenset(
    {
        CaseStatus.NOT_ADMITTED,
        CaseStatus.CLOSED_TRANSPARENCY_ONLY,
        CaseStatus.CLOSED,
        CaseStatus.WITHDRAWN,
        CaseStatus.CANCELLED,
    }
)

#: Who acts: the case's own candidate, or a staff role of the case's ente titolato.
CANDIDATE: Final = "candidate"


class CaseEvent(enum.StrEnum):
    """What happens to a case: one row of :data:`TRANSITIONS` each. The values are the words
    the case's history (``CaseTransition.event``, in its hash chain) and the audit log
    (``case.<event>``) record: never change one."""

    SUBMIT = "submit"
    TAKE_CHARGE = "take_charge"
    REJECT = "reject"
    ADMIT = "admit"
    ISSUE_TRANSPARENCY = "issue_transparency"
    STOP = "stop"
    REQUEST_VALIDATION = "request_validation"
    REQUEST_INTEGRATION = "request_integration"
    RESUBMIT = "resubmit"
    DOSSIER_INSUFFICIENT = "dossier_insufficient"
    PLAN_ASSESSMENT = "plan_assessment"
    OPEN_SESSION = "open_session"
    RECORD_OUTCOMES = "record_outcomes"
    VALIDATE_FULL = "validate_full"
    VALIDATE_PARTIAL = "validate_partial"
    NOT_VALIDATE = "not_validate"
    ISSUE_VALIDATION_DOC = "issue_validation_doc"
    START_CERTIFICATION = "start_certification"
    CERTIFY = "certify"
    ISSUE_CERTIFICATE = "issue_certificate"
    CLOSE = "close"
    FILE_APPEAL = "file_appeal"
    UPHOLD_APPEAL = "uphold_appeal"
    REJECT_APPEAL = "reject_appeal"
    WITHDRAW = "withdraw"
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    CANCEL = "cancel"


#: One row of the case's table (the shape every lifecycle is written in,
#: :mod:`certification.transitions`).
CaseTransitionRule = Transition[CaseEvent, CaseStatus]


def _t(
    event: CaseEvent,
    sources: set[CaseStatus] | frozenset[CaseStatus],
    target: CaseStatus | None,
    *actors: str,
) -> CaseTransitionRule:
    return Transition(event, frozenset(sources), target, frozenset(actors))


S = CaseStatus
_ACTIVE = frozenset(S) - TERMINAL
#: Once its certificate is issued a case is not withdrawn, cancelled or suspended: the
#: certificate is revoked or corrected instead (certification/certificates/lifecycle.py), so the
#: register never shows a withdrawn case with a valid certificate.
_OPEN = _ACTIVE - {S.CERTIFICATE_ISSUED}
_VALIDATED = {S.VALIDATED_FULL, S.VALIDATED_PARTIAL}
#: States where the case waits for the candidate: inactivity there leads to suspension.
WAITING_FOR_CANDIDATE: Final = frozenset(
    {S.IDENTIFICATION, S.TRANSPARENCY_ISSUED, S.INTEGRATION_REQUESTED, S.VALIDATED_PARTIAL}
)
#: The outcome states from which the candidate may ask for a review (richiesta di riesame).
APPEALABLE: Final = frozenset({S.NOT_VALIDATED, S.VALIDATED_PARTIAL, S.NOT_ADMITTED_TO_ASSESSMENT})

E = CaseEvent
TRANSITIONS: Final[Mapping[CaseEvent, CaseTransitionRule]] = table(
    CaseEvent,
    (
        _t(E.SUBMIT, {S.DRAFT}, S.SUBMITTED, CANDIDATE),
        _t(E.TAKE_CHARGE, {S.SUBMITTED}, S.IN_ACCOGLIENZA, Role.OPERATORE_ACCOGLIENZA),
        _t(E.REJECT, {S.IN_ACCOGLIENZA}, S.NOT_ADMITTED, Role.OPERATORE_ACCOGLIENZA),
        _t(E.ADMIT, {S.IN_ACCOGLIENZA}, S.IDENTIFICATION, Role.OPERATORE_ACCOGLIENZA),
        _t(E.ISSUE_TRANSPARENCY, {S.IDENTIFICATION}, S.TRANSPARENCY_ISSUED, Role.TUTOR),
        _t(E.STOP, {S.TRANSPARENCY_ISSUED}, S.CLOSED_TRANSPARENCY_ONLY, CANDIDATE),
        _t(E.REQUEST_VALIDATION, {S.TRANSPARENCY_ISSUED}, S.DOSSIER_REVIEW, CANDIDATE),
        # The certifiers review the dossier; assessors act only on the panels they sit on.
        _t(E.REQUEST_INTEGRATION, {S.DOSSIER_REVIEW}, S.INTEGRATION_REQUESTED, Role.CERTIFICATORE),
        _t(E.RESUBMIT, {S.INTEGRATION_REQUESTED}, S.DOSSIER_REVIEW, CANDIDATE, Role.TUTOR),
        _t(
            E.DOSSIER_INSUFFICIENT,
            {S.DOSSIER_REVIEW},
            S.NOT_ADMITTED_TO_ASSESSMENT,
            Role.CERTIFICATORE,
        ),
        _t(E.PLAN_ASSESSMENT, {S.DOSSIER_REVIEW}, S.ASSESSMENT_SCHEDULED, Role.CERTIFICATORE),
        _t(E.OPEN_SESSION, {S.ASSESSMENT_SCHEDULED}, S.ASSESSMENT_IN_PROGRESS, Role.CERTIFICATORE),
        _t(E.RECORD_OUTCOMES, {S.ASSESSMENT_IN_PROGRESS}, S.ASSESSED, Role.CERTIFICATORE),
        _t(E.VALIDATE_FULL, {S.ASSESSED}, S.VALIDATED_FULL),
        _t(E.VALIDATE_PARTIAL, {S.ASSESSED}, S.VALIDATED_PARTIAL),
        _t(E.NOT_VALIDATE, {S.ASSESSED}, S.NOT_VALIDATED),
        _t(
            E.ISSUE_VALIDATION_DOC,
            _VALIDATED,
            S.VALIDATION_ISSUED,
            Role.CERTIFICATORE,
            Role.SIGNATORY,
        ),
        _t(
            E.START_CERTIFICATION,
            _VALIDATED | {S.VALIDATION_ISSUED},
            S.CERTIFICATION,
            CANDIDATE,
            Role.CERTIFICATORE,
        ),
        _t(E.CERTIFY, {S.CERTIFICATION}, S.CERTIFIED, Role.CERTIFICATORE),
        _t(E.ISSUE_CERTIFICATE, {S.CERTIFIED}, S.CERTIFICATE_ISSUED, Role.SIGNATORY),
        _t(E.CLOSE, {S.CERTIFICATE_ISSUED}, S.CLOSED),
        _t(E.FILE_APPEAL, APPEALABLE, S.APPEAL_PENDING, CANDIDATE),
        _t(E.UPHOLD_APPEAL, {S.APPEAL_PENDING}, S.ASSESSMENT_SCHEDULED, Role.CERTIFICATORE),
        _t(E.REJECT_APPEAL, {S.APPEAL_PENDING}, S.CLOSED, Role.CERTIFICATORE),
        _t(E.WITHDRAW, set(_OPEN - {S.DRAFT}), S.WITHDRAWN, CANDIDATE),
        _t(E.SUSPEND, set(_OPEN - {S.DRAFT, S.SUSPENDED_INACTIVE}), S.SUSPENDED_INACTIVE),
        _t(
            E.REACTIVATE,
            {S.SUSPENDED_INACTIVE},
            None,
            CANDIDATE,
            Role.CERTIFICATORE,
            Role.OPERATORE_ACCOGLIENZA,
        ),
        _t(E.CANCEL, set(_OPEN), S.CANCELLED, Role.ADMIN),
    ),
)
