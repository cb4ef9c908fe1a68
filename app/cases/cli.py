"""``flask --app wsgi cases ...``: the daily suspension of inactive cases."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import db_session
from certification.clock import utcnow

cases_cli = AppGroup("cases", help="Certification cases: scheduled jobs.")


@cases_cli.command("suspend-inactive")
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="Days without progress, in states that wait for the candidate.",
)
def cases_suspend_inactive(days: int) -> None:
    """Suspend cases that waited too long for the candidate or passed a deadline (daily)."""
    from certification.cases.assessment import suspend_inactive

    session = db_session()
    suspended = suspend_inactive(session, utcnow(), days)
    session.commit()
    for case in suspended:
        click.echo(f"suspended {case.protocol_number}")
    click.echo(f"{len(suspended)} case(s) suspended.")
