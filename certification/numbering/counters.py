"""Human numbers (protocols, documents): from a database counter, unique and never reused."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def next_number(session: Session, sequence: str) -> int:
    """The next value of ``sequence`` (starting at 1), atomically on SQLite and PostgreSQL.

    The row is updated in the caller's transaction, so concurrent callers serialise on it; a
    rolled-back transaction leaves a gap, never a duplicate.
    """
    value = session.execute(
        text(
            "INSERT INTO number_sequences (name, value) VALUES (:name, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = number_sequences.value + 1 "
            "RETURNING value"
        ),
        {"name": sequence},
    ).scalar_one()
    return int(value)
