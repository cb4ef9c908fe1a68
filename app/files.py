"""``flask --app wsgi files ...``: the stored files (evidence, issued documents, card photos).

``files gc`` removes the files no record names, older than a safety window
(``ATTESTA_FILES_GC_WINDOW_HOURS``) and never one a pending issuance may still record: see
:mod:`certification.storage.collection`. It works on the instance folder and on a bucket alike.
"""

from __future__ import annotations

import datetime as dt
import logging

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import db_session
from app.services import storage
from certification.clock import utcnow
from certification.storage.collection import collect_files, delete_collected

log = logging.getLogger(__name__)

files_cli = AppGroup("files", help="Stored files: collect those no record names.")


@files_cli.command("gc")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--hours",
    type=click.IntRange(min=1),
    default=None,
    help="Safety window in hours (default: ATTESTA_FILES_GC_WINDOW_HOURS, 24).",
)
def files_gc(dry_run: bool, hours: int | None) -> None:
    """Remove stored files that no record references (daily or weekly)."""
    window = dt.timedelta(hours=hours or int(current_app.config["FILES_GC_WINDOW_HOURS"]))
    session, files = db_session(), storage()
    collected = collect_files(session, None, files, utcnow(), window=window, dry_run=dry_run)
    if dry_run:
        for listed in collected.files:
            click.echo(f"would remove {listed.sha256} (written {listed.written_at:%Y-%m-%d %H:%M})")
        click.echo(
            f"{len(collected.files)} file(s) would be removed; {collected.scanned} looked at, "
            f"{collected.too_recent} kept as written after {collected.cutoff:%Y-%m-%d %H:%M} UTC."
        )
        return
    session.commit()  # the rows first: bytes are deleted only once no row can name them
    removed = delete_collected(files, collected)
    for sha256 in removed:
        log.info("files gc: removed %s", sha256)
        click.echo(f"removed {sha256}")
    click.echo(
        f"{len(removed)} file(s) removed; {collected.scanned} looked at, "
        f"{collected.too_recent} kept as written after {collected.cutoff:%Y-%m-%d %H:%M} UTC."
    )
