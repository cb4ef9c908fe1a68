"""The Certificato, from the frozen content to the sealed PDF (domain.md §3.5–3.6, §7.5).

Issuing one certificate is a story in three steps, so that a crash never leaves a half-issued
certificate:

1. **reserve** (:func:`lifecycle.reserve_certificate`, one transaction): checks, the number from
   the database counter (:mod:`certification.numbering.counters`), the verification code
   (:mod:`certification.numbering.codes`), a status-list index (:mod:`status_lists`), and the
   frozen content (computed from the case in :mod:`facts`, typed in :mod:`content`) — holder,
   issuer, rubric, competences (:mod:`coverage`: whole profile or single competences), evidence
   commitments (:mod:`commitments`), the badge image (:mod:`badges`) — in a PENDING row;
2. **produce** (:mod:`production`, no database): the Open Badges 3.0 credential signed with Data
   Integrity (:mod:`credentials`), the PDF/A-3 with the credential attached
   (:mod:`certification.rendering`) and the ente's PAdES seal (:mod:`sealing`), with keys from
   :mod:`certification.keys`;
3. **complete** (:func:`lifecycle.complete_certificate`, second transaction): the bytes stored
   (:mod:`certification.storage.blobs`), the certificate ISSUED and the case moved, in one commit.

:mod:`issuance` runs the three as transactions for one certificate and recovers after a crash
(:mod:`faults`: the crash points at which the fault-injection tests kill it); :mod:`bulk` runs
them for a signatory's request of many, on a worker pool.
:mod:`lifecycle` also holds what happens after issuance: suspension, revocation and
reinstatement (the table of those changes is :mod:`states`), each setting a bit of the ente's
Bitstring Status Lists (:mod:`status_lists`), and reissue. :mod:`evidence_reveal` lets a holder
prove one piece of evidence to a verifier. The pinned JSON-LD contexts are in ``contexts/``.

Import the module you need (``from certification.certificates import issuance``): this package
imports nothing itself, so loading one step never loads the renderer or the sealer.
"""

__all__ = [
    "badges",
    "bulk",
    "commitments",
    "content",
    "coverage",
    "credentials",
    "evidence_reveal",
    "facts",
    "faults",
    "issuance",
    "lifecycle",
    "production",
    "sealing",
    "states",
    "status_lists",
]
