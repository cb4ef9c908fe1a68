"""The portfolio through its web forms, as a candidate fills it in."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient

from tests.support.web import post_form


def add_experience(client: FlaskClient, pid: Any, host_id: Any = "", **changes: str) -> str:
    """Add an experience to the portfolio of person ``pid`` from its form; its page's URL."""
    data = {
        "kind": "animazione_coworking",
        "learning_context": "informale",
        "role_title": "Community host",
        "host_organisation_id": str(host_id),
        "host_name": "",
        "start_date": "2025-01-10",
        "end_date": "2025-10-31",
        "hours_estimate": "300",
        "description": "Accoglienza e 24 eventi.",
        "referee_name": "",
        "referee_contact": "",
        **changes,
    }
    response = post_form(client, f"/portfolio/{pid}/experiences/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return response.headers["Location"]


def upload_evidence(
    client: FlaskClient, experience_url: str, data: bytes, name: str, title: str = "Attestato"
) -> Any:
    """Upload ``data`` as a file evidence of the experience, from its form."""
    url = experience_url + "/evidence/new?kind=file"
    return post_form(
        client,
        url,
        {
            "type": "documento_attestazione",
            "title": title,
            "file": (io.BytesIO(data), name),
            "issued_on": "",
            "description": "",
        },
        content_type="multipart/form-data",
    )
