"""``flask --app wsgi privacy ...``: publish a new version of a privacy notice."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli_support import organisation_by_code
from app.db import db_session
from certification.clock import utcnow
from certification.errors import DomainError

privacy_cli = AppGroup(
    "privacy", help="Privacy notices (informativa, art. 13 GDPR): publish a new version."
)


@privacy_cli.command("publish")
@click.argument("text_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", required=True, help="The notice's title, as shown on its page.")
@click.option("--ente", "code", help="The ente's code (e.g. CML); without it, the platform's.")
@click.option("--by", "by_email", help="E-mail of the ente's administrator who publishes it.")
@click.option("--language", default="it", show_default=True, type=click.Choice(["it", "en"]))
def privacy_publish(
    text_file: Path, title: str, code: str | None, by_email: str | None, language: str
) -> None:
    """Publish TEXT_FILE (Markdown or plain text, UTF-8) as the next version of a notice.

    An ente's notice is published in the name of one of its administrators (--by); the
    platform's (no --ente) by the operator. Earlier versions stay readable, unchanged, and
    the consents given under them keep naming them."""
    from certification.people.accounts import find_account
    from certification.people.privacy import publish_notice

    session = db_session()
    organisation = organisation_by_code(code) if code else None
    actor = None
    if organisation is not None:
        actor = find_account(session, by_email or "")
        if actor is None:
            raise click.ClickException("--by: the e-mail of an administrator of the ente")
    try:
        body = text_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{text_file} is not UTF-8 text") from None
    try:
        notice = publish_notice(
            session, actor, organisation, title=title, body=body, language=language, now=utcnow()
        )
    except DomainError as exc:
        details = "; ".join(f"{k}: {', '.join(v)}" for k, v in getattr(exc, "errors", {}).items())
        raise click.ClickException(f"{exc.code}: {details or exc}") from None
    session.commit()
    where = f"/privacy/{organisation.code}" if organisation else "/privacy"
    click.echo(f"published version {notice.version}: {where}/v{notice.version}")
