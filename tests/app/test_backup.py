"""``flask backup create|restore``: a backup restored into a new instance keeps every
certificate verifying and every case history intact; bad archives and targets are refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import database
from certification.models import Certificate
from tests.support.instances import new_instance, seed_issued


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A source instance with two issued certificates (one revoked) and its two backups."""
    root = tmp_path_factory.mktemp("backup")
    with new_instance(root / "source") as source:
        app = source.app()
        issued = seed_issued(source)
        plain, secret = root / "plain.tar", root / "secret.tar"
        assert _cli(app, "backup", "create", str(plain)).exit_code == 0
        result = _cli(app, "backup", "create", str(secret), "--with-secrets")
        assert result.exit_code == 0, result.output
    return {"root": root, "plain": plain, "secret": secret, **issued}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "secret"])
def test_a_restored_instance_verifies_every_certificate(
    backups: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    with new_instance(tmp_path / "restored", migrate=False) as target:
        app = target.app()
        result = _cli(app, "backup", "restore", str(backups[kind]))
        assert result.exit_code == 0, result.output
        assert "2 certificates checked" in result.output
        assert "Every case history verifies." in result.output
        # Without the secrets, the new instance's own passphrase cannot open the keys: said.
        assert ("the keys do not open" in result.stderr) == (kind == "plain")
        client = app.test_client()
        valid = client.get(f"/api/v1/verify/{backups['valid']}").get_json()
        assert valid["verdict"] == "valid", valid
        revoked = client.get(f"/api/v1/verify/{backups['revoked']}").get_json()
        assert (revoked["verdict"], revoked["reason"]) == ("not_valid", "revoked"), revoked
        uploaded = client.post(
            "/api/v1/verify",
            data={"file": (io.BytesIO(backups["pdf"]), "certificate.pdf", "application/pdf")},
        ).get_json()
        assert uploaded["verdict"] == "valid", uploaded
        page = client.get(f"/verify/{backups['valid']}", headers={"Accept-Language": "it"})
        assert "Questo certificato è autentico, integro e valido oggi." in page.get_data(
            as_text=True
        )


@pytest.mark.slow
def test_a_restore_refuses_a_database_that_is_not_empty(
    backups: dict[str, Any], tmp_path: Path
) -> None:
    with new_instance(tmp_path / "busy") as target:
        app = target.app()
        result = _cli(app, "backup", "restore", str(backups["plain"]))
        assert result.exit_code == 1
        assert "the target database is not empty" in result.stderr
        with Session(database(app).engine) as db:
            assert db.scalar(select(func.count()).select_from(Certificate)) == 0


def _damaged(source: Path, into: Path) -> Path:
    """The same archive with one byte of one stored file changed."""
    with tarfile.open(source) as original, tarfile.open(into, "w") as copy:
        changed = False
        for member in original.getmembers():
            data = original.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("files/") and not changed:
                data = bytes([data[0] ^ 1]) + data[1:]
                changed = True
            copy.addfile(member, io.BytesIO(data))
    return into


def test_a_damaged_or_foreign_archive_restores_nothing(
    backups: dict[str, Any], tmp_path: Path
) -> None:
    not_a_backup = tmp_path / "x.tar"
    not_a_backup.write_bytes(b"not a tar file")
    with new_instance(tmp_path / "target", migrate=False) as target:
        app = target.app()
        for archive, message in [
            (_damaged(backups["plain"], tmp_path / "damaged.tar"), "does not match its hash"),
            (not_a_backup, "not a readable backup"),
        ]:
            result = _cli(app, "backup", "restore", str(archive))
            assert result.exit_code == 1
            assert message in result.stderr
            with database(app).engine.connect() as conn:
                assert not conn.dialect.get_table_names(conn)


def test_an_empty_database_has_no_backup(tmp_path: Path) -> None:
    with new_instance(tmp_path / "empty", migrate=False) as instance:
        result = _cli(instance.app(), "backup", "create", str(tmp_path / "b.tar"))
        assert result.exit_code == 1
        assert "there is nothing to back up" in result.stderr
        assert not (tmp_path / "b.tar").exists()
