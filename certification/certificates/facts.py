"""What a certificate states about its case, computed from the register at reservation.

:func:`certificate_content` reads the case, its frozen rubric, the current ratings and outcomes,
the evidence behind the validated competences and the panel, and returns the facts that
:func:`~certification.certificates.lifecycle.reserve_certificate` freezes (typed in
:mod:`~certification.certificates.content`), with the secret half of the salted evidence
commitments (:mod:`~certification.certificates.commitments`): the rows kept for the holder.
The preview of a certificate is built from the same facts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certification.cases.assessment import current_outcomes, current_ratings, snapshot_competences
from certification.cases.workflow import linked_evidence_for_case
from certification.certificates import commitments
from certification.certificates import content as contract
from certification.certificates.coverage import kind_for, required_competences
from certification.errors import InvalidInput, NotFound
from certification.models import (
    CertificateEvidence,
    CertificationCase,
    Competence,
    CompetenceOutcome,
    Evidence,
    Outcome,
)
from certification.portfolio.operations import evidence_digest


def _iso_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def certificate_content(
    session: Session, case: CertificationCase, *, base_url: str, issued_at: dt.datetime
) -> tuple[contract.CertificateFacts, list[CertificateEvidence]]:
    """Everything the certificate says of the case, frozen at issuance (domain.md §8; typed in
    :mod:`~certification.certificates.content`), and the secret half of its evidence commitments
    (the rows to attach to the certificate). Only competences whose current outcome is VALIDATA
    appear (§6.6 rule 5); evidence is in the salted-commitment format (``evidence_format`` 2):
    each item carries its type, date, indicators and commitment, never its plain hash."""
    snapshot = case.snapshot.content if case.snapshot else None
    if snapshot is None:
        raise NotFound("no rubric snapshot")
    outcomes: dict[str, CompetenceOutcome] = {
        o.competence_code: o for o in current_outcomes(case) if o.outcome == Outcome.VALIDATA
    }
    ratings = current_ratings(case)
    framework = case.target_profile.framework
    certified = [item for item in snapshot_competences(case) if item["code"] in outcomes]
    live_by_id = {
        competence.id: competence
        for competence in session.scalars(
            select(Competence)
            .where(Competence.id.in_([uuid.UUID(item["id"]) for item in certified]))
            .options(selectinload(Competence.statements))
        )
    }
    competences: list[contract.Competence] = []
    for item in certified:
        live = live_by_id.get(uuid.UUID(item["id"]))
        statements: dict[str, list[contract.Statement]] = {"abilita": [], "conoscenza": []}
        for statement in live.statements if live else []:
            statements.setdefault(statement.kind, []).append(
                {"it": statement.text_it, "en": statement.text_en}
            )
        levels = [ratings[c["code"]].level_code for c in item["criteria"] if c["code"] in ratings]
        competences.append(
            {
                "code": item["code"],
                "title_it": item["title_it"],
                "title_en": item["title_en"],
                "eqf_level": item["eqf_level"],
                "ada_codes": list(item["ada_codes"]),
                "alignments": list(live.alignments) if live else [],
                "abilita": statements["abilita"],
                "conoscenze": statements["conoscenza"],
                "achieved_level": min(levels) if levels else None,
                "criteria": [
                    {
                        "code": c["code"],
                        "text_it": c["text_it"],
                        "text_en": c["text_en"],
                        "levels": c["levels"],
                        "level": ratings[c["code"]].level_code if c["code"] in ratings else None,
                    }
                    for c in item["criteria"]
                ],
            }
        )
    if not competences:
        raise InvalidInput("nothing certified", errors={"case": ["nothing_validated"]})
    # The evidence behind the certified competences: what the panel cited, and what the
    # candidate linked to them.
    linked = linked_evidence_for_case(session, case, with_details=True)
    certified_ids = {
        uuid.UUID(c["id"]) for c in snapshot_competences(case) if c["code"] in outcomes
    }
    wanted = {uuid.UUID(i) for o in outcomes.values() for i in o.evidence_ids} | {
        e.id for c in certified_ids for e in linked.get(c, [])
    }
    by_id = {e.id: e for items in linked.values() for e in items}
    used = sorted((e for e in by_id.values() if e.id in wanted), key=lambda e: e.created_at)
    evidence, commitment_rows = _committed_evidence(
        used, _indicators(snapshot_competences(case), outcomes, linked, used)
    )
    experiences = {e.experience.id: e.experience for e in used}
    starts = [x.start_date for x in experiences.values()]
    ends = [x.end_date or x.start_date for x in experiences.values()]
    session_dates = sorted(
        s.scheduled_at.date() for s in case.sessions if s.scheduled_at is not None
    )
    required = required_competences(case.target_profile)
    person = case.candidate
    ente = case.ente_titolato
    titolare = ente.accredited_by
    return {
        "issued_at": issued_at.isoformat(),
        "place": ente.city,
        "case_protocol": case.protocol_number,
        "illustrative": bool(snapshot["framework"]["illustrative"]),
        "kind": kind_for((c["code"] for c in required), outcomes).value,
        "holder": {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "codice_fiscale": person.codice_fiscale,
            "birth_date": _iso_date(person.birth_date),
            "birth_place": person.birth_place,
        },
        "ente": {
            "id": str(ente.id),
            "legal_name": ente.legal_name,
            "short_name": ente.short_name,
            "tax_code": ente.tax_code,
            "accreditation_number": ente.accreditation_number,
            "accreditation_register": ente.accreditation_register,
            "address": ente.address,
            "city": ente.city,
            "website": ente.website,
        },
        "titolare": {"id": str(titolare.id), "legal_name": titolare.legal_name}
        if titolare
        else None,
        "standard": {
            "framework_code": framework.code,
            "framework_version": framework.version,
            "framework_title_it": framework.title_it,
            "framework_title_en": framework.title_en,
            "legal_reference_it": framework.legal_reference_it,
            "legal_reference_en": framework.legal_reference_en,
            "valid_from": _iso_date(framework.valid_from),
            "profile_code": snapshot["profile"]["code"],
            "profile_title_it": snapshot["profile"]["title_it"],
            "profile_title_en": snapshot["profile"]["title_en"],
            "eqf_level": snapshot["profile"]["eqf_level"],
            # What a certificate of the whole profile holds: a partial one says what it lacks.
            "profile_competences": required,
        },
        "competences": competences,
        "learning": {
            "contexts": sorted({x.learning_context.value for x in experiences.values()}),
            "experiences": [
                {
                    "kind": x.kind.value,
                    "host": x.host_organisation.legal_name if x.host_organisation else x.host_name,
                    "start": _iso_date(x.start_date),
                    "end": _iso_date(x.end_date),
                }
                for x in sorted(experiences.values(), key=lambda x: x.start_date)
            ],
            "start": _iso_date(min(starts)) if starts else None,
            "end": _iso_date(max(ends)) if ends else None,
        },
        "assessment": {
            "methods": sorted({m for o in outcomes.values() for m in o.methods}),
            "dates": [d.isoformat() for d in dict.fromkeys(session_dates)],
            "decided_on": max(o.decided_at for o in outcomes.values()).date().isoformat(),
            "panel": [
                {"name": m.person.full_name, "function": m.function.value}
                for m in (case.sessions[-1].members if case.sessions else [])
            ],
        },
        "evidence_format": commitments.EVIDENCE_FORMAT,
        "evidence": evidence,
        "base_url": base_url.rstrip("/"),
    }, commitment_rows


def _indicators(
    competences: list[dict[str, Any]],
    outcomes: dict[str, CompetenceOutcome],
    linked: dict[uuid.UUID, list[Evidence]],
    used: list[Evidence],
) -> dict[uuid.UUID, list[str]]:
    """Each used item's indicators: the certified competences it is linked to or the panel
    cited it for, and the criteria of those competences it is linked to."""
    certified = {uuid.UUID(c["id"]): c for c in competences if c["code"] in outcomes}
    found: dict[uuid.UUID, set[str]] = {e.id: set() for e in used}
    for competence_id, items in linked.items():
        if competence_id in certified:
            for item in items:
                if item.id in found:
                    found[item.id].add(commitments.result_id(certified[competence_id]["code"]))
    for code, outcome in outcomes.items():
        for cited in outcome.evidence_ids:
            if uuid.UUID(cited) in found:
                found[uuid.UUID(cited)].add(commitments.result_id(code))
    for item in used:
        for link in item.links:
            competence = certified.get(link.competence_id)
            if competence is None or link.criterion is None:
                continue
            if link.criterion.code in {c["code"] for c in competence["criteria"]}:
                found[item.id].add(commitments.result_id(link.criterion.code))
    return {key: commitments.canonical_indicators(value) for key, value in found.items()}


def _committed_evidence(
    used: list[Evidence], indicators: dict[uuid.UUID, list[str]]
) -> tuple[list[contract.EvidenceItem], list[CertificateEvidence]]:
    """The public entries (type, date, indicators, commitment) and the secret rows (salt,
    content hash, file name) of the evidence, one fresh salt per item."""
    public: list[contract.EvidenceItem] = []
    rows: list[CertificateEvidence] = []
    for position, item in enumerate(used):
        salt = commitments.new_salt()
        digest = evidence_digest(item)
        value = commitments.commitment(salt, bytes.fromhex(digest), indicators[item.id])
        public.append(
            {
                "type": item.type.value,
                "date": _iso_date(item.issued_on or item.created_at.date()),
                "indicators": indicators[item.id],
                "commitment": value,
            }
        )
        rows.append(
            CertificateEvidence(
                position=position,
                evidence_id=item.id,
                salt=salt.hex(),
                content_sha256=digest,
                file_name=item.file_name if item.file_sha256 else None,
                indicators=indicators[item.id],
                commitment=value,
            )
        )
    return public, rows
