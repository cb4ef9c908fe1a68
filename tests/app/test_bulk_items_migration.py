"""Migration 0020 moves each bulk request's JSON list of items to a row per item, in order,
and back on downgrade."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from app import create_app
from app.cli import alembic_config

ITEMS = [
    {
        "case_id": "c1",
        "status": "issued",
        "certificate_id": "x",
        "number": "N1",
        "verification_code": "V",
    },
    {"case_id": "c2", "status": "pending"},
    {"case_id": "c3", "status": "failed", "error": "not_found"},
]


@pytest.mark.slow
def test_bulk_items_move_to_rows_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    app = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "x" * 32,
        }
    )
    engine = create_engine(url)

    def migrate(target: str, *, down: bool = False) -> None:
        with engine.begin() as connection:
            cfg = alembic_config(app)
            cfg.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(cfg, target)

    migrate("0016")
    with engine.begin() as connection:
        connection.execute(text("PRAGMA foreign_keys=OFF"))  # no account needed for this
        connection.execute(
            text(
                "INSERT INTO bulk_issuances (id, idempotency_key, requested_by_id, case_ids,"
                " items, created_at) VALUES (:id, 'migrate-me', :by, :ids, :items, :at)"
            ),
            {
                "id": uuid.uuid4().hex,
                "by": uuid.uuid4().hex,
                "ids": json.dumps(["c1", "c2", "c3"]),
                "items": json.dumps(ITEMS),
                "at": "2026-12-01 00:00:00.000000",
            },
        )
    migrate("0020")
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT position, case_id, status, certificate_id, number, verification_code,"
                " error FROM bulk_issuance_items ORDER BY position"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (0, "c1", "issued", "x", "N1", "V", None),
        (1, "c2", "pending", None, None, None, None),
        (2, "c3", "failed", None, None, None, "not_found"),
    ]
    migrate("0016", down=True)
    with engine.connect() as connection:
        back = connection.execute(text("SELECT items FROM bulk_issuances")).scalar_one()
    assert json.loads(back) == ITEMS
    engine.dispose()
