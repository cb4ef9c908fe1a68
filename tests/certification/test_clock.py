"""Rome's wall clock and UTC: typed local times, daylight saving time both ways."""

from __future__ import annotations

import datetime as dt

import pytest

from certification.clock import ROME, NonexistentLocalTime, in_rome, local_text, rome_to_utc

UTC = dt.UTC


def wall(*fields: int) -> dt.datetime:
    """A time as a person types it: Rome's wall clock, no zone."""
    return dt.datetime(*fields)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (wall(2027, 1, 15, 10, 0), dt.datetime(2027, 1, 15, 9, 0, tzinfo=UTC)),  # CET
        (wall(2027, 7, 15, 10, 0), dt.datetime(2027, 7, 15, 8, 0, tzinfo=UTC)),  # CEST
        # the hour that happens twice when clocks go back: the first one, still summer time
        (wall(2026, 10, 25, 2, 30), dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (wall(2026, 10, 25, 3, 30), dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
        (wall(2026, 3, 29, 3, 0), dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # an aware time is already placed
        (dt.datetime(2027, 1, 15, 10, 0, tzinfo=ROME), dt.datetime(2027, 1, 15, 9, 0, tzinfo=UTC)),
    ],
)
def test_a_typed_local_time_is_stored_in_utc(typed: dt.datetime, stored: dt.datetime) -> None:
    assert rome_to_utc(typed) == stored
    assert in_rome(stored).replace(tzinfo=None) == typed.replace(tzinfo=None)


@pytest.mark.parametrize("minute", [0, 30, 59])
def test_the_skipped_hour_is_refused(minute: int) -> None:
    with pytest.raises(NonexistentLocalTime):
        rome_to_utc(wall(2026, 3, 29, 2, minute))


def test_a_naive_stored_time_is_utc() -> None:
    assert in_rome(wall(2027, 7, 15, 8, 0)).hour == 10


# --- local_text: the one formatter of times for people ----------------------------------------


@pytest.mark.parametrize(
    ("utc", "day"),
    [
        (dt.datetime(2027, 1, 15, 9, 0, tzinfo=UTC), "15"),  # CET: 10:00 is 09:00 UTC
        (dt.datetime(2027, 7, 15, 8, 0, tzinfo=UTC), "15"),  # CEST: 10:00 is 08:00 UTC
    ],
)
def test_ten_in_rome_reads_ten_in_every_style(utc: dt.datetime, day: str) -> None:
    month = f"{utc.month:02d}"
    assert local_text(utc, "it", style="numeric") == f"{day}/{month}/2027 10:00"
    assert local_text(utc, "it", style="iso") == f"2027-{month}-{day} 10:00"
    assert local_text(utc, "it", style="numeric", with_time=False) == f"{day}/{month}/2027"
    italian = local_text(utc, "it")
    english = local_text(utc, "en")
    assert italian.endswith(", 10:00") and italian.startswith(f"{day} ")  # "15 gen 2027, 10:00"
    short_month = "Jan" if utc.month == 1 else "Jul"
    assert english == f"{day} {short_month} 2027, 10:00", english  # day first, 24 h
    assert local_text(utc, "en", style="short") == f"{day}/{month}/2027, 10:00"  # never 1/15/27
    assert ":00:00" not in italian + english  # minutes, no seconds
    assert ("gen" if utc.month == 1 else "lug") in italian
    assert ("Jan" if utc.month == 1 else "Jul") in english
    long = local_text(utc, "it", style="long")
    assert long.startswith("venerdì" if utc.month == 1 else "giovedì") and "10:00" in long


def test_local_text_takes_days_as_days_and_nothing_as_empty() -> None:
    assert local_text(None) == ""
    assert local_text(dt.date(2027, 1, 1), "it", style="numeric") == "01/01/2027"  # no time
    assert local_text(dt.date(2027, 1, 1), "en") == "1 Jan 2027"
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert local_text(late, style="iso", with_time=False) == "2027-01-01"  # Rome's day
    assert local_text(late.replace(tzinfo=None), style="iso") == "2027-01-01 00:30"  # naive: UTC
