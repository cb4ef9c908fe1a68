"""The verification log's retention: rows older than the retention period become counts per day.

Every public check adds a row to ``verification_logs``; kept for ever, the table would grow with
time (10^7 rows and more). Past the retention period the rows are counted per day (Rome's
calendar), certificate, channel, method and verdict into ``verification_counts`` and deleted in
the same transaction, so every figure read from the log (the holder's count of checks, the
Region's statistics per month) is the same before and after: those readers add the counts in.
Only the reason of a verdict is not kept past the period.

:func:`prune_verification_log` handles one batch of the oldest rows (the command commits each
and runs until none is left); on PostgreSQL, rows another run has taken are skipped, so two runs
at once never count a row twice (SQLite has one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certification.audit.events import record_event
from certification.clock import in_rome, rome_to_utc
from certification.models import (
    UserAccount,
    VerificationChannel,
    VerificationCount,
    VerificationLog,
)

#: How long verification log rows are kept one by one.
DEFAULT_RETENTION: Final = dt.timedelta(days=180)
#: Rows counted and deleted per transaction.
BATCH: Final = 10_000
_CHUNK: Final = 500  # ids per DELETE ... IN (...)

_Key = tuple[dt.date, uuid.UUID | None, VerificationChannel, str, str]


def retention_cutoff(now: dt.datetime, retention: dt.timedelta) -> dt.datetime:
    """The start (in Rome) of the day ``retention`` before ``now``: rows before it are counted."""
    day = in_rome(now - retention).date()
    return rome_to_utc(dt.datetime.combine(day, dt.time()))


def prune_verification_log(
    session: Session,
    actor: UserAccount | None,
    now: dt.datetime,
    *,
    retention: dt.timedelta = DEFAULT_RETENTION,
    limit: int = BATCH,
) -> int:
    """Count up to ``limit`` of the oldest rows older than the retention period into the daily
    counts and delete them; how many were deleted (0: nothing left to do)."""
    if retention <= dt.timedelta(0) or limit < 1:
        raise ValueError("the retention period and the batch must be positive")
    cutoff = retention_cutoff(now, retention)
    log = VerificationLog
    rows = session.execute(
        select(log.id, log.at, log.certificate_id, log.channel, log.method, log.verdict)
        .where(log.at < cutoff)
        .order_by(log.at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    counts: Counter[_Key] = Counter(
        (in_rome(at).date(), certificate_id, channel, method, verdict)
        for _, at, certificate_id, channel, method, verdict in rows
    )
    days = sorted({key[0] for key in counts})
    existing = {
        (c.day, c.certificate_id, c.channel, c.method, c.verdict): c
        for c in session.scalars(select(VerificationCount).where(VerificationCount.day.in_(days)))
    }
    for key, count in counts.items():
        found = existing.get(key)
        if found is not None:
            found.count += count
        else:
            day, certificate_id, channel, method, verdict = key
            session.add(
                VerificationCount(
                    day=day,
                    certificate_id=certificate_id,
                    channel=channel,
                    method=method,
                    verdict=verdict,
                    count=count,
                )
            )
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            delete(log)
            .where(log.id.in_(ids[start : start + _CHUNK]))
            .execution_options(synchronize_session=False)
        )
    record_event(
        session,
        actor,
        "verification_log.pruned",
        "verification_logs",
        "retention",
        now,
        rows=len(ids),
        days=[d.isoformat() for d in (days[0], days[-1])],
        cutoff=cutoff.isoformat(),
    )
    session.flush()
    return len(ids)
