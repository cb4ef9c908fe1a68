"""Erasure survives a restore: evidence a candidate erased after a backup was taken stays erased
when that backup is restored, since the restore re-applies the journalled erasures and says
how many."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import database
from certification.models import ErasureRecord, Evidence, EvidenceType, Experience, StoredFile
from tests.support.clock import NOW
from tests.support.factories import PASSWORD, make_candidate, make_evidence, make_experience
from tests.support.instances import new_instance
from tests.support.web import login, post_form

EVIDENCE = b"%PDF-1.4\n% an attestation the candidate later erased\n"


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture(scope="module")
def erased_after_backup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A candidate's file evidence, a backup, then the candidate's erasure from the web."""
    root = tmp_path_factory.mktemp("erasure")
    with new_instance(root / "source") as source:
        app = source.app()
        files = app.extensions["attesta.storage"]
        with Session(database(app).engine, expire_on_commit=False) as db:
            candidate = make_candidate(db)
            experience = make_experience(db, candidate.person)
            sha256 = files.put(EVIDENCE)
            db.add(
                StoredFile(
                    sha256=sha256, size=len(EVIDENCE), media_type="application/pdf", created_at=NOW
                )
            )
            evidence = make_evidence(
                db,
                experience,
                type=EvidenceType.DOCUMENTO_ATTESTAZIONE,
                url=None,
                file_sha256=sha256,
            )
            db.commit()
        backup = root / "before-erasure.tar"
        assert _cli(app, "backup", "create", str(backup)).exit_code == 0
        client = app.test_client()
        login(client, candidate.email, PASSWORD)
        erase = f"/portfolio/{candidate.person_id}/erase"
        assert post_form(client, erase, {"confirm": "yes"}).status_code == 200
        assert not files.exists(sha256)
        journal = Path(app.config["ERASURE_JOURNAL"])
        assert journal.is_file()
    return {
        "backup": backup,
        "journal": journal,
        "sha256": sha256,
        "evidence": evidence.id,
        "experience": experience.id,
    }


@pytest.mark.slow
@pytest.mark.parametrize("journal_from", ["instance folder", "option"])
def test_a_restore_erases_again_what_was_erased_after_the_backup(
    erased_after_backup: dict[str, Any], tmp_path: Path, journal_from: str
) -> None:
    given = erased_after_backup
    with new_instance(tmp_path / "restored", migrate=False) as target:
        app = target.app()
        args = ["--erasures", str(given["journal"])]
        if journal_from == "instance folder":  # the same instance, its database recreated
            target.path.mkdir(parents=True, exist_ok=True)
            shutil.copy(given["journal"], target.path / "erasures.jsonl")
            args = []
        result = _cli(app, "backup", "restore", str(given["backup"]), *args)
        assert result.exit_code == 0, result.output + result.stderr
        assert (
            "Re-applied 1 erasure(s) made after the backup (3 objects, 1 files erased again)."
            in result.output
        )
        assert "Every case history verifies." in result.output
        with Session(database(app).engine) as db:
            assert db.get(Evidence, given["evidence"]) is None
            assert db.get(Experience, given["experience"]) is None
            assert db.get(StoredFile, given["sha256"]) is None
            ledger = db.scalars(select(ErasureRecord)).all()
            assert {e.object_type for e in ledger} == {"evidence", "experience", "stored_file"}
        assert not app.extensions["attesta.storage"].exists(given["sha256"])


@pytest.mark.slow
def test_without_the_journal_nothing_is_reapplied_and_the_restore_says_so(
    erased_after_backup: dict[str, Any], tmp_path: Path
) -> None:
    with new_instance(tmp_path / "restored", migrate=False) as target:
        app = target.app()
        result = _cli(app, "backup", "restore", str(erased_after_backup["backup"]))
        assert result.exit_code == 0, result.output
        assert "Re-applied 0 erasure(s)" in result.output
        with Session(database(app).engine) as db:
            assert db.get(Evidence, erased_after_backup["evidence"]) is not None
