"""The erasure ledger: what a person had erased (the kind of object, its id, its file's hash,
when, by whom; never the erased data), kept outside the erased rows so that a restore from an
older backup can erase it again (security.md §3.12).

Each erasure is written to the ``erasure_ledger`` table in the transaction that erases, and,
once committed, appended by the web layer to a journal file outside the database (one JSON
object a line), which is what survives a restore: the restore reads it before replacing the
database and re-applies, with :func:`reapply`, every entry the restored ledger lacks.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.models import (
    CertificationCase,
    ErasureRecord,
    Evidence,
    Experience,
    PortfolioComment,
    PortfolioTarget,
    SelfAssessment,
    StoredFile,
    UserAccount,
)

#: Object kinds erased one by one (by id) and, per person, all of a kind.
BY_ID: Final = {"evidence": Evidence, "experience": Experience, "case": CertificationCase}
BY_PERSON: Final = {
    "self_assessments": SelfAssessment,
    "portfolio_comments": PortfolioComment,
    "portfolio_target": PortfolioTarget,
}
STORED_FILE: Final = "stored_file"


@dataclass
class ErasureLedger:
    """The entries of one erasure request, in the order the objects were erased."""

    actor: UserAccount | None
    now: dt.datetime
    request_id: uuid.UUID = field(default_factory=uuid.uuid4)
    entries: list[ErasureRecord] = field(default_factory=list)

    def add(self, object_type: str, object_id: object, file_sha256: str | None = None) -> None:
        self.entries.append(
            ErasureRecord(
                request_id=self.request_id,
                position=len(self.entries),
                object_type=object_type,
                object_id=str(object_id),
                file_sha256=file_sha256,
                erased_at=self.now,
                erased_by_user_id=self.actor.id if self.actor else None,
            )
        )

    def write(self, session: Session) -> None:
        session.add_all(self.entries)


def journal_line(record: ErasureRecord) -> str:
    """One ledger entry as a line of the journal."""
    return json.dumps(
        {
            "id": str(record.id),
            "request_id": str(record.request_id),
            "position": record.position,
            "object_type": record.object_type,
            "object_id": record.object_id,
            "file_sha256": record.file_sha256,
            "erased_at": record.erased_at.astimezone(dt.UTC).isoformat(),
            "erased_by": str(record.erased_by_user_id) if record.erased_by_user_id else None,
        },
        sort_keys=True,
    )


def read_journal(path: Path) -> list[ErasureRecord]:
    """The entries of a journal file (none if it does not exist; a line cut short by a crash
    while it was written, the last one, is skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            data: dict[str, Any] = json.loads(line)
            records.append(
                ErasureRecord(
                    id=uuid.UUID(data["id"]),
                    request_id=uuid.UUID(data["request_id"]),
                    position=int(data["position"]),
                    object_type=str(data["object_type"]),
                    object_id=str(data["object_id"]),
                    file_sha256=data.get("file_sha256"),
                    erased_at=dt.datetime.fromisoformat(data["erased_at"]),
                    erased_by_user_id=uuid.UUID(data["erased_by"])
                    if data.get("erased_by")
                    else None,
                )
            )
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                continue
            raise ValueError(f"{path}: line {number} is not an erasure record") from None
    return records


@dataclass(frozen=True)
class Reapplied:
    """What :func:`reapply` did: erasure requests and objects erased again, and the stored files
    no row names any more (the caller deletes them from storage after the commit)."""

    requests: int
    objects: int
    orphaned_files: tuple[str, ...]


def _erase_again(session: Session, entry: ErasureRecord, files: set[str]) -> int:
    if entry.object_type in BY_ID:
        row = session.get(BY_ID[entry.object_type], uuid.UUID(entry.object_id))
        if row is None:
            return 0
        session.delete(row)
        session.flush()
        return 1
    if entry.object_type in BY_PERSON:
        model = BY_PERSON[entry.object_type]
        person = uuid.UUID(entry.object_id)
        result = session.execute(
            delete(model)
            .where(model.person_id == person)  # type: ignore[attr-defined]
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)
    if entry.object_type == STORED_FILE:
        sha256 = entry.object_id
        if session.scalar(select(Evidence.id).where(Evidence.file_sha256 == sha256)) is not None:
            return 0  # someone else's evidence has the same bytes
        stored = session.get(StoredFile, sha256)
        if stored is not None:
            session.delete(stored)
            session.flush()
        files.add(sha256)
        return int(stored is not None)
    raise ValueError(f"unknown erased object type {entry.object_type!r}")


def reapply(session: Session, entries: Iterable[ErasureRecord], now: dt.datetime) -> Reapplied:
    """Erase again every journal entry the ledger lacks (made after the backup that was
    restored), in the original order, and add it to the ledger."""
    known = set(session.scalars(select(ErasureRecord.id)))
    missing: dict[uuid.UUID, ErasureRecord] = {}
    for entry in entries:
        if entry.id not in known:
            missing.setdefault(entry.id, entry)
    ordered: Sequence[ErasureRecord] = sorted(
        missing.values(), key=lambda e: (e.erased_at, str(e.request_id), e.position)
    )
    files: set[str] = set()
    objects = 0
    for entry in ordered:
        objects += _erase_again(session, entry, files)
        session.add(entry)
    requests = {entry.request_id for entry in ordered}
    for request_id in sorted(requests, key=str):
        record_event(session, None, "data.erasure_reapplied", "erasure", request_id, now)
    session.flush()
    return Reapplied(len(requests), objects, tuple(sorted(files)))
