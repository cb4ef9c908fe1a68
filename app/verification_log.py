"""The verification log, written in batches off the request path.

A verification is a read: making every one wait for its own write (and, on SQLite, for the one
writer lock every process shares) would make the public check slow, and a check must never fail
because its log entry could not be written. So each web process keeps the entries of the last
moment in memory and a background thread writes them in one transaction about once a second. An
entry can be lost only if the process dies within that second; the holder's count is then off
by that much, nothing else depends on it.

``flask --app wsgi verification-log prune`` (daily) keeps the log from growing with time: rows
older than ``ATTESTA_VERIFICATION_LOG_RETENTION_DAYS`` become counts per day
(:mod:`certification.verification.retention`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db import db_session, discard_session
from certification.clock import utcnow
from certification.models import VerificationChannel, VerificationLog
from certification.verification.checks import Verification, verification_entry
from certification.verification.retention import prune_verification_log

log = logging.getLogger(__name__)

#: Entries kept while the database cannot be written; beyond it the oldest are dropped.
MAX_PENDING: Final = 50_000


class VerificationRecorder:
    """Collects verification log entries and writes them in batches; thread-safe."""

    def __init__(
        self, sessions: Callable[[], Session], *, interval: float = 1.0, background: bool = True
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._background = background
        self._pending: deque[dict[str, Any]] = deque(maxlen=MAX_PENDING)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        if background:
            atexit.register(self.flush)  # what the last second collected

    def record(
        self,
        result: Verification,
        channel: VerificationChannel,
        now: dt.datetime,
        certificate_id: uuid.UUID | None = None,
    ) -> None:
        """Queue one entry: certificate (``result``'s, else ``certificate_id``), channel,
        method, verdict, time; nothing about who asked."""
        self._pending.append(verification_entry(result, channel, now, certificate_id))
        if self._background:
            self._ensure_thread()
        else:  # tests: written at once, in order
            self.flush()

    def pending_for(self, certificate_id: uuid.UUID) -> int:
        """Entries of this certificate not written yet (so a count can include them)."""
        return sum(1 for e in list(self._pending) if e["certificate_id"] == certificate_id)

    def _ensure_thread(self) -> None:
        with self._lock:
            # A forked worker inherits the object but not the thread: start its own.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="verification-log", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            self.flush()

    def flush(self) -> int:
        """Write what is queued in one transaction; on failure keep it for the next try."""
        with self._lock:
            batch = list(self._pending)
            self._pending.clear()
        if not batch:
            return 0
        session = None
        try:
            session = self._sessions()
            # One executemany, no ORM objects: the batch can hold thousands of entries.
            session.execute(insert(VerificationLog), batch)
            session.commit()
        except Exception:  # the database is busy or away: try again in a moment
            if session is not None:
                session.rollback()
            log.warning("verification log: %d entries not written yet", len(batch), exc_info=True)
            self._pending.extendleft(reversed(batch))
            return 0
        finally:
            if session is not None:
                session.close()
        return len(batch)


verification_log_cli = AppGroup(
    "verification-log", help="The log of public checks: its retention period."
)


@verification_log_cli.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Retention in days (default: ATTESTA_VERIFICATION_LOG_RETENTION_DAYS, 180).",
)
def verification_log_prune(days: int | None) -> None:
    """Count the rows older than the retention period per day, then delete them (daily)."""
    retention = dt.timedelta(
        days=days or int(current_app.config["VERIFICATION_LOG_RETENTION_DAYS"])
    )
    now, total = utcnow(), 0
    while True:  # a transaction per batch: the counts and the deletion commit together
        session = db_session()
        done = prune_verification_log(session, None, now, retention=retention)
        session.commit()
        discard_session()
        total += done
        if not done:
            break
    log.info("verification log: %d rows past %s counted and deleted", total, retention)
    click.echo(f"{total} verification log row(s) older than {retention.days} days counted per day.")
