"""``flask --app wsgi cards ...``: export a card as PDF or PNG, and the daily expiry job."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.db import db_session
from app.services import card_document, storage
from certification import cards as C
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
    png = path.suffix.lower() == ".png"
    try:
        # The stored document of this version of the card (as the holder downloads it),
        # rendered and stored now when there is none yet.
        document = card_document(card, locale, png=png)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    session.commit()
    path.write_bytes(storage().get((document.png_sha256 or "") if png else document.pdf_sha256))
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
