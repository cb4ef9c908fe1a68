"""Composing e-mails in the recipient's language and delivering the outbox.

Messages are enqueued in the request's transaction (``certification.outbox``) and delivered
after the commit when SMTP is configured, or later by ``flask outbox send``. Without SMTP they
stay in the outbox, which development installs show at ``/outbox``.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage, Message
from email.utils import make_msgid
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from app.db import after_commit, database
from certification.clock import utcnow
from certification.models import OutboxMessage, UserAccount
from certification.outbox import Attachment, enqueue_message, pending_messages


def send_mail(
    session: Session,
    to: str,
    locale: str,
    template: str,
    *,
    attachments: Sequence[Attachment] = (),
    **context: Any,
) -> None:
    """Render ``templates/emails/<template>.txt`` in ``locale`` and enqueue it for ``to``.

    The first line of the rendered template is the subject.
    """
    with force_locale(locale):
        text = render_template(f"emails/{template}.txt", **context)
    subject, _, body = text.strip().partition("\n")
    enqueue_message(
        session,
        to=to,
        subject=subject.strip(),
        body=body.strip() + "\n",
        now=utcnow(),
        attachments=attachments,
    )
    if current_app.config.get("SMTP_HOST"):
        after_commit(_deliver_after_commit)


def _deliver_after_commit() -> None:
    # After the commit, never before: a rolled-back change sends nothing.
    deliver_outbox()


def send_template(
    session: Session,
    account: UserAccount,
    template: str,
    *,
    attachments: Sequence[Attachment] = (),
    **context: Any,
) -> None:
    """Send an e-mail to an account holder, in their language."""
    send_mail(
        session,
        account.email,
        account.locale,
        template,
        attachments=attachments,
        account=account,
        **context,
    )


def mime_message(message: OutboxMessage, sender: str) -> EmailMessage:
    """The e-mail of an outbox message: its text, then each attachment as a MIME part with
    its type's parameters (``text/calendar; method=REQUEST``)."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="attesta")
    email.set_content(message.body_text)
    for attachment in message.attachments:
        header = Message()
        header["Content-Type"] = attachment.content_type
        maintype, subtype = header.get_content_type().split("/")
        params = dict((header.get_params() or [])[1:])
        email.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    return email


def deliver_outbox(app: Flask | None = None) -> None:
    """Outside a request (a bulk run, a command): send what is waiting, if SMTP is configured;
    what fails stays in the outbox for `flask outbox send`."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("SMTP_HOST"):
        return
    with database(app).session() as session:
        try:
            deliver_pending(session, app)
        except Exception:
            app.logger.exception("mail delivery failed; left in the outbox")


def deliver_pending(session: Session, app: Flask | None = None) -> tuple[int, int]:
    """Send what is waiting over SMTP; returns (sent, failed). Does nothing without SMTP."""
    config = (app or current_app).config
    if not config.get("SMTP_HOST"):
        return 0, 0
    sent = failed = 0
    messages = pending_messages(session)
    if not messages:
        return 0, 0
    try:
        smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10)
    except OSError as exc:
        for message in messages:
            message.attempts += 1
            message.last_error = f"connect: {exc}"[:500]
        session.commit()
        return 0, len(messages)
    with smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
        for message in messages:
            email = mime_message(message, config["MAIL_FROM"])
            message.attempts += 1
            try:
                smtp.send_message(email)
            except smtplib.SMTPException as exc:
                message.last_error = str(exc)[:500]
                failed += 1
            else:
                message.sent_at = utcnow()
                sent += 1
            session.commit()
    return sent, failed
