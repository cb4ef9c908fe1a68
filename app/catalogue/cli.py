"""``flask --app wsgi rubrics ...``: check and import the rubric files of the competence standards
the catalogue shows."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.db import db_session
from certification.clock import utcnow
from certification.errors import RubricInvalid, RubricVersionConflict
from certification.standards import import_rubric, parse_rubric

rubrics_cli = AppGroup("rubrics", help="Competence standards: check and import rubric files.")


@rubrics_cli.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def rubrics_check(path: Path) -> None:
    """Validate rubric files without importing them."""
    from rubrics import RubricFileError, load_rubric_file  # marshmallow: loaded when used
    from rubrics.loader import rubric_files_in

    failed = False
    for file in rubric_files_in(path):
        try:
            rubric = load_rubric_file(file)
        except RubricFileError as exc:
            click.echo(str(exc), err=True)
            failed = True
        else:
            click.echo(f"{file}: ok ({rubric.code} {rubric.version})")
    if failed:
        raise click.exceptions.Exit(1)


@rubrics_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def rubrics_import(path: Path) -> None:
    """Import a rubric file, or every rubric file in a folder. All or nothing."""
    from rubrics.loader import rubric_files_in  # marshmallow: loaded when used

    session = db_session()
    files = rubric_files_in(path)
    if not files:
        raise click.ClickException(f"no .yaml rubric files in {path}")
    try:
        for file in files:
            try:
                text = file.read_bytes()
            except OSError as exc:
                raise click.ClickException(f"{file}: cannot read: {exc.strerror}") from None
            result = import_rubric(session, None, parse_rubric(text, str(file)), utcnow())
            state = "imported" if result.created else "already published, unchanged"
            click.echo(f"{file}: {result.framework.code} {result.framework.version} {state}")
    except RubricInvalid as exc:
        session.rollback()
        click.echo(exc.detail, err=True)
        raise click.exceptions.Exit(1) from None
    except RubricVersionConflict as exc:
        session.rollback()
        click.echo(
            f"{exc.params['code']} {exc.params['version']} is already published with other "
            "content; a published version never changes: give the file a new version.",
            err=True,
        )
        raise click.exceptions.Exit(1) from None
    session.commit()
