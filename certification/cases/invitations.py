"""Calendar invitations (iCalendar, RFC 5545) for convocations: the time lands in the person's
calendar at Rome's wall-clock time, whatever the calendar's own time zone.

The ``icalendar`` library writes the format: escaping of text (``,`` ``;`` ``\\`` and line
breaks), CRLF line ends, lines folded at 75 octets, and the ``VTIMEZONE`` of Europe/Rome built
from the tz database, so DTSTART and DTEND carry ``TZID=Europe/Rome`` and the summer-time rules.

A session has no stored length: the event lasts :data:`DEFAULT_DURATION` (two hours, the usual
colloquio tecnico) unless the caller gives its end.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from certification.clock import in_rome

if TYPE_CHECKING:
    from icalendar import vCalAddress

PRODUCT_ID: Final = "-//Attesta//Convocazioni//IT"
#: The content type of an invitation as an e-mail part (iTIP, RFC 5546: a request to attend).
CONTENT_TYPE: Final = "text/calendar; method=REQUEST; charset=UTF-8"
#: How long an assessment session is taken to last when nothing says otherwise.
DEFAULT_DURATION: Final = dt.timedelta(hours=2)


def _address(email: str, name: str) -> vCalAddress:
    from icalendar import vCalAddress, vText  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    return address


def invitation(
    *,
    uid: str,
    start: dt.datetime,
    summary: str,
    description: str,
    location: str,
    organiser: tuple[str, str],
    attendee: tuple[str, str],
    now: dt.datetime,
    sequence: int = 0,
    end: dt.datetime | None = None,
) -> bytes:
    """An iCalendar ``REQUEST`` for one event from ``start`` to ``end`` (stored UTC; by default
    :data:`DEFAULT_DURATION` later), written on Rome's wall clock. ``uid`` is stable for the
    event (a new version of the same event keeps it and raises ``sequence``); ``organiser``
    and ``attendee`` are (e-mail, name)."""
    from icalendar import Calendar, Event, vText  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    local = in_rome(start)
    local_end = in_rome(end if end is not None else start + DEFAULT_DURATION)
    if local_end <= local:
        raise ValueError("an event ends after it starts")
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", local)
    event.add("dtend", local_end)
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", location)
    event.add("organizer", _address(*organiser))
    attendee_address = _address(*attendee)
    attendee_address.params["ROLE"] = vText("REQ-PARTICIPANT")
    attendee_address.params["PARTSTAT"] = vText("NEEDS-ACTION")
    attendee_address.params["RSVP"] = vText("FALSE")
    event.add("attendee", attendee_address)
    calendar.add_component(event)
    # The rules of the years around the event are enough for any calendar, and short.
    calendar.add_missing_timezones(
        first_date=dt.date(local.year - 1, 1, 1), last_date=dt.date(local.year + 2, 1, 1)
    )
    return bytes(calendar.to_ical())
