"""Calendar invitations: Rome's wall clock in winter and summer, text escaped per RFC 5545,
CRLF line ends, folded lines, a stable UID."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from certification.cases.invitations import invitation
from certification.clock import rome_to_utc

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
    assert f"DTEND;TZID=Europe/Rome:{day:%Y%m%d}T120000\r\n" in text  # two hours by default
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert event.decoded("dtstart") == start  # the same instant
    assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(hours=2)
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


def test_an_end_given_is_the_end_written_and_never_before_the_start() -> None:
    start = rome_to_utc(dt.datetime(2027, 1, 15, 10, 0))  # noqa: DTZ001 - typed in Rome
    text = invitation(
        uid="u@x",
        start=start,
        end=start + dt.timedelta(minutes=90),
        summary="s",
        description="d",
        location="l",
        organiser=("a@x.example", "A"),
        attendee=("b@x.example", "B"),
        now=NOW,
    ).decode()
    assert "DTEND;TZID=Europe/Rome:20270115T113000\r\n" in text
    with pytest.raises(ValueError, match="ends after it starts"):
        invitation(
            uid="u@x",
            start=start,
            end=start,
            summary="s",
            description="d",
            location="l",
            organiser=("a@x.example", "A"),
            attendee=("b@x.example", "B"),
            now=NOW,
        )
