"""``flask --app wsgi cards ...``: export a card as PDF or PNG, and the daily expiry job."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.db import db_session
from app.services import card_pdf
from certification import cards as C
from certification.cards.documents import card_png
from certification.clock import utcnow
from certification.errors import DomainError

cards_cli = AppGroup("cards", help="Talent cards: export, daily expiry.")


@cards_cli.command("export")
@click.argument("number")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--locale", type=click.Choice(["it", "en"]), default="it", show_default=True)
def export(number: str, path: Path, locale: str) -> None:
    """Write card NUMBER to PATH: a two-sided CR80 PDF, or a PNG if PATH ends in .png."""
    if path.suffix.lower() not in (".pdf", ".png"):
        raise click.ClickException("PATH must end in .pdf or .png")
    session = db_session()
    canonical = C.normalise_card_number(number)
    card = C.card_by_number(session, canonical) if canonical else None
    if card is None:
        raise click.ClickException(f"no talent card {number!r} (check the number)")
    try:
        pdf = card_pdf(card, locale)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    path.write_bytes(card_png(pdf) if path.suffix.lower() == ".png" else pdf)
    click.echo(f"{card.number} ({card.status.value}) written to {path}")


@cards_cli.command("expire")
def expire() -> None:
    """Mark active cards past their last day as expired (run daily)."""
    session = db_session()
    expired = C.expire_cards(session, utcnow())
    session.commit()
    for card in expired:
        click.echo(f"expired {card.number}")
    click.echo(f"{len(expired)} card(s) expired.")
