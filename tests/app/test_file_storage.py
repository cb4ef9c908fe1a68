"""Files in a bucket: the app's storage setting, and downloads streamed from S3; the command
that collects stored files no record names, and the verification log's retention command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import ConfigError
from app.services import storage
from app.web import send_stored
from certification.storage.blobs import S3Storage
from tests.support.services import BUCKET


@pytest.mark.slow
def test_the_app_stores_and_serves_files_from_the_bucket(
    s3: Any, app_factory: Any, tmp_path: Path
) -> None:
    app = app_factory(STORAGE_URL=f"s3://{BUCKET}/web")
    with app.test_request_context("/"):
        files = storage()
        assert isinstance(files, S3Storage)
        sha256 = files.put(b"%PDF-1.7 sealed")
        response = send_stored(sha256, "application/pdf", "LOM-1.pdf")
        response.direct_passthrough = False
        assert response.get_data() == b"%PDF-1.7 sealed"
        assert response.content_length == len(b"%PDF-1.7 sealed")
        assert response.headers["Content-Disposition"] == "attachment; filename=LOM-1.pdf"
        response.close()
    assert not (tmp_path / "instance" / "files").exists()  # nothing went to the folder


def test_an_unusable_storage_url_is_refused(app_factory: Any) -> None:
    with pytest.raises(ConfigError, match="ATTESTA_STORAGE_URL"):
        app_factory(STORAGE_URL="ftp://files.example/attesta")


def test_files_gc_lists_then_removes_old_unreferenced_files(app: Any, tmp_path: Path) -> None:
    import datetime as dt
    import os

    with app.app_context():
        files = storage()
        orphan = files.put(b"sealed, never committed")
        young = files.put(b"stored a moment ago")
    path = tmp_path / "instance" / "files" / orphan[:2] / orphan[2:4] / orphan
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).timestamp()
    os.utime(path, (old, old))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["files", "gc", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphan}" in dry.output and young not in dry.output
    assert "1 file(s) would be removed; 2 looked at, 1 kept" in dry.output
    assert path.exists()
    done = runner.invoke(args=["files", "gc"])
    assert done.exit_code == 0, done.output
    assert f"removed {orphan}" in done.output and "1 file(s) removed" in done.output
    assert not path.exists()
    with app.app_context():
        assert storage().exists(young)
    # A window longer than the file's age keeps it; a window under an hour is refused.
    assert "0 file(s) removed" in runner.invoke(args=["files", "gc", "--hours", "1"]).output
    assert runner.invoke(args=["files", "gc", "--hours", "0"]).exit_code == 2


def test_verification_log_prune_runs_in_batches_and_says_how_many(app: Any, db: Any) -> None:
    import datetime as dt

    from sqlalchemy import func, select

    from certification.models import VerificationChannel, VerificationCount, VerificationLog

    for days in (400, 200, 5):
        db.add(
            VerificationLog(
                certificate_id=None,
                at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days),
                channel=VerificationChannel.WEB,
                method="code",
                verdict="not_found",
                reason="not_found",
            )
        )
    db.commit()
    result = app.test_cli_runner().invoke(args=["verification-log", "prune"])
    assert result.exit_code == 0, result.output
    assert "2 verification log row(s) older than 180 days counted per day." in result.output
    result = app.test_cli_runner().invoke(args=["verification-log", "prune", "--days", "3"])
    assert "1 verification log row(s) older than 3 days" in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(VerificationLog)) == 0
    assert db.scalar(select(func.sum(VerificationCount.count))) == 3
