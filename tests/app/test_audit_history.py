"""``flask audit checkpoint|verify`` and the published checkpoints, on an instance of their own:
the daily checkpoint is signed once a day and served at /audit/checkpoints/; verify passes on
normal operation and names what broke, against the stored checkpoint or one kept outside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import database
from certification.audit.chains import verify_history
from certification.audit.events import record_event
from certification.cases import workflow
from certification.cases.states import CaseStatus
from certification.clock import utcnow
from certification.models import AuditEvent, CaseTransition, CertificationCase
from certification.people.roles import OrganisationKind, Role
from tests.support.clock import NOW
from tests.support.factories import make_account, make_case, make_organisation
from tests.support.instances import new_instance


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def instance(tmp_path: Path) -> Any:
    """An instance with a case taken through two transitions, then `keys init`."""
    with new_instance(tmp_path / "instance") as made:
        app = made.app()
        with Session(database(app).engine, expire_on_commit=False) as db:
            ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
            operator = make_account(db, roles=(Role.OPERATORE_ACCOGLIENZA,), organisation=ente)
            tutor = make_account(db, roles=(Role.TUTOR,), organisation=ente)
            case = make_case(db, ente=ente, status=CaseStatus.SUBMITTED)
            workflow.take_charge(db, operator, case, NOW)
            workflow.admit_case(db, operator, case, tutor.person, NOW)
            db.commit()
        result = _cli(app, "keys", "init")
        assert result.exit_code == 0, result.output
        assert "chain head(s) written before the audit key now signed" in result.output
        yield {"app": app, "case": case}


@pytest.mark.slow
def test_checkpoints_are_signed_daily_published_and_verified(
    instance: dict[str, Any], tmp_path: Path
) -> None:
    app = instance["app"]
    client = app.test_client()
    keys = client.get("/keys/").get_json()["keys"]
    audit_keys = [k for k in keys if k["purpose"] == "audit"]
    assert len(audit_keys) == 1 and audit_keys[0]["algorithm"] == "Ed25519"
    first = _cli(app, "audit", "checkpoint")
    assert first.exit_code == 0 and "signed" in first.output, first.output
    again = _cli(app, "audit", "checkpoint")
    assert again.exit_code == 0 and "already made" in again.output
    today = utcnow().date().isoformat()
    listing = client.get("/audit/checkpoints/").get_json()
    assert [c["date"] for c in listing["checkpoints"]] == [today]
    response = client.get(f"/audit/checkpoints/{today}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["kid"] == audit_keys[0]["kid"] and document["date"] == today
    assert document["chains"]["audit"]["length"] > 0 and document["cases"]["chains"] == 1
    assert client.get("/audit/checkpoints/2001-01-01.json").status_code == 404
    assert client.get("/audit/checkpoints/nonsense.json").status_code == 404
    kept = tmp_path / "kept.json"
    kept.write_bytes(response.data)
    ok = _cli(app, "audit", "verify", "--checkpoint", str(kept))
    assert ok.exit_code == 0, ok.output
    assert "The history verifies" in ok.output


@pytest.mark.slow
def test_verify_names_what_broke_and_fails(instance: dict[str, Any], tmp_path: Path) -> None:
    app = instance["app"]
    case = instance["case"]
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    with Session(database(app).engine) as db:
        db.execute(
            delete(CaseTransition).where(
                CaseTransition.case_id == case.id, CaseTransition.sequence == 2
            )
        )
        db.execute(
            update(CertificationCase)
            .where(CertificationCase.id == case.id)
            .values(status=CaseStatus.IN_ACCOGLIENZA.value)
        )
        db.execute(delete(AuditEvent).where(AuditEvent.action == "key.created"))
        db.commit()
    result = _cli(app, "audit", "verify")
    assert result.exit_code == 1
    assert (
        f"case {case.protocol_number} at #2: the signed head has 2 entries, the chain has 1"
        in result.stderr
    )
    assert "entries were removed" in result.stderr.split("\n")[0]  # the key.created events
    assert "(events were removed)" in result.stderr  # and the checkpoint says so too
    assert "the history has been altered" in result.stderr


def test_verify_refuses_an_unreadable_checkpoint_file(
    instance: dict[str, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _cli(instance["app"], "audit", "verify", "--checkpoint", str(bad))
    assert result.exit_code != 0 and "not a readable checkpoint" in result.output


@pytest.mark.slow
def test_two_writers_never_fork_the_audit_chain(instance: dict[str, Any]) -> None:
    """Two sessions append at once: the second waits for the first's head and follows it."""
    import threading

    app = instance["app"]
    engine = database(app).engine
    started = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            started.wait(timeout=30)
            for _ in range(5):
                with database(app).session() as db:
                    record_event(db, None, "login.failed", "user_account", name, utcnow())
                    db.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with Session(engine) as db:
        assert verify_history(db, str(app.config["KEY_PASSPHRASE"]).encode()) == []
        failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
        assert (
            sorted(e.sequence or 0 for e in failed)[-1] - len(failed)
            == min(e.sequence or 0 for e in failed) - 1
        )
