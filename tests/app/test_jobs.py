"""Bulk issuance as jobs on a Redis queue: the request only enqueues; a worker (any process,
any machine) issues; the progress is in the database for the API to show."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import Certificate
from certification.people.accounts import create_api_token
from tests.support.clock import NOW
from tests.support.services import redis_url
from tests.support.worlds import CaseWorld


@pytest.fixture
def queued_app(app_factory: Callable[..., Flask]) -> Iterator[Flask]:
    """An app with a queue of its own on the local Redis (deleted afterwards)."""
    app = app_factory(QUEUE_URL=redis_url(), QUEUE_NAME=f"attesta-test-{uuid.uuid4().hex[:8]}")
    yield app
    from app.jobs import _queue

    queue = _queue(app)
    queue.delete(delete_jobs=True)


@pytest.mark.slow
def test_a_queued_bulk_request_is_issued_by_a_worker(
    queued_app: Flask,
    stage: CaseWorld,
    db: Session,
) -> None:
    from rq import SimpleWorker

    from app.jobs import _queue

    _token, secret = create_api_token(db, stage.signatory, "bulk", NOW)
    db.commit()
    client = queued_app.test_client()
    auth = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "bulk-queued-0001"}
    first = client.post(
        "/api/v1/certificates/bulk", json={"case_ids": [str(stage.case.id)]}, headers=auth
    )
    assert first.status_code == 202, first.get_json()
    location = first.headers["Location"]
    waiting = client.get(location, headers=auth).get_json()
    assert waiting["done"] == 0 and waiting["items"][0]["status"] == "pending"
    queue = _queue(queued_app)
    assert queue.count == 1
    with queued_app.app_context():  # the worker runs the job here, on the test's transaction
        assert SimpleWorker([queue], connection=queue.connection).work(burst=True)
    done = client.get(location, headers=auth).get_json()
    assert done["done"] == 1 and done["finished_at"] is not None
    assert done["items"][0]["status"] == "issued"
    db.expire_all()
    assert len(db.scalars(select(Certificate)).all()) == 1


def _bulk_of(db: Session, staged: CaseWorld) -> Any:
    from certification.certificates.bulk import start_bulk

    bulk, _ = start_bulk(db, staged.signatory, "bulk-fails-0001", [staged.case.id], NOW)
    db.commit()
    return bulk


def _busy() -> Exception:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


@pytest.mark.parametrize(
    ("error", "reason"), [(_busy(), "database_busy"), (RuntimeError("a bug"), "interrupted")]
)
def test_a_bulk_run_that_stops_on_an_error_records_it_instead_of_leaving_it_pending(
    app: Flask,
    stage: CaseWorld,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    reason: str,
) -> None:
    """The background thread (and the queue's last try) marks what is left failed, with the
    reason, and finishes the request: nothing stays pending with nobody working on it."""
    import app.jobs as jobs

    bulk = _bulk_of(db, stage)

    def stops(*_args: Any, **_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(jobs, "run_bulk", stops)
    jobs._run(app, bulk.id, workers=0)  # what the thread runs: it does not raise
    db.expire_all()
    assert bulk.items == [{"case_id": str(stage.case.id), "status": "failed", "error": reason}]
    assert bulk.finished_at is not None
    # Before the queue's last try the job fails instead, for the queue to run it again.
    with pytest.raises(type(error)):
        jobs._run(app, bulk.id, workers=0, last_try=False)


def test_an_item_that_cannot_be_reserved_fails_alone_and_the_run_goes_on(
    app: Flask,
    stage: CaseWorld,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import certification.certificates.issuance as issuance
    from app.services import issuer
    from certification.certificates import bulk as bulk_issuance

    bulk = _bulk_of(db, stage)
    attempts: list[int] = []

    def busy(*_args: Any, **_kwargs: Any) -> Any:
        attempts.append(1)
        raise _busy()

    monkeypatch.setattr(issuance, "_reserve_once", busy)
    monkeypatch.setattr("certification.db.retry_delays", lambda n, **_kw: [0.0] * (n - 1))
    with app.app_context():
        results = bulk_issuance.run_bulk(issuer(app), bulk.id, workers=0)
    assert [r.error for r in results] == ["database_busy"]
    assert len(attempts) == issuer(app).db_attempts  # tried again, then given up
    db.expire_all()
    assert bulk.items[0]["status"] == "failed" and bulk.finished_at is not None
    assert db.scalar(select(Certificate)) is None
