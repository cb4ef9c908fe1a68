"""The certification case's states and the transitions between them (domain.md §7).

``TRANSITIONS`` is the one table of the state machine: event -> (from states, to state, roles
that may do it). The operations in :mod:`certification.workflow` consult it; a test walks it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from certification.roles import Role


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


@dataclass(frozen=True)
class Transition:
    """One row of the table: an event moves a case from one of ``sources`` to ``target``.

    ``target`` None means "back to where it was" (reactivation after a suspension). No
    ``actors`` means only the system fires it (computed outcomes, timeouts).
    """

    event: str
    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    actors: frozenset[str]


def _t(
    event: str,
    sources: set[CaseStatus] | frozenset[CaseStatus],
    target: CaseStatus | None,
    *actors: str,
) -> Transition:
    return Transition(event, frozenset(sources), target, frozenset(actors))


S = CaseStatus
_ACTIVE = frozenset(S) - TERMINAL
#: Once its certificate is issued a case is not withdrawn, cancelled or suspended: the
#: certificate is revoked or corrected instead (certification/certificates.py), so the register
#: never shows a withdrawn case with a valid certificate.
_OPEN = _ACTIVE - {S.CERTIFICATE_ISSUED}
_VALIDATED = {S.VALIDATED_FULL, S.VALIDATED_PARTIAL}
#: States where the case waits for the candidate: inactivity there leads to suspension.
WAITING_FOR_CANDIDATE: Final = frozenset(
    {S.IDENTIFICATION, S.TRANSPARENCY_ISSUED, S.INTEGRATION_REQUESTED, S.VALIDATED_PARTIAL}
)
#: The outcome states from which the candidate may ask for a review (richiesta di riesame).
APPEALABLE: Final = frozenset({S.NOT_VALIDATED, S.VALIDATED_PARTIAL, S.NOT_ADMITTED_TO_ASSESSMENT})

TRANSITIONS: Final[dict[str, Transition]] = {
    t.event: t
    for t in (
        _t("submit", {S.DRAFT}, S.SUBMITTED, CANDIDATE),
        _t("take_charge", {S.SUBMITTED}, S.IN_ACCOGLIENZA, Role.OPERATORE_ACCOGLIENZA),
        _t("reject", {S.IN_ACCOGLIENZA}, S.NOT_ADMITTED, Role.OPERATORE_ACCOGLIENZA),
        _t("admit", {S.IN_ACCOGLIENZA}, S.IDENTIFICATION, Role.OPERATORE_ACCOGLIENZA),
        _t("issue_transparency", {S.IDENTIFICATION}, S.TRANSPARENCY_ISSUED, Role.TUTOR),
        _t("stop", {S.TRANSPARENCY_ISSUED}, S.CLOSED_TRANSPARENCY_ONLY, CANDIDATE),
        _t("request_validation", {S.TRANSPARENCY_ISSUED}, S.DOSSIER_REVIEW, CANDIDATE),
        # The certifiers review the dossier; assessors act only on the panels they sit on.
        _t("request_integration", {S.DOSSIER_REVIEW}, S.INTEGRATION_REQUESTED, Role.CERTIFICATORE),
        _t("resubmit", {S.INTEGRATION_REQUESTED}, S.DOSSIER_REVIEW, CANDIDATE, Role.TUTOR),
        _t(
            "dossier_insufficient",
            {S.DOSSIER_REVIEW},
            S.NOT_ADMITTED_TO_ASSESSMENT,
            Role.CERTIFICATORE,
        ),
        _t("plan_assessment", {S.DOSSIER_REVIEW}, S.ASSESSMENT_SCHEDULED, Role.CERTIFICATORE),
        _t("open_session", {S.ASSESSMENT_SCHEDULED}, S.ASSESSMENT_IN_PROGRESS, Role.CERTIFICATORE),
        _t("record_outcomes", {S.ASSESSMENT_IN_PROGRESS}, S.ASSESSED, Role.CERTIFICATORE),
        _t("validate_full", {S.ASSESSED}, S.VALIDATED_FULL),
        _t("validate_partial", {S.ASSESSED}, S.VALIDATED_PARTIAL),
        _t("not_validate", {S.ASSESSED}, S.NOT_VALIDATED),
        _t(
            "issue_validation_doc",
            _VALIDATED,
            S.VALIDATION_ISSUED,
            Role.CERTIFICATORE,
            Role.SIGNATORY,
        ),
        _t(
            "start_certification",
            _VALIDATED | {S.VALIDATION_ISSUED},
            S.CERTIFICATION,
            CANDIDATE,
            Role.CERTIFICATORE,
        ),
        _t("certify", {S.CERTIFICATION}, S.CERTIFIED, Role.CERTIFICATORE),
        _t("issue_certificate", {S.CERTIFIED}, S.CERTIFICATE_ISSUED, Role.SIGNATORY),
        _t("close", {S.CERTIFICATE_ISSUED}, S.CLOSED),
        _t("file_appeal", APPEALABLE, S.APPEAL_PENDING, CANDIDATE),
        _t("uphold_appeal", {S.APPEAL_PENDING}, S.ASSESSMENT_SCHEDULED, Role.CERTIFICATORE),
        _t("reject_appeal", {S.APPEAL_PENDING}, S.CLOSED, Role.CERTIFICATORE),
        _t("withdraw", set(_OPEN - {S.DRAFT}), S.WITHDRAWN, CANDIDATE),
        _t("suspend", set(_OPEN - {S.DRAFT, S.SUSPENDED_INACTIVE}), S.SUSPENDED_INACTIVE),
        _t(
            "reactivate",
            {S.SUSPENDED_INACTIVE},
            None,
            CANDIDATE,
            Role.CERTIFICATORE,
            Role.OPERATORE_ACCOGLIENZA,
        ),
        _t("cancel", set(_OPEN), S.CANCELLED, Role.ADMIN),
    )
}
