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

from certification.accounts import create_api_token
from certification.models import Certificate
from tests.app.test_certificates_web import stage  # noqa: F401 - the `stage` fixture
from tests.certification.test_assessment import w  # noqa: F401 - the `w` fixture
from tests.conftest import NOW, redis_url


@pytest.fixture
def queued_app(app_factory: Callable[..., Flask]) -> Iterator[Flask]:
    """An app with a queue of its own on the local Redis (deleted afterwards)."""
    app = app_factory(QUEUE_URL=redis_url(), QUEUE_NAME=f"attesta-test-{uuid.uuid4().hex[:8]}")
    yield app
    from app.jobs import _queue

    queue = _queue(app)
    queue.delete(delete_jobs=True)


def test_a_queued_bulk_request_is_issued_by_a_worker(
    queued_app: Flask,
    stage: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    from rq import SimpleWorker

    from app.jobs import _queue

    _token, secret = create_api_token(db, stage["signatory"], "bulk", NOW)
    db.commit()
    client = queued_app.test_client()
    auth = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "bulk-queued-0001"}
    first = client.post(
        "/api/v1/certificates/bulk", json={"case_ids": [str(stage["case"].id)]}, headers=auth
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
