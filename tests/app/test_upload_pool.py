"""Uploads when every check slot of the machine is taken: 503 with Retry-After and a message in
the user's language (JSON for the API), nothing checked; free again once the slot is."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.config import ConfigError, load_config
from app.services import upload_pool
from certification.portfolio.pool import default_slots
from tests.support.web import csrf_token

NOT_IN_THE_REGISTER = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
BUSY = {
    "it": "In questo momento si stanno controllando molti file",
    "en": "Many files are being checked right now",
}


@pytest.fixture
def one_slot(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(UPLOAD_SLOTS=1, UPLOAD_QUEUE=0, UPLOAD_WAIT_MS=0)


def _form(data: bytes) -> dict[str, Any]:
    return {"file": (io.BytesIO(data), "certificate.pdf")}


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_full_pool_answers_503_with_retry_after(one_slot: Flask, language: str) -> None:
    client = one_slot.test_client()
    headers = {"Accept-Language": language}
    with upload_pool(one_slot).slots.slot():
        api = client.post(
            "/api/v1/verify",
            data=_form(NOT_IN_THE_REGISTER),
            content_type="multipart/form-data",
            headers=headers,
        )
        token = csrf_token(client, "/verify")
        page = client.post(
            "/verify",
            data={**_form(NOT_IN_THE_REGISTER), "csrf_token": token},
            content_type="multipart/form-data",
            headers=headers,
        )
    assert api.status_code == 503 and int(api.headers["Retry-After"]) > 0
    assert api.json is not None and api.json["error"]["code"] == "busy"
    assert api.json["error"]["message"].startswith(BUSY[language])
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    assert BUSY[language] in page.get_data(as_text=True)
    # The slot free again: the same file is checked and gets its verdict.
    again = client.post(
        "/api/v1/verify", data=_form(NOT_IN_THE_REGISTER), content_type="multipart/form-data"
    )
    assert again.status_code == 200 and again.json is not None
    assert again.json["verdict"] == "not_valid"


def test_the_pool_is_configured_per_machine(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(UPLOAD_SLOTS=3, UPLOAD_QUEUE=4, UPLOAD_WAIT_MS=2500, UPLOAD_MEMORY_MB=300)
    pool = upload_pool(app)
    settings = pool.slots.settings
    assert (settings.slots, settings.queue, settings.wait) == (3, 4, 2.5)
    assert pool.sandbox.children == 3
    assert pool.slots.directory == Path(app.config["INSTANCE_PATH"]) / "upload-slots"


def test_by_default_one_slot_per_core_but_one_and_a_queue_of_twice_that(tmp_path: Path) -> None:
    config = load_config({"INSTANCE_PATH": str(tmp_path)}, environ={})
    assert config["UPLOAD_SLOTS"] == default_slots()
    assert config["UPLOAD_QUEUE"] == 2 * default_slots()


@pytest.mark.parametrize(
    "setting", ["UPLOAD_SLOTS=0", "UPLOAD_QUEUE=-1", "UPLOAD_WAIT_MS=-5", "UPLOAD_MEMORY_MB=1"]
)
def test_a_pool_that_cannot_work_stops_the_app_at_start(tmp_path: Path, setting: str) -> None:
    name, value = setting.split("=")
    with pytest.raises(ConfigError, match=f"ATTESTA_{name}"):
        load_config({"INSTANCE_PATH": str(tmp_path)}, environ={f"ATTESTA_{name}": value})
