"""``flask --app wsgi verify ...``: the daily purge of kept verification results."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import db_session
from certification.clock import utcnow

verify_cli = AppGroup("verify", help="The public check: results kept at their own address.")


@verify_cli.command("purge-results")
def verify_purge_results() -> None:
    """Delete the kept verification results whose 30 days are over (daily)."""
    from certification.verification.results import purge_expired

    session = db_session()
    gone = purge_expired(session, utcnow())
    session.commit()
    click.echo(f"{gone} expired verification result(s) deleted.")
