"""Files in a bucket: the app's storage setting, and downloads streamed from S3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import ConfigError
from app.portfolio.views import send_stored
from app.services import storage
from certification.storage import S3Storage
from tests.conftest import BUCKET


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
