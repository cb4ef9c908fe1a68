"""A person's data, for them to take away (GDPR art. 15 and 20), and erasure of what the law
does not require the ente to keep (art. 17)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.cases.states import CaseStatus
from certification.certificates import commitments
from certification.certificates.lifecycle import certificates_of_holder, format_code
from certification.errors import NotFound
from certification.models import (
    CertificationCase,
    ErasureRecord,
    Evidence,
    Experience,
    Person,
    SelfAssessment,
    StoredFile,
    UserAccount,
)
from certification.people.erasure import BY_PERSON, STORED_FILE, ErasureLedger
from certification.storage.blobs import BlobStorage


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


COMMITMENTS_NOTE: Final = {
    "it": "Per ogni certificato, i sali delle evidenze: il credential del certificato contiene "
    "solo un impegno salato per ciascuna evidenza. Per dimostrare che un file è evidenza di "
    "certi indicatori, dai a chi verifica il codice del certificato, il file e il suo sale "
    "(pagina di verifica del certificato, o POST /api/v1/verify/evidence). Senza il sale "
    "nessuno può risalire alle evidenze: tienili riservati.",
    "en": "For each certificate, the salts of its evidence: the certificate's credential holds "
    "only a salted commitment to each item. To prove that a file is evidence for some "
    "indicators, give the verifier the certificate's code, the file and its salt (the "
    "certificate's verification page, or POST /api/v1/verify/evidence). Without the salt "
    "nobody can tell what the evidence is: keep them private.",
}


def _commitments(
    session: Session, person: Person, files: dict[str, str]
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """``commitments.json`` (each certificate's evidence items with their salt, file and
    indicators) and the ``.txt`` files of links and texts (their exact committed bytes);
    files to add from storage are added to ``files``."""
    texts: dict[str, bytes] = {}
    listed = []
    for certificate in certificates_of_holder(session, person.id):
        if not certificate.evidence_commitments:
            continue  # issued before evidence commitments: nothing to reveal
        items = []
        for row in certificate.evidence_commitments:
            evidence = session.get(Evidence, row.evidence_id) if row.evidence_id else None
            name: str | None = None
            if row.file_name is not None:
                name = f"files/{row.content_sha256[:12]}-{row.file_name}"
                files[name] = row.content_sha256
            elif evidence is not None:
                content = (evidence.url or evidence.text or "").encode("utf-8")
                if hashlib.sha256(content).hexdigest() == row.content_sha256:
                    name = f"commitments/{certificate.number}/{row.position + 1}.txt"
                    texts[name] = content
            items.append(
                {
                    "position": row.position,
                    "file": name,
                    "file_name": row.file_name,
                    "title": evidence.title if evidence is not None else None,
                    "salt": row.salt,
                    "content_sha256": row.content_sha256,
                    "indicators": list(row.indicators),
                    "commitment": row.commitment,
                    "credential_evidence_id": commitments.commitment_id(row.commitment),
                }
            )
        listed.append(
            {
                "number": certificate.number,
                "verification_code": format_code(certificate.verification_code),
                "issued_at": _iso(certificate.issued_at),
                "status": certificate.status.value,
                "evidence": items,
            }
        )
    return {
        "construction": commitments.COMMITMENT_PREFIX.rstrip(":"),
        "note": COMMITMENTS_NOTE,
        "certificates": listed,
    }, texts


def export_person(
    session: Session, storage: BlobStorage, actor: UserAccount, person: Person, now: dt.datetime
) -> bytes:
    """A ZIP with ``data.json`` (everything Attesta holds about the person), their files, and
    ``commitments.json``: the salts of their certificates' evidence commitments, with the
    ``.txt`` files holding the committed bytes of links and texts."""
    if actor.person_id != person.id:
        raise NotFound("portfolio not found")
    experiences = session.scalars(select(Experience).where(Experience.person_id == person.id))
    cases = session.scalars(
        select(CertificationCase).where(CertificationCase.candidate_id == person.id)
    )
    files: dict[str, str] = {}
    data: dict[str, Any] = {
        "exported_at": now.isoformat(),
        "person": {
            k: _iso(getattr(person, k))
            for k in (
                "given_name",
                "family_name",
                "codice_fiscale",
                "birth_date",
                "birth_place",
                "phone",
                "created_at",
            )
        },
        "account": {
            "email": actor.email,
            "locale": actor.locale,
            "created_at": _iso(actor.created_at),
        },
        "experiences": [],
        "self_assessments": [
            {
                "competence": s.competence_id and str(s.competence_id),
                "level": s.level_code,
                "note": s.note,
                "updated_at": _iso(s.updated_at),
            }
            for s in session.scalars(
                select(SelfAssessment).where(SelfAssessment.person_id == person.id)
            )
        ],
        "cases": [],
    }
    for x in experiences:
        entry = {
            k: _iso(getattr(x, k))
            for k in (
                "role_title",
                "host_name",
                "start_date",
                "end_date",
                "hours_estimate",
                "description",
                "referee_name",
                "referee_contact",
                "created_at",
            )
        }
        entry.update(
            kind=x.kind.value,
            learning_context=x.learning_context.value,
            host=x.host_display,
            evidence=[],
        )
        for ev in x.evidence:
            item = {
                k: _iso(getattr(ev, k))
                for k in (
                    "title",
                    "description",
                    "issued_on",
                    "url",
                    "text",
                    "referee_name",
                    "referee_email",
                    "referee_confirmed_at",
                    "declared_at",
                    "created_at",
                    "locked_at",
                    "file_sha256",
                    "file_name",
                )
            }
            item["type"] = ev.type.value
            item["links"] = [
                {
                    "competence": lk.competence.code,
                    "criterion": lk.criterion.code if lk.criterion else None,
                    "note": lk.note,
                }
                for lk in ev.links
            ]
            if ev.file_sha256:
                files[f"files/{ev.file_sha256[:12]}-{ev.file_name}"] = ev.file_sha256
            entry["evidence"].append(item)
        data["experiences"].append(entry)
    for case in cases:
        data["cases"].append(
            {
                "protocol_number": case.protocol_number,
                "status": case.status.value,
                "ente_titolato": case.ente_titolato.legal_name,
                "profile": case.target_profile.code,
                "competences": [cc.competence.code for cc in case.competences],
                "opened_at": _iso(case.opened_at),
                "submitted_at": _iso(case.submitted_at),
                "consents": [
                    {
                        "purpose": c.purpose.value,
                        "granted_at": _iso(c.granted_at),
                        "withdrawn_at": _iso(c.withdrawn_at),
                        "guardian": c.guardian_name,
                        # the version of the ente's privacy notice it was given under
                        "privacy_notice_version": (
                            c.privacy_notice.version if c.privacy_notice else None
                        ),
                    }
                    for c in case.consents
                ],
                "history": [
                    {"event": t.event, "to": t.to_status, "at": _iso(t.at)}
                    for t in case.transitions
                ],
                "documents": [
                    {"kind": d.kind.value, "number": d.number, "sha256": d.pdf_sha256}
                    for d in case.documents
                ],
            }
        )
        for d in case.documents:
            files[f"documents/{d.number}.pdf"] = d.pdf_sha256
    committed, texts = _commitments(session, person, files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("commitments.json", json.dumps(committed, indent=2, ensure_ascii=False))
        for name, text in sorted(texts.items()):
            archive.writestr(name, text)
        for name, sha256 in sorted(files.items()):
            try:
                archive.writestr(name, storage.get(sha256))
            except KeyError:
                continue  # a missing blob is reported by its absence; the JSON still lists it
    record_event(session, actor, "data.exported", "person", person.id, now)
    return out.getvalue()


@dataclass(frozen=True)
class ErasureReport:
    """What the erasure removed and what the law keeps (evidence in issued documents, cases
    beyond the draft)."""

    experiences_deleted: int
    evidence_deleted: int
    evidence_kept: int
    cases_kept: int
    #: Blobs no row points at any more: the caller deletes them once the transaction commits.
    orphaned_files: tuple[str, ...] = ()
    #: What was erased, as written to the erasure ledger: the caller journals it after the
    #: commit (certification.people.erasure), so that a restore can erase it again.
    ledger: tuple[ErasureRecord, ...] = ()


def erase_person_data(
    session: Session, actor: UserAccount, person: Person, now: dt.datetime
) -> ErasureReport:
    """Delete the portfolio data that is not legally retained; drafts go too.

    Stored files are not touched here: the report lists those left unreferenced, for the
    caller to delete after the commit (a rollback must not lose files its rows still name).
    """
    if actor.person_id != person.id:
        raise NotFound("portfolio not found")
    ledger = ErasureLedger(actor, now)
    evidence_deleted = evidence_kept = experiences_deleted = 0
    orphan_candidates: set[str] = set()
    experiences = session.scalars(select(Experience).where(Experience.person_id == person.id))
    for experience in list(experiences):
        kept = [ev for ev in experience.evidence if ev.locked_at is not None]
        for ev in experience.evidence:
            if ev.locked_at is None:
                if ev.file_sha256:
                    orphan_candidates.add(ev.file_sha256)
                ledger.add("evidence", ev.id, ev.file_sha256)
                session.delete(ev)
                evidence_deleted += 1
        evidence_kept += len(kept)
        if not kept:
            ledger.add("experience", experience.id)
            session.delete(experience)
            experiences_deleted += 1
    session.flush()
    for kind, model in BY_PERSON.items():
        rows = session.scalars(select(model).where(model.person_id == person.id)).all()  # type: ignore[attr-defined]
        if rows:
            ledger.add(kind, person.id)
        for row in rows:
            session.delete(row)
    cases_kept = 0
    for case in session.scalars(
        select(CertificationCase).where(CertificationCase.candidate_id == person.id)
    ):
        if case.status == CaseStatus.DRAFT:
            ledger.add("case", case.id)
            session.delete(case)
        else:
            cases_kept += 1
    session.flush()
    orphaned = []
    for sha256 in sorted(orphan_candidates):
        still_used = session.scalar(select(Evidence.id).where(Evidence.file_sha256 == sha256))
        if still_used is None:  # content-addressed: another person may hold the same bytes
            stored = session.get(StoredFile, sha256)
            if stored is not None:
                session.delete(stored)
            ledger.add(STORED_FILE, sha256, sha256)
            orphaned.append(sha256)
    ledger.write(session)
    report = ErasureReport(
        experiences_deleted,
        evidence_deleted,
        evidence_kept,
        cases_kept,
        tuple(orphaned),
        tuple(ledger.entries),
    )
    record_event(
        session,
        actor,
        "data.erased",
        "person",
        person.id,
        now,
        experiences_deleted=experiences_deleted,
        evidence_deleted=evidence_deleted,
        evidence_kept=evidence_kept,
        cases_kept=cases_kept,
    )
    session.flush()
    return report
