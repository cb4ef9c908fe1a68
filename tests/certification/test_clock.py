"""Rome's wall clock and UTC: typed local times, daylight saving time both ways."""

from __future__ import annotations

import datetime as dt

import pytest

from certification.clock import ROME, NonexistentLocalTime, in_rome, rome_to_utc

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
