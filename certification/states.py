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
    """One row of the table: an event moves a case from one of ``sources`` to ``target``."""

    event: str
    sources: frozenset[CaseStatus]
    target: CaseStatus
    actors: frozenset[str]


def _t(event: str, sources: set[CaseStatus], target: CaseStatus, *actors: str) -> Transition:
    return Transition(event, frozenset(sources), target, frozenset(actors))


S = CaseStatus
_ACTIVE = frozenset(S) - TERMINAL

TRANSITIONS: Final[dict[str, Transition]] = {
    t.event: t
    for t in (
        _t("submit", {S.DRAFT}, S.SUBMITTED, CANDIDATE),
        _t("take_charge", {S.SUBMITTED}, S.IN_ACCOGLIENZA, Role.OPERATORE_ACCOGLIENZA),
        _t("reject", {S.IN_ACCOGLIENZA}, S.NOT_ADMITTED, Role.OPERATORE_ACCOGLIENZA),
        _t("admit", {S.IN_ACCOGLIENZA}, S.IDENTIFICATION, Role.OPERATORE_ACCOGLIENZA),
        _t("issue_transparency", {S.IDENTIFICATION}, S.TRANSPARENCY_ISSUED, Role.TUTOR),
        _t("stop", {S.TRANSPARENCY_ISSUED}, S.CLOSED_TRANSPARENCY_ONLY, CANDIDATE),
        _t("withdraw", set(_ACTIVE - {S.DRAFT}), S.WITHDRAWN, CANDIDATE),
    )
}
