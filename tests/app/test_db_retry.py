"""A request that finds the database busy runs again from the start with a fresh session; when
the tries run out the answer is a 503 with Retry-After in the user's language, never a 500."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, flash, get_flashed_messages, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db import db_session, reads_only
from app.extensions import csrf
from certification.models import OutboxMessage
from certification.outbox import enqueue_message
from tests.support.clock import NOW


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


class Tries:
    """What each try of the test view saw; the view is busy for the first ``busy`` tries."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.sessions: list[Session] = []
        self.options: list[dict[str, Any]] = []

    def run(self, where: str) -> str:
        session = db_session()
        n = len(self.sessions)
        self.sessions.append(session)
        self.options.append(dict(session.execution_options))
        # Each try writes and flashes; only what the last one did may survive.
        enqueue_message(session, to=f"try{n}@example.org", subject="t", body=f"try {n}\n", now=NOW)
        flash(f"try {n}")
        if n < self.busy:
            if where == "commit":  # the view ends well; the commit finds the database busy
                real_commit = session.commit

                def busy_commit() -> None:
                    session.commit = real_commit  # type: ignore[method-assign]
                    raise _locked()

                session.commit = busy_commit  # type: ignore[method-assign]
            else:
                raise _locked()
        return "ok"


@pytest.fixture
def busy_app(app_factory: Callable[..., Flask]) -> Callable[[int], tuple[Flask, Tries]]:
    def make(busy: int) -> tuple[Flask, Tries]:
        app = app_factory(DB_ATTEMPTS=3)
        tries = Tries(busy)

        def view() -> str:
            return tries.run(request.args.get("where", "view"))

        def messages() -> str:
            return "|".join(get_flashed_messages())

        app.add_url_rule("/_test/busy", "busy", view, methods=["GET", "POST"])
        app.add_url_rule("/_test/busy-reader", "busy_reader", reads_only(view), methods=["POST"])
        app.add_url_rule("/_test/flashed", "flashed", messages)
        csrf.exempt(view)  # (and its reads_only wrapper: the same name)
        return app, tries

    return make


def _written(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage.to_address).order_by(OutboxMessage.to_address)))


@pytest.mark.parametrize("where", ["view", "commit"])
def test_a_busy_request_runs_again_from_a_clean_session(
    busy_app: Callable[[int], tuple[Flask, Tries]], db: Session, where: str
) -> None:
    app, tries = busy_app(2)
    client = app.test_client()
    response = client.get(f"/_test/busy?where={where}")
    assert response.status_code == 200 and response.text == "ok"
    assert len(tries.sessions) == 3
    assert len({id(s) for s in tries.sessions}) == 3  # a new session each time
    # What the failed tries wrote was rolled back; what they flashed was forgotten.
    assert _written(db) == ["try2@example.org"]
    assert client.get("/_test/flashed").text == "try 2"


def test_a_get_reads_a_snapshot_and_its_retry_takes_the_write_lock(
    busy_app: Callable[[int], tuple[Flask, Tries]],
) -> None:
    app, tries = busy_app(1)
    assert app.test_client().get("/_test/busy").status_code == 200
    assert tries.options == [{"attesta_begin": "DEFERRED"}, {}]


@pytest.mark.parametrize(
    ("url", "first"),
    [("/_test/busy", {}), ("/_test/busy-reader", {"attesta_begin": "DEFERRED"})],
)
def test_a_post_writes_unless_its_view_only_reads(
    busy_app: Callable[[int], tuple[Flask, Tries]], url: str, first: dict[str, str]
) -> None:
    app, tries = busy_app(1)
    assert app.test_client().post(url).status_code == 200
    assert tries.options == [first, {}]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("it", "Il servizio è molto occupato"),
        ("en", "The service is very busy"),
    ],
)
def test_when_the_tries_run_out_the_answer_is_503_with_retry_after(
    busy_app: Callable[[int], tuple[Flask, Tries]], db: Session, language: str, text: str
) -> None:
    app, tries = busy_app(99)
    response = app.test_client().post("/_test/busy", headers={"Accept-Language": language})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert text in response.text
    assert len(tries.sessions) == 3
    assert _written(db) == []


def test_the_api_says_so_in_json(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(DB_ATTEMPTS=2)
    calls: list[int] = []

    def busy() -> str:
        calls.append(1)
        db_session()
        raise _locked()

    app.add_url_rule("/api/v1/_test/busy", "api_busy", busy)
    response = app.test_client().get("/api/v1/_test/busy")
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert response.get_json()["error"]["code"] == "database_busy"
    assert len(calls) == 2


def test_other_database_errors_are_not_retried(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    calls: list[int] = []

    def broken() -> str:
        calls.append(1)
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

    app.add_url_rule("/_test/broken", "broken", broken)
    assert app.test_client().get("/_test/broken").status_code == 500
    assert len(calls) == 1
