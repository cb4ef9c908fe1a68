"""E-mail outbox: operations store messages; delivery happens after the commit."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certification.db import ModelBase, UUIDPrimaryKey


class OutboxMessage(UUIDPrimaryKey, ModelBase):
    """A message to send. Written in the same transaction as the change it reports."""

    __tablename__ = "outbox_messages"

    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message",
        cascade="all, delete-orphan",
        order_by="OutboxAttachment.position",
    )


class OutboxAttachment(UUIDPrimaryKey, ModelBase):
    """A file sent with an outbox message as a MIME part (a convocation's ``.ics``)."""

    __tablename__ = "outbox_attachments"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    filename: Mapped[str] = mapped_column(String(200))
    #: The full MIME type with its parameters, e.g. ``text/calendar; method=REQUEST``.
    content_type: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")
