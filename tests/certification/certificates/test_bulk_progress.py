"""Bulk progress is a row per item: recording an item writes that row alone, whatever the size
of the request (a JSON list rewritten per item made a request of N items write O(N^2))."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from certification.certificates.bulk import fail_pending, run_bulk, start_bulk
from certification.models import BulkIssuance, BulkIssuanceItem
from tests.support.certificates import ISSUE_TIME, CertificateWorld


def _run_writes(
    db: Session, connection: Connection, world: CertificateWorld, size: int
) -> tuple[BulkIssuance, list[int]]:
    """Run a request of ``size`` cases that do not exist (each fails at once, nothing is
    rendered); the size of every write to the bulk tables while it ran."""
    ids = [uuid.uuid4() for _ in range(size)]
    bulk, _ = start_bulk(db, world.signatory, f"progress-{size:05d}", ids, ISSUE_TIME)
    db.commit()
    writes: list[int] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "bulk_issuance" in statement and statement.lstrip().upper().startswith("UPDATE"):
            writes.append(len(statement) + len(repr(parameters)))

    event.listen(connection, "before_cursor_execute", seen)
    try:
        results = run_bulk(world.issuer, bulk.id, workers=0)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert [r.case_id for r in results] == [str(i) for i in ids]
    assert {r.error for r in results} == {"not_found"}
    return bulk, writes


@pytest.mark.slow
def test_recording_an_item_writes_as_much_in_a_large_request_as_in_a_small_one(
    db: Session, connection: Connection, world: CertificateWorld
) -> None:
    small, small_writes = _run_writes(db, connection, world, 3)
    large, large_writes = _run_writes(db, connection, world, 300)
    # One UPDATE per item, and one that closes the request.
    assert len(small_writes) == 3 + 1 and len(large_writes) == 300 + 1
    assert max(large_writes) == max(small_writes)
    db.expire_all()
    for bulk, size in ((small, 3), (large, 300)):
        found = db.get_one(BulkIssuance, bulk.id)
        assert found.finished_at is not None
        assert len(found.items) == size
        assert {(i["status"], i["error"]) for i in found.items} == {("failed", "not_found")}
        assert [i["case_id"] for i in found.items] == found.case_ids  # the request's order


@pytest.mark.slow
def test_a_stopped_run_closes_its_pending_items(db: Session, world: CertificateWorld) -> None:
    ids = [world.case.id, uuid.uuid4()]
    bulk, _ = start_bulk(db, world.signatory, "stopped-run", ids, ISSUE_TIME)
    db.commit()
    assert [i["status"] for i in bulk.items] == ["pending", "pending"]
    assert fail_pending(world.issuer, bulk.id, "worker_lost") == 2
    db.expire_all()
    found = db.get_one(BulkIssuance, bulk.id)
    assert found.finished_at is not None
    assert found.items == [
        {"case_id": str(ids[0]), "status": "failed", "error": "worker_lost"},
        {"case_id": str(ids[1]), "status": "failed", "error": "worker_lost"},
    ]
    assert fail_pending(world.issuer, bulk.id, "worker_lost") == 0  # nothing left pending
    # Deleting a request deletes its items.
    db.delete(found)
    db.flush()
    count = select(func.count()).select_from(BulkIssuanceItem)
    assert db.scalar(count.where(BulkIssuanceItem.bulk_id == bulk.id)) == 0
