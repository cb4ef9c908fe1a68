"""The e-mail outbox: messages are rows written in the transaction of the change they report.

Delivery is separate (``app/mail.py``): after the commit, or by ``flask outbox send``; so a
rolled-back change never sends mail, and a mail server that is down loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification.models import OutboxAttachment, OutboxMessage

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message. ``content_type`` is the MIME type with its parameters
    (``text/calendar; method=REQUEST``)."""

    filename: str
    content_type: str
    content: bytes


def enqueue_message(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    now: dt.datetime,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """Store a plain-text e-mail, with its attachments, to send after the commit."""
    message = OutboxMessage(to_address=to, subject=subject[:200], body_text=body, created_at=now)
    message.attachments = [
        OutboxAttachment(
            position=i, filename=a.filename, content_type=a.content_type, content=a.content
        )
        for i, a in enumerate(attachments)
    ]
    session.add(message)
    session.flush()
    return message


def pending_messages(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Messages not sent yet that have attempts left, oldest first."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    return list(session.scalars(query))
