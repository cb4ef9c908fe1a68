"""Collecting stored files no record names: only old ones, never a referenced one or one a
pending issuance may still record; in the folder and in the bucket alike."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.certificates import lifecycle as C
from certification.models import AuditEvent, EvidenceType, StoredFile
from certification.portfolio.operations import store_file
from certification.storage.blobs import BlobStorage, FileSystemStorage, S3Storage
from certification.storage.collection import collect_files, delete_collected
from tests.support.certificates import CertificateWorld
from tests.support.factories import make_evidence, make_experience
from tests.support.services import BUCKET
from tests.support.worlds import CaseWorld

WINDOW = dt.timedelta(hours=24)


def _real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)  # the stores stamp files with the real clock


@pytest.fixture(params=["folder", "bucket"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStorage:
    if request.param == "folder":
        return FileSystemStorage(tmp_path / "files")
    return S3Storage(request.getfixturevalue("s3"), BUCKET, "instance-a")


def _referenced(db: Session, w: CaseWorld, store: BlobStorage, data: bytes) -> str:
    """Bytes stored and named by an evidence item, as an upload leaves them."""
    sha256 = store_file(db, store, data, "application/pdf", _real_now())
    experience = make_experience(db, w.candidate.person)
    make_evidence(
        db, experience, type=EvidenceType.DOCUMENTO_ATTESTAZIONE, url=None, file_sha256=sha256
    )
    return sha256


def _collect(db: Session, store: BlobStorage, now: dt.datetime, **options: Any) -> list[str]:
    collected = collect_files(db, None, store, now, window=WINDOW, **options)
    db.commit()
    return delete_collected(store, collected)


@pytest.mark.slow
def test_old_unreferenced_files_go_and_everything_else_stays(
    db: Session, w: CaseWorld, store: BlobStorage
) -> None:
    kept = _referenced(db, w, store, b"%PDF-1.7 an attestation")
    # Recorded as a stored file, then its evidence deleted: nothing names it any more.
    dropped = store_file(db, store, b"%PDF-1.7 deleted evidence", "application/pdf", _real_now())
    crashed = store.put(b"%PDF-1.7 sealed, never committed")  # no row at all
    db.commit()
    # A day and more later, the three are old; a file stored "now" then is young.
    later = _real_now() + dt.timedelta(days=2)
    removed = _collect(db, store, later)
    assert sorted(removed) == sorted([dropped, crashed])
    assert store.exists(kept) and not store.exists(dropped) and not store.exists(crashed)
    assert db.get(StoredFile, kept) is not None and db.get(StoredFile, dropped) is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "files.collected"))
    assert event is not None and event.details["count"] == 2
    assert sorted(event.details["sha256"]) == sorted([dropped, crashed])
    # Run again: nothing more to do.
    assert _collect(db, store, later) == []
    assert store.exists(kept)


@pytest.mark.slow
def test_a_young_unreferenced_file_stays(db: Session, store: BlobStorage) -> None:
    young = store.put(b"stored a moment ago; its row may be about to commit")
    assert _collect(db, store, _real_now()) == []
    assert _collect(db, store, _real_now() + WINDOW - dt.timedelta(minutes=5)) == []
    assert store.exists(young)
    assert _collect(db, store, _real_now() + WINDOW + dt.timedelta(minutes=5)) == [young]


@pytest.mark.slow
def test_a_dry_run_lists_and_removes_nothing(db: Session, w: CaseWorld, store: BlobStorage) -> None:
    kept = _referenced(db, w, store, b"%PDF-1.7 an attestation")
    orphan = store_file(db, store, b"orphan", "text/plain", _real_now())
    db.commit()
    later = _real_now() + dt.timedelta(days=2)
    collected = collect_files(db, None, store, later, window=WINDOW, dry_run=True)
    assert [f.sha256 for f in collected.files] == [orphan]
    assert collected.scanned == 2 and collected.too_recent == 0
    db.commit()
    assert delete_collected(store, collected) == []
    assert store.exists(orphan) and store.exists(kept)
    assert db.get(StoredFile, orphan) is not None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "files.collected")) is None


@pytest.mark.slow
def test_a_pending_issuance_keeps_what_it_may_still_record(
    db: Session, world: CertificateWorld, store: BlobStorage
) -> None:
    # Reserved an hour ago; its completion stored the sealed PDF, then the process died before
    # committing: the bytes are no row's, but `certificates recover` may yet record them.
    reserved_at = _real_now() - dt.timedelta(hours=1)
    pending = C.reserve_certificate(
        db, world.signatory, world.case, reserved_at, base_url="https://attesta.example"
    )
    db.commit()
    stored = store.put(b"%PDF-1.7 sealed by a completion that did not commit")
    later = _real_now() + dt.timedelta(days=3)
    assert _collect(db, store, later) == []
    assert store.exists(stored)
    # Once the reservation is finished (here: given up), the bytes are collected.
    C.abandon_certificate(db, pending, "test", later)
    db.commit()
    assert _collect(db, store, later) == [stored]


def test_storing_the_same_bytes_again_restarts_their_window(tmp_path: Path) -> None:
    store = FileSystemStorage(tmp_path / "files")
    sha256 = store.put(b"evidence")
    path = tmp_path / "files" / sha256[:2] / sha256[2:4] / sha256
    old = (_real_now() - dt.timedelta(days=10)).timestamp()
    os.utime(path, (old, old))
    written = store.written_at(sha256)
    assert written is not None and written < _real_now() - dt.timedelta(days=9)
    [listed] = list(store.listing())
    assert listed.sha256 == sha256 == hashlib.sha256(b"evidence").hexdigest()
    assert store.put(b"evidence") == sha256  # an upload of the same bytes: kept anew
    again = store.written_at(sha256)
    assert again is not None and again > _real_now() - dt.timedelta(minutes=1)
    assert store.written_at("0" * 64) is None and store.written_at("../x") is None


def test_a_file_stored_again_after_listing_is_not_deleted(db: Session, tmp_path: Path) -> None:
    store = FileSystemStorage(tmp_path / "files")
    sha256 = store.put(b"orphan, then uploaded again")
    old = (_real_now() - dt.timedelta(days=10)).timestamp()
    os.utime(tmp_path / "files" / sha256[:2] / sha256[2:4] / sha256, (old, old))
    collected = collect_files(db, None, store, _real_now(), window=WINDOW)
    assert [f.sha256 for f in collected.files] == [sha256]
    store.put(b"orphan, then uploaded again")  # between the listing and the deletion
    db.commit()
    assert delete_collected(store, collected) == []
    assert store.exists(sha256)


def test_the_bucket_lists_only_its_own_prefix(s3: Any) -> None:
    mine, theirs = S3Storage(s3, BUCKET, "instance-a"), S3Storage(s3, BUCKET, "instance-b")
    a, b = mine.put(b"a"), theirs.put(b"b")
    s3.put_object(Bucket=BUCKET, Key="instance-a/not-a-blob.txt", Body=b"x")
    assert [f.sha256 for f in mine.listing()] == [a]
    assert [f.sha256 for f in theirs.listing()] == [b]
    written = mine.written_at(a)
    assert written is not None and written.tzinfo is not None
    assert mine.written_at(b) is None


#: Columns holding a sha256 that names no stored file, and why.
NOT_STORED: dict[str, str] = {
    "stored_files.sha256": "the file's own record, not a reference to it",
    "certificate_evidence.content_sha256": "the hash committed in a certificate, not a file",
    "rubric_snapshots.sha256": "the hash of the frozen rubric's JSON",
    "frameworks.content_sha256": "the hash of a rubric file's canonical JSON",
    "erasure_ledger.file_sha256": "the file that was erased (gone on purpose)",
    "certificate_pdf_versions.sha256": "a replaced PDF: its bytes begin the current file",
    "wallet_offers.code_sha256": "a hashed one-time pre-authorized code",
    "wallet_offers.pin_sha256": "a hashed transaction code (PIN)",
    "wallet_offers.token_sha256": "a hashed access token",
    "wallet_nonces.nonce_sha256": "a hashed nonce",
    "wallet_presentation_requests.page_sha256": "a hashed secret of an employer's page",
}


def test_every_column_naming_stored_bytes_counts_as_a_reference() -> None:
    """A new column that names stored bytes must be in references(), or `files gc` would
    delete what it names."""
    from certification.db import ModelBase
    from certification.storage.collection import references

    referenced = {f"{c.class_.__tablename__}.{c.key}" for c in references()}
    hashes = {
        f"{table.name}.{column.name}"
        for table in ModelBase.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("sha256")
    }
    assert referenced <= hashes
    assert hashes - referenced == set(NOT_STORED), "a new sha256 column: a reference or not?"


def test_the_bucket_stores_bytes_again_when_they_went_between_look_and_copy(s3: Any) -> None:
    store = S3Storage(s3, BUCKET, "instance-a")
    sha256 = store.put(b"evidence")
    first = store.written_at(sha256)
    assert store.put(b"evidence") == sha256  # copied in place: a new write time, same bytes
    again = store.written_at(sha256)
    assert first is not None and again is not None and again >= first
    assert store.get(sha256) == b"evidence"
    # Collected after put() saw it and before it copied it: uploaded again, not an error.
    store.exists = lambda _sha256: True  # type: ignore[method-assign]
    store.delete(sha256)
    assert store.put(b"evidence") == sha256
    assert store.get(sha256) == b"evidence"
