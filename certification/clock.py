"""The one place that reads the wall clock, and the one rule for local time: operations receive
``now`` from their caller; times are stored in UTC and are Europe/Rome for people."""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

#: The time zone of every person Attesta serves (Lombardy), daylight saving time included.
ROME: Final = ZoneInfo("Europe/Rome")


class NonexistentLocalTime(ValueError):
    """A wall-clock time that never happens in Rome: the hour skipped when clocks go forward."""


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def rome_to_utc(local: dt.datetime) -> dt.datetime:
    """A time as typed by a person (naive, Rome's wall clock) in UTC.

    At the switch to summer time the hour 02:00-02:59 does not exist: refused
    (:class:`NonexistentLocalTime`) rather than moved silently. At the switch back 02:00-02:59
    happens twice: the first one (still summer time) is meant, as a calendar would take it.
    """
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC)
    aware = local.replace(tzinfo=ROME, fold=0)
    if aware.astimezone(dt.UTC).astimezone(ROME).replace(tzinfo=None) != local:
        raise NonexistentLocalTime(local.isoformat())
    return aware.astimezone(dt.UTC)


def in_rome(moment: dt.datetime) -> dt.datetime:
    """A stored time (UTC; naive ones are UTC too) on Rome's wall clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ROME)
