"""Calendar invitations: Rome's wall clock in winter and summer, text escaped per RFC 5545,
CRLF line ends, folded lines, a stable UID."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from certification.clock import rome_to_utc
from certification.invitations import invitation

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def _ics(start: dt.datetime, **text: str) -> bytes:
    return invitation(
        uid="assessment-1234@attesta.example",
        start=start,
        summary=text.get("summary", "Assessment"),
        description=text.get("description", "Bring an identity document."),
        location=text.get("location", "Cremona"),
        organiser=("noreply@attesta.example", "Attesta"),
        attendee=("maria.rossi@example.org", "Maria Rossi"),
        now=NOW,
    )


@pytest.mark.parametrize("day", [dt.date(2027, 1, 15), dt.date(2027, 7, 15)])
def test_ten_in_rome_is_ten_in_the_calendar(day: dt.date) -> None:
    start = rome_to_utc(dt.datetime.combine(day, dt.time(10, 0)))
    assert start.hour in {8, 9}  # stored in UTC
    text = _ics(start).decode()
    assert f"DTSTART;TZID=Europe/Rome:{day:%Y%m%d}T100000\r\n" in text
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert event.decoded("dtstart") == start  # the same instant
    [zone] = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")
    assert zone["tzid"] == "Europe/Rome"
    assert {str(c["tzoffsetto"].to_ical()) for c in zone.subcomponents} >= {"+0100", "+0200"}


def test_text_is_escaped_and_lines_are_folded_with_crlf() -> None:
    tricky = "Sala 2; piano 1, via Roma\\Milano\nIngresso B " + "x" * 100
    text = _ics(NOW, location=tricky).decode()
    assert "LOCATION:Sala 2\\; piano 1\\, via Roma\\\\Milano\\nIngresso B" in text.replace(
        "\r\n ", ""
    )
    assert "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["location"]) == tricky  # read back as written
    assert "UID:assessment-1234@attesta.example\r\n" in text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and "METHOD:REQUEST\r\n" in text
