"""Collecting stored files no record references, so the store does not grow with time.

Files become unreferenced when a process stops between storing bytes and committing the row
that names them (a crash during issuance, an upload whose request failed), or when the row goes
(an evidence item deleted). A file is collected only when all of these hold:

- no column that names stored bytes names it (:func:`references`: evidence files, the case's
  documents, card photos and rendered cards, certificates' PDFs and credentials);
- it was last written before the *cutoff*: ``now`` minus a safety window (a day by default), so
  a request or a job between storing and committing is never robbed of its file; and never after
  the oldest reservation still pending, since a pending issuance (running, or to be finished by
  ``certificates recover``) may yet record the bytes it stored;
- it is still that old just before it is deleted (storing the same bytes again counts as a new
  write: see :meth:`certification.storage.blobs.BlobStorage.put`).

:func:`collect_files` finds them and deletes their ``stored_files`` rows with an audit event; the
caller commits, then deletes the bytes with :func:`delete_collected` (a crash in between leaves
bytes no row names, which the next run collects). ``dry_run`` changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

from sqlalchemy import delete, func, select, union
from sqlalchemy.orm import InstrumentedAttribute, Session

from certification.audit.events import record_event
from certification.models import (
    CardDocument,
    Certificate,
    CertificateStatus,
    Document,
    Evidence,
    StoredFile,
    TalentCard,
    UserAccount,
)
from certification.storage.blobs import BlobStorage, Listed

#: How long a stored file no row names is kept anyway (a request or job may be about to commit).
DEFAULT_WINDOW: Final = dt.timedelta(hours=24)
#: Files looked up in the database at once.
BATCH: Final = 500
#: Hashes named in the audit event (the count is always there).
AUDITED: Final = 1000

T = TypeVar("T")


def references() -> tuple[InstrumentedAttribute[str] | InstrumentedAttribute[str | None], ...]:
    """Every column that names stored bytes by their sha256."""
    return (
        Evidence.file_sha256,
        Document.pdf_sha256,
        TalentCard.photo_sha256,
        CardDocument.pdf_sha256,
        CardDocument.png_sha256,
        Certificate.pdf_sha256,
        Certificate.credential_sha256,
    )


@dataclass(frozen=True)
class Collected:
    """What a collection found: the files to delete (unreferenced and older than ``cutoff``),
    and how many files it looked at and kept for being too recent."""

    cutoff: dt.datetime
    files: tuple[Listed, ...]
    scanned: int
    too_recent: int
    dry_run: bool


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def collection_cutoff(session: Session, now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """Files written at or after this instant are kept: ``now - window``, or the reservation time
    of the oldest certificate still pending, whichever is earlier."""
    cutoff = now - window
    oldest_pending = session.scalar(
        select(func.min(Certificate.reserved_at)).where(
            Certificate.status == CertificateStatus.PENDING
        )
    )
    if oldest_pending is not None and oldest_pending < cutoff:
        return oldest_pending
    return cutoff


def _referenced(session: Session, hashes: list[str]) -> set[str]:
    query = union(*(select(column).where(column.in_(hashes)) for column in references()))
    return {str(sha256) for sha256 in session.scalars(query)}


def collect_files(
    session: Session,
    actor: UserAccount | None,
    storage: BlobStorage,
    now: dt.datetime,
    *,
    window: dt.timedelta = DEFAULT_WINDOW,
    dry_run: bool = False,
) -> Collected:
    """Find the stored files to collect; unless ``dry_run``, delete their ``stored_files`` rows
    and record an audit event (the caller commits, then calls :func:`delete_collected`)."""
    if window < dt.timedelta(0):
        raise ValueError("the safety window cannot be negative")
    cutoff = collection_cutoff(session, now, window)
    found: list[Listed] = []
    scanned = too_recent = 0
    for chunk in _batched(storage.listing(), BATCH):
        scanned += len(chunk)
        old = {f.sha256: f for f in chunk if f.written_at < cutoff}
        too_recent += len(chunk) - len(old)
        if old:
            used = _referenced(session, list(old))
            found += [f for sha256, f in sorted(old.items()) if sha256 not in used]
    collected = Collected(cutoff, tuple(found), scanned, too_recent, dry_run)
    if dry_run or not found:
        return collected
    for hashes in _batched([f.sha256 for f in found], BATCH):
        session.execute(
            delete(StoredFile)
            .where(StoredFile.sha256.in_(hashes))
            .execution_options(synchronize_session=False)
        )
    record_event(
        session,
        actor,
        "files.collected",
        "stored_files",
        "collection",
        now,
        count=len(found),
        cutoff=cutoff.isoformat(),
        sha256=[f.sha256 for f in found[:AUDITED]],
    )
    session.flush()
    return collected


def delete_collected(storage: BlobStorage, collected: Collected) -> list[str]:
    """Delete the bytes of a committed collection, each only if it was not written again since
    it was listed; the hashes deleted."""
    if collected.dry_run:
        return []
    deleted = []
    for listed in collected.files:
        written = storage.written_at(listed.sha256)
        if written is None or written > listed.written_at or written >= collected.cutoff:
            continue  # gone already, or stored again meanwhile: someone means to keep it
        storage.delete(listed.sha256)
        deleted.append(listed.sha256)
    return deleted
