"""The holder reveals one piece of evidence of a certificate (issue 17).

The holder gives a verifier the certificate's code, one evidence file from their data export
and that item's salt (``commitments.json``). :func:`verify_evidence` recomputes the salted
commitment (:mod:`certification.certificates.commitments`) with the indicators of each evidence item
of that certificate, as frozen and signed at issuance, and confirms "this file is evidence for
these indicators of this certificate", or refuses.

Nothing can be learnt without the salt: a wrong salt and a wrong file get the same refusal
(``not_confirmed``), so the check is no oracle for guessing evidence. A confirmation shows
only what the public check by code shows, plus the indicators (competence and criterion
codes and titles of the public standard), which the signed credential names anyway.
Certificates issued before commitments (``evidence_format`` 1) are refused with
``not_committed``. Nothing here raises on bad input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from certification.certificates import commitments
from certification.certificates.content import CertificateContent
from certification.verification.checks import Verification, verify_code

#: Stable reasons: ``confirmed`` and the refusals.
REVEAL_REASONS: Final = (
    "confirmed",
    "not_confirmed",  # no evidence item of the certificate matches this file and salt
    "not_committed",  # the certificate was issued before evidence commitments
    "not_found",  # no public certificate has this code
    "salt_malformed",  # not 64 hexadecimal digits
    "no_file",
    "too_large",
)
#: The largest evidence file a candidate can upload (app setting MAX_UPLOAD_MB's default).
DEFAULT_MAX_BYTES: Final = 20 * 2**20


@dataclass(frozen=True)
class Indicator:
    """A result the evidence supports: a competence or one of its criteria."""

    id: str
    code: str
    kind: str  # "competence" or "criterion"
    competence_code: str
    title_it: str
    title_en: str


@dataclass(frozen=True)
class EvidenceReveal:
    """The answer: ``confirmed`` with the indicators, or a refusal reason; ``verification``
    is the certificate's own check by code (None when the code is unknown)."""

    confirmed: bool
    reason: str
    verification: Verification | None = None
    indicators: tuple[Indicator, ...] = ()


def _indicators(content: CertificateContent, ids: list[str]) -> tuple[Indicator, ...]:
    """The indicators named by ``ids``, described from the certificate's frozen content."""
    known: dict[str, Indicator] = {}
    for competence in content["competences"]:
        code = competence["code"]
        known[commitments.result_id(code)] = Indicator(
            commitments.result_id(code),
            code,
            "competence",
            code,
            competence["title_it"],
            competence["title_en"],
        )
        for criterion in competence["criteria"]:
            known[commitments.result_id(criterion["code"])] = Indicator(
                commitments.result_id(criterion["code"]),
                criterion["code"],
                "criterion",
                code,
                criterion["text_it"],
                criterion["text_en"],
            )
    return tuple(
        known.get(item)
        or Indicator(item, commitments.code_of_result(item), "criterion", "", "", "")
        for item in ids
    )


def verify_evidence(
    session: Session,
    code: str,
    data: bytes | None,
    salt_text: str,
    now: dt.datetime,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> EvidenceReveal:
    """Check that ``data`` with the salt ``salt_text`` is committed in the certificate with
    verification ``code`` (see the module's documentation)."""
    if data is None:
        return EvidenceReveal(False, "no_file")
    if len(data) > max_bytes:
        return EvidenceReveal(False, "too_large")
    salt = commitments.parse_salt(salt_text[:200])
    if salt is None:
        return EvidenceReveal(False, "salt_malformed")
    verification = verify_code(session, code[:100], now)
    certificate = verification.certificate
    if certificate is None:
        return EvidenceReveal(False, "not_found")
    content = certificate.content
    if content.get("evidence_format", 1) < commitments.EVIDENCE_FORMAT:
        return EvidenceReveal(False, "not_committed", verification)
    digest = hashlib.sha256(data).digest()
    # Every item is checked, whichever matches: the time taken says nothing either.
    matched = [
        item
        for item in content["evidence"]
        if commitments.matches(item["commitment"], salt, digest, item["indicators"])
    ]
    if not matched:
        return EvidenceReveal(False, "not_confirmed", verification)
    ids = commitments.canonical_indicators(i for item in matched for i in item["indicators"])
    return EvidenceReveal(True, "confirmed", verification, _indicators(content, ids))
