"""The erasure journal file: each committed erasure's ledger entries, appended outside the
database (``ATTESTA_ERASURE_JOURNAL``, by default the instance folder's erasures.jsonl), so
that ``backup restore`` can re-apply erasures made after the backup
(certification.people.erasure)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, current_app

from certification.models import ErasureRecord
from certification.people.erasure import journal_line


def journal_path(app: Flask | None = None) -> Path:
    return Path(str((app or current_app).config["ERASURE_JOURNAL"]))


def append_to_journal(records: Sequence[ErasureRecord], app: Flask | None = None) -> None:
    """Append the entries with one write (O_APPEND: processes do not interleave) and fsync."""
    if not records:
        return
    path = journal_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(journal_line(record) + "\n" for record in records).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
