"""``flask --app wsgi outbox ...``: deliver the waiting e-mails over SMTP."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import db_session
from app.mail import deliver_pending

outbox_cli = AppGroup("outbox", help="The e-mail outbox.")


@outbox_cli.command("send")
def outbox_send() -> None:
    """Deliver waiting e-mails over SMTP (ATTESTA_SMTP_HOST)."""
    if not current_app.config.get("SMTP_HOST"):
        raise click.ClickException("no SMTP server configured (ATTESTA_SMTP_HOST)")
    sent, failed = deliver_pending(db_session())
    click.echo(f"sent {sent}, failed {failed}")
