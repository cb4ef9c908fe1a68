"""Real instances, for tests that cross processes or databases (backups, crash recovery): an
instance folder and a database of its own, migrated, with the bundled rubrics.

The database is a SQLite file, or a new PostgreSQL database (dropped afterwards) when the suite
runs on PostgreSQL (``ATTESTA_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.cli import alembic_config
from app.db import database
from certification.db import make_engine
from certification.standards import import_rubric
from rubrics import bundled_rubric_files, load_rubric_file
from tests.support.clock import NOW

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instance:
    """One instance: its folder and database, as the app, the CLI and other processes see it."""

    path: Path
    database_url: str
    apps: list[Flask] = field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        return {
            "ENV": "testing",
            "INSTANCE_PATH": str(self.path),
            "DATABASE_URL": self.database_url,
            "BASE_URL": "http://localhost",
            "RATELIMIT_ENABLED": False,
        }

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process of this instance (``ATTESTA_*`` from :meth:`settings`)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}
        env.update({f"ATTESTA_{k}": str(v) for k, v in self.settings().items()})
        return {**env, **extra}

    def command(self, *args: str) -> list[str]:
        """The command line of ``flask --app wsgi ARGS`` (run with :meth:`env`, from ROOT)."""
        return [sys.executable, "-m", "flask", "--app", "wsgi", *args]

    def app(self) -> Flask:
        """An app of this instance (its connections are closed with the instance)."""
        made = create_app(self.settings())
        self.apps.append(made)
        return made

    def close(self) -> None:
        for made in self.apps:
            database(made).engine.dispose()

    def flask(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run ``flask --app wsgi ARGS`` in a process of its own."""
        return subprocess.run(
            self.command(*args),
            cwd=ROOT,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def migrate_with_rubrics(instance: Instance) -> None:
    """Migrate the instance's database and import the bundled rubrics."""
    app = instance.app()
    command.upgrade(alembic_config(app), "head")
    with Session(database(app).engine) as session:
        for path in bundled_rubric_files():
            import_rubric(session, None, load_rubric_file(path), NOW)
        session.commit()


@contextmanager
def new_instance(path: Path, *, migrate: bool = True) -> Iterator[Instance]:
    """A new instance in ``path`` (migrated and with the rubrics unless ``migrate=False``)."""
    server = os.environ.get("ATTESTA_TEST_DATABASE_URL")
    if not server:
        instance = Instance(path, f"sqlite:///{path / 'attesta.sqlite3'}")
        try:
            if migrate:
                migrate_with_rubrics(instance)
            yield instance
        finally:
            instance.close()
        return
    name = f"attesta_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        instance = Instance(path, url)
        if migrate:
            migrate_with_rubrics(instance)
        yield instance
    finally:
        instance.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed_certified(instance: Instance, cases: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """An ente with its keys and a signatory, and ``cases`` CERTIFIED cases waiting for their
    certificates (taken there through the real workflow); the signatory's id and the cases'."""
    from certification.keys.management import init_keys
    from certification.people.roles import Role
    from tests.support.factories import make_account
    from tests.support.worlds import LATER, another_case, assessment_world, certified

    app = instance.app()
    with Session(database(app).engine, expire_on_commit=False) as db:
        w = assessment_world(db)
        signatory = make_account(
            db, roles=(Role.SIGNATORY,), organisation=w.ente, given_name="Francesca"
        )
        ids = [certified(db, w).id]
        ids += [certified(db, another_case(db, w)).id for _ in range(cases - 1)]
        init_keys(db, None, str(app.config["KEY_PASSPHRASE"]).encode(), LATER)
        db.commit()
    return signatory.id, ids


def seed_issued(instance: Instance) -> dict[str, Any]:
    """Two certificates issued for real (rendered and sealed), the second revoked: their
    verification codes (``valid``, ``revoked``) and the valid one's PDF (``pdf``)."""
    from app.services import issuer
    from certification.certificates import lifecycle as C
    from certification.certificates.issuance import issue_one
    from certification.certificates.status_lists import publish_status_list
    from certification.clock import utcnow
    from certification.models import Certificate, UserAccount

    app = instance.app()
    signatory_id, case_ids = seed_certified(instance, 2)
    done = [issue_one(issuer(app), signatory_id, case_id) for case_id in case_ids]
    with Session(database(app).engine) as db:
        now = utcnow()
        listed = C.revoke_certificate(
            db,
            db.get_one(UserAccount, signatory_id),
            db.get_one(Certificate, done[1].id),
            "false_evidence",
            "La testimonianza allegata non è autentica.",
            now,
        )
        passphrase = str(app.config["KEY_PASSPHRASE"]).encode()
        publish_status_list(db, listed, passphrase, str(app.config["BASE_URL"]), now)
        db.commit()
    return {
        "valid": done[0].verification_code,
        "revoked": done[1].verification_code,
        "pdf": app.extensions["attesta.storage"].get(done[0].pdf_sha256),
    }
