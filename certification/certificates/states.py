"""A certificate's states after issuance and the changes between them (domain.md §7.5).

``CERTIFICATE_CHANGES`` is the table: for each :class:`CertificateChange`, the states it may be
made from, the state it leads to, who may make it, the status-list bit it sets or clears and the
grounds it takes (rows written as every lifecycle is, :mod:`certification.transitions`).
:func:`certification.certificates.lifecycle.change_certificate_status` is its engine; a test
walks it. Issuance itself (PENDING, then ISSUED or ABANDONED; SUPERSEDED by a correction) is the
reserve → produce → complete story of :mod:`certification.certificates`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from certification.models import CertificateStatus, StatusPurpose
from certification.people.roles import Role
from certification.transitions import Transition, table

#: Why a certificate is revoked or suspended (the text reason stays internal).
REVOCATION_REASONS: Final = (
    "false_evidence",
    "false_self_declaration",
    "identity",
    "procedural_defect",
    "order_of_titolare",
    "other",
)
SUSPENSION_REASONS: Final = ("fraud_report", "challenge_by_region", "other")
#: Who changes a certificate's status or corrects it: a signatory of the issuing ente.
CERTIFICATE_MANAGERS: Final = frozenset({Role.SIGNATORY})


class CertificateChange(enum.StrEnum):
    """What a signatory does to an issued certificate (§7.5). The values are the words of the
    audit log (``certificate.<change>``)."""

    REVOKED = "revoked"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"


@dataclass(frozen=True)
class CertificateTransition(Transition[CertificateChange, CertificateStatus]):
    """A row of :data:`CERTIFICATE_CHANGES`: besides the states and who, the status list whose
    bit the change sets (``bit`` True) or clears, and the grounds (reason codes) it takes."""

    target: CertificateStatus
    status_list: StatusPurpose
    bit: bool
    reasons: tuple[str, ...]


def _c(
    change: CertificateChange,
    sources: set[CertificateStatus],
    target: CertificateStatus,
    status_list: StatusPurpose,
    bit: bool,
    reasons: tuple[str, ...],
) -> CertificateTransition:
    return CertificateTransition(
        change, frozenset(sources), target, CERTIFICATE_MANAGERS, status_list, bit, reasons
    )


_S = CertificateStatus
CERTIFICATE_CHANGES: Final[Mapping[CertificateChange, CertificateTransition]] = table(
    CertificateChange,
    (
        _c(
            CertificateChange.REVOKED,
            {_S.ISSUED, _S.SUSPENDED},
            _S.REVOKED,
            StatusPurpose.REVOCATION,
            True,
            REVOCATION_REASONS,
        ),
        _c(
            CertificateChange.SUSPENDED,
            {_S.ISSUED},
            _S.SUSPENDED,
            StatusPurpose.SUSPENSION,
            True,
            SUSPENSION_REASONS,
        ),
        _c(
            CertificateChange.REINSTATED,
            {_S.SUSPENDED},
            _S.ISSUED,
            StatusPurpose.SUSPENSION,
            False,
            ("reinstated",),
        ),
    ),
)
