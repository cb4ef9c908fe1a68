from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.mail import deliver_pending
from certification.clock import utcnow
from certification.models import OutboxMessage
from certification.outbox import Attachment, enqueue_message
from tests.support.factories import make_account
from tests.support.web import post_form


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would have been sent."""

    sent: list[EmailMessage] = []  # noqa: RUF012
    fail_connect = False

    def __init__(self, host: str, port: int, timeout: float) -> None:
        if FakeSMTP.fail_connect:
            raise OSError("connection refused")
        self.host, self.port = host, port

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def starttls(self) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        pass

    def send_message(self, message: EmailMessage) -> None:
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    FakeSMTP.sent, FakeSMTP.fail_connect = [], False
    monkeypatch.setattr("app.mail.smtplib.SMTP", FakeSMTP)
    return FakeSMTP


def test_mail_is_sent_after_the_commit(
    app_factory: Callable[..., Flask], db: Session, smtp: type[FakeSMTP]
) -> None:
    make_account(db, email="anna@example.org", locale="en")
    db.commit()
    client = app_factory(SMTP_HOST="smtp.example.org").test_client()
    post_form(client, "/password/forgot", {"email": "anna@example.org"})
    assert [m["To"] for m in smtp.sent] == ["anna@example.org"]
    assert smtp.sent[0]["Subject"] == "Attesta: set a new password"  # the account's language
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "anna@example.org"))
    assert message is not None
    assert message.sent_at is not None


def test_unreachable_smtp_keeps_the_message(
    app_factory: Callable[..., Flask], db: Session, smtp: type[FakeSMTP]
) -> None:
    make_account(db, email="anna@example.org")
    db.commit()
    smtp.fail_connect = True
    app = app_factory(SMTP_HOST="smtp.example.org")
    response = post_form(app.test_client(), "/password/forgot", {"email": "anna@example.org"})
    assert response.status_code == 302  # the person is not told about our mail server
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "anna@example.org"))
    assert message is not None
    assert message.sent_at is None
    assert message.attempts == 1
    smtp.fail_connect = False
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert "sent 1, failed 0" in result.output
    assert len(smtp.sent) == 1


@pytest.mark.slow
def test_attachments_are_sent_as_mime_parts(
    app_factory: Callable[..., Flask], db: Session, smtp: type[FakeSMTP]
) -> None:
    app = app_factory(SMTP_HOST="smtp.example.org")
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    enqueue_message(
        db,
        to="anna@example.org",
        subject="Convocazione",
        body="Ci vediamo alle 10:00.\n",
        now=utcnow(),
        attachments=[Attachment("convocazione.ics", "text/calendar; method=REQUEST", ics)],
    )
    db.commit()
    with app.app_context():
        assert deliver_pending(db, app) == (1, 0)
    [sent] = smtp.sent
    assert sent.get_content_type() == "multipart/mixed"
    text, calendar = sent.iter_parts()
    assert text.get_content() == "Ci vediamo alle 10:00.\n"  # type: ignore[attr-defined]
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_filename() == "convocazione.ics"
    assert calendar.get_payload(decode=True) == ics
