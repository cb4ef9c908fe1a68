"""The erasure ledger and its journal: written by the erasure without the erased data, read back
tolerating a line a crash cut short, and re-applied once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import AuditEvent, ErasureRecord, Evidence, Experience
from certification.people.erasure import journal_line, read_journal, reapply
from certification.people.export import erase_person_data
from tests.support.clock import NOW
from tests.support.factories import make_candidate, make_evidence, make_experience


def test_the_ledger_names_what_was_erased_and_a_reapplication_happens_once(
    db: Session, tmp_path: Path
) -> None:
    candidate = make_candidate(db)
    experience = make_experience(db, candidate.person, role_title="Segreto")
    evidence = make_evidence(db, experience, title="Titolo riservato")
    evidence_id, experience_id = evidence.id, experience.id
    report = erase_person_data(db, candidate, candidate.person, NOW)
    assert [(e.object_type, e.object_id, e.file_sha256) for e in report.ledger] == [
        ("evidence", str(evidence_id), None),
        ("experience", str(experience_id), None),
    ]
    assert {e.erased_by_user_id for e in report.ledger} == {candidate.id}
    journal = tmp_path / "erasures.jsonl"
    text = "".join(journal_line(e) + "\n" for e in report.ledger)
    assert "Segreto" not in text and "riservato" not in text
    journal.write_text(text + '{"id": "cut short')  # a crash while appending
    entries = read_journal(journal)
    assert [e.id for e in entries] == [e.id for e in report.ledger]
    # Entries already in the ledger (made before the backup) are not applied again.
    again = reapply(db, entries, NOW)
    assert (again.requests, again.objects) == (0, 0)
    assert (
        db.scalar(select(AuditEvent).where(AuditEvent.action == "data.erasure_reapplied")) is None
    )


def test_reapply_erases_what_the_ledger_lacks(db: Session) -> None:
    candidate = make_candidate(db)
    experience = make_experience(db, candidate.person)
    evidence = make_evidence(db, experience)
    # What a restored backup holds: the rows, and a journal entry its ledger never saw.
    entries = [
        ErasureRecord(
            id=uuid.uuid4(),
            request_id=evidence.id,
            position=n,
            object_type=kind,
            object_id=str(object_id),
            erased_at=NOW,
        )
        for n, (kind, object_id) in enumerate(
            [("evidence", evidence.id), ("experience", experience.id)]
        )
    ]
    done = reapply(db, entries, NOW)
    assert (done.requests, done.objects) == (1, 2)
    assert db.get(Evidence, evidence.id) is None and db.get(Experience, experience.id) is None
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.entity_type == "erasure")) == (
        "data.erasure_reapplied"
    )
    assert len(db.scalars(select(ErasureRecord)).all()) == 2


def test_a_damaged_journal_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    journal = tmp_path / "erasures.jsonl"
    journal.write_text("not json\n{}\n")
    with pytest.raises(ValueError, match="line 1"):
        read_journal(journal)
