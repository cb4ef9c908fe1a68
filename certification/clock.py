"""The one place that reads the wall clock, and the one rule for local time: operations receive
``now`` from their caller; times are stored in UTC and are Europe/Rome for people.

:func:`local_text` is the one formatter of times for people: the pages and e-mails (the app's
``when`` filter), the CSVs and the documents (verbale, Documento di trasparenza, certificate).
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

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


#: The styles of :func:`local_text`: the locale's own words ("15 gen 2027"; "long" adds the
#: weekday, for convocations), "numeric" for documents (15/01/2027, as Italian forms write
#: it) and "iso" for CSVs (2027-01-15).
Style = Literal["short", "medium", "long", "numeric", "iso"]
_BABEL_STYLES: Final = {"short": "short", "medium": "medium", "long": "full"}
#: English as written in Europe: day before month, 24-hour clock. On an Italian service, US
#: order would make 12/4 read as 4 December to some and 12 April to others.
_FORMAT_LOCALES: Final = {"en": "en_GB"}


def local_text(
    moment: dt.datetime | dt.date | None,
    locale: str = "it",
    *,
    style: Style = "medium",
    with_time: bool = True,
) -> str:
    """A stored time for people: Rome's wall clock, to the minute (never seconds), in
    ``locale`` ("15 gen 2027, 10:00"; "15 Jan 2027, 10:00"). A datetime is UTC (naive ones
    too); a date is already a day and has no time. Empty for None."""
    if moment is None:
        return ""
    local = in_rome(moment) if isinstance(moment, dt.datetime) else None
    day = local.date() if local is not None else moment
    time = local if with_time else None
    if style == "iso":
        return f"{day.isoformat()} {time:%H:%M}" if time else day.isoformat()
    if style == "numeric":
        return f"{day:%d/%m/%Y} {time:%H:%M}" if time else f"{day:%d/%m/%Y}"
    language = Locale.parse(_FORMAT_LOCALES.get(locale, locale))
    date_style = _BABEL_STYLES[style]
    date_text = format_date(day, date_style, locale=language)
    if time is None:
        return date_text
    pattern = str(language.datetime_formats[date_style])
    return pattern.format(format_time(time, "short", locale=language), date_text)
