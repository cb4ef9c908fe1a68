"""Keys made on first use by a request (issue 23): two requests at once, in two sessions on one
database of their own (SQLite, or PostgreSQL under ``ATTESTA_TEST_DATABASE_URL``), make one key
and both use it. Each caller runs as a GET request does: a reader's session, its unit of work
run again when the database was busy (app/db.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db import database
from certification.db import READER, retry_transient
from certification.keys import management
from certification.models import AuditEvent, KeyPurpose, SigningKey
from certification.people.roles import OrganisationKind
from tests.support.clock import NOW
from tests.support.factories import make_organisation
from tests.support.instances import new_instance

HOST = "attesta.example"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An instance of its own, migrated, with the root CA (no rubrics: none are needed)."""
    with new_instance(tmp_path / "instance", migrate=False) as instance:
        made = instance.app()
        command.upgrade(alembic_config(made), "head")
        with database(made).session() as session:
            management.init_keys(session, None, _passphrase(made), NOW)
            session.commit()
        yield made


def _passphrase(app: Flask) -> bytes:
    return str(app.config["KEY_PASSPHRASE"]).encode()


def _both_at_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch, make: Callable[[Session], SigningKey]
) -> list[str]:
    """Run ``make`` in two threads, each in a session of its own, both past their first look
    (no key yet) before either makes one; the kid each caller got."""
    both_looked = threading.Barrier(2)
    waited: set[int] = set()
    check = management.check_passphrase

    def checked(session: Session, passphrase: bytes) -> None:
        check(session, passphrase)
        if threading.get_ident() not in waited:  # the first try only: a retry goes on alone
            waited.add(threading.get_ident())
            both_looked.wait(timeout=30)

    monkeypatch.setattr(management, "check_passphrase", checked)
    kids: list[str] = []
    failures: list[BaseException] = []

    def caller() -> None:
        def unit() -> str:
            with database(app).session(execution_options=READER) as session:
                kid = make(session).kid
                session.commit()
                return kid

        try:
            kids.append(retry_transient(unit))
        except BaseException as exc:  # reported below: a thread must not die unseen
            failures.append(exc)
            both_looked.abort()

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(kids) == 2
    return kids


def _active(app: Flask, purpose: KeyPurpose) -> list[str]:
    with database(app).session() as session:
        return list(
            session.scalars(
                select(SigningKey.kid).where(
                    SigningKey.purpose == purpose, SigningKey.retired_at.is_(None)
                )
            )
        )


def _created_events(app: Flask, kid: str) -> int:
    with database(app).session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "key.created", AuditEvent.entity_id == kid)
            )
            or 0
        )


@pytest.mark.slow
def test_two_first_requests_make_one_verifier_key_and_both_use_it(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    kids = _both_at_once(
        app,
        monkeypatch,
        lambda session: management.verifier_key(session, HOST, _passphrase(app), NOW),
    )
    assert kids[0] == kids[1]
    assert _active(app, KeyPurpose.WALLET_VERIFIER) == [kids[0]]
    assert _created_events(app, kids[0]) == 1


@pytest.mark.slow
def test_two_requests_after_the_host_changed_make_one_new_verifier_key(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database(app).session() as session:
        old = management.verifier_key(session, "old.example", _passphrase(app), NOW).kid
        session.commit()
    kids = _both_at_once(
        app,
        monkeypatch,
        lambda session: management.verifier_key(session, HOST, _passphrase(app), NOW),
    )
    assert kids[0] == kids[1] != old
    assert _active(app, KeyPurpose.WALLET_VERIFIER) == [kids[0]]


@pytest.mark.slow
def test_two_first_credentials_of_an_ente_make_one_wallet_key(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database(app).session(expire_on_commit=False) as session:
        ente = make_organisation(session, OrganisationKind.ENTE_TITOLATO, code="RCE")
        session.commit()

    def make(session: Session) -> Any:
        return management.wallet_key(session, session.merge(ente), _passphrase(app), NOW)

    kids = _both_at_once(app, monkeypatch, make)
    assert kids[0] == kids[1]
    assert _active(app, KeyPurpose.WALLET_CREDENTIAL) == [kids[0]]
