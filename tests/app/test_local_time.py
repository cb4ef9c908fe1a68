"""Times are Rome's for people: an assessment typed for 10:00, in winter and in summer, reads
10:00 on the case page and in every e-mail (in Italian and in English), to the minute."""

from __future__ import annotations

import icalendar
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from certification.models import AssessmentSession, OutboxMessage, UserAccount
from tests.support.access_world import World, build_world, client_for, fill
from tests.support.web import csrf_token


def _plan(app: Flask, world: World, when: str, **headers: str) -> TestResponse:
    """The certifier plans the review case's assessment at ``when`` (as typed, Rome time)."""
    accounts: dict[str, UserAccount] = world.accounts
    certifier = client_for(app, world, "certifier")
    url = fill("/cases/{rcase}", world)
    return certifier.post(
        url + "/plan",
        data={
            "csrf_token": csrf_token(certifier, url),
            "methods": ["colloquio_tecnico"],
            "scheduled_at": when,
            "location": "Cremona",
            "certifiers": [str(accounts["certifier"].person_id)],
            "assessors": [str(accounts["assessor"].person_id)],
        },
        headers=headers,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("day", "utc_hour"), [("2027-01-15", 9), ("2027-07-15", 8)])
def test_an_assessment_at_ten_reads_ten_everywhere(
    app: Flask, db: Session, day: str, utc_hour: int
) -> None:
    world: World = build_world(db, app)
    accounts: dict[str, UserAccount] = world.accounts
    accounts["candidate"].locale = "en"  # the candidate reads English, the panel Italian
    db.commit()
    response = _plan(app, world, f"{day}T10:00")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.expire_all()
    [stored] = db.scalars(
        select(AssessmentSession).where(AssessmentSession.case_id == world.rcase)
    ).all()
    assert stored.scheduled_at.hour == utc_hour  # stored in UTC

    page = (
        client_for(app, world, "certifier")
        .get(fill("/cases/{rcase}", world))
        .get_data(as_text=True)
    )
    schedule = page.split('id="plan-h"')[0] if 'id="plan-h"' in page else page
    assert "10:00" in schedule and f"0{utc_hour}:00" not in schedule
    mails = {
        m.to_address: m.body_text
        for m in db.scalars(select(OutboxMessage).where(OutboxMessage.subject != ""))
    }
    for who in ("candidate", "assessor"):
        body = mails[accounts[who].email]
        assert "10:00" in body, body
        assert f"0{utc_hour}:00" not in body and "10:00:00" not in body
    english, italian = mails[accounts["candidate"].email], mails[accounts["assessor"].email]
    month = "January" if day.endswith("01-15") else "July"
    assert f"15 {month} 2027, 10:00" in english, english  # day first, 24 hours, as in Europe
    assert "AM" not in english + italian and month not in italian

    # The convocation carries the calendar invitation, on Rome's wall clock; so does each
    # panel member's appointment (the certifier and the assessor), each as its attendee.
    for who in ("candidate", "certifier", "assessor"):
        [convocation] = db.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == accounts[who].email)
        ).all()
        [ics] = convocation.attachments
        assert (ics.filename, ics.content_type) == (
            "convocazione.ics",
            "text/calendar; method=REQUEST; charset=UTF-8",
        )
        text = ics.content.decode()
        assert f"DTSTART;TZID=Europe/Rome:{day.replace('-', '')}T100000\r\n" in text
        assert f"DTEND;TZID=Europe/Rome:{day.replace('-', '')}T120000\r\n" in text
        assert "BEGIN:VTIMEZONE\r\nTZID:Europe/Rome\r\n" in text and "METHOD:REQUEST" in text
        assert f"UID:assessment-{stored.id}@localhost\r\n" in text  # one per session
        assert "\n" not in text.replace("\r\n", "")  # CRLF only
        assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded
        calendar = icalendar.Calendar.from_ical(ics.content)
        [event] = calendar.walk("VEVENT")
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert (start.hour, start.minute, str(start.tzinfo)) == (10, 0, "Europe/Rome")
        assert (end.hour, end.minute, str(end.tzinfo)) == (12, 0, "Europe/Rome")
        assert event["location"] == "Cremona"
        assert str(event["attendee"]) == f"mailto:{accounts[who].email}"
    panel_ics = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == accounts["assessor"].email)
    ).one()
    assert "Commissione" in panel_ics.attachments[0].content.decode()  # the panel's wording


@pytest.mark.slow
def test_a_time_that_does_not_exist_is_refused_with_a_reason(app: Flask, db: Session) -> None:
    world: World = build_world(db, app)
    # clocks go forward at 02:00
    response = _plan(app, world, "2027-03-28T02:30", **{"Accept-Language": "it"})
    assert response.status_code == 422
    assert "non esiste in Italia" in response.get_data(as_text=True)
    db.expire_all()
    assert all(s.case_id != world.rcase for s in db.scalars(select(AssessmentSession)))
