"""``flask --app wsgi keys ...``: the root CA, the audit key, each ente's seal and credential
keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from app.cli_support import crl_url, key_errors, key_passphrase, organisation_by_code
from app.db import db_session
from certification.clock import utcnow
from certification.errors import DomainError

keys_cli = AppGroup("keys", help="Signing keys: root CA, PDF seals, credential keys.")


@keys_cli.command("init")
def keys_init() -> None:
    """Create the root CA, the audit key, Attesta's demo time-stamping authority (renewed when it
    has less than a year left) and each ente titolato's seal and credential keys (idempotent);
    sign the history's chain heads written before there was an audit key."""
    from certification.audit.chains import AuditSigner, sign_unsigned_heads
    from certification.keys.management import init_keys

    session = db_session()
    try:
        created = init_keys(session, None, key_passphrase(), utcnow(), crl_url=crl_url())
    except DomainError as exc:
        raise key_errors(exc) from None
    signed = sign_unsigned_heads(session, AuditSigner(key_passphrase()), utcnow())
    session.commit()
    for key in created:
        owner = key.organisation.short_name if key.organisation else "Attesta"
        click.echo(f"created {key.purpose.value:<10} {key.algorithm:<10} {key.kid[:16]}  {owner}")
    click.echo(f"{len(created)} key(s) created." if created else "All keys exist already.")
    if signed:
        click.echo(f"{signed} history chain head(s) written before the audit key now signed.")


@keys_cli.command("list")
def keys_list() -> None:
    """Every key: id, fingerprint, owner, purpose, activation, retirement."""
    from certification.keys.material import all_keys, fingerprint

    for key in all_keys(db_session()):
        owner = key.organisation.code or key.organisation.short_name if key.organisation else "ROOT"
        state = (
            "compromised " + key.compromised_at.isoformat(timespec="minutes")
            if key.compromised_at
            else "retired " + key.retired_at.isoformat(timespec="minutes")
            if key.retired_at
            else "active"
        )
        click.echo(
            f"{key.kid}  {fingerprint(key)}  {owner:<8} {key.purpose.value:<10} "
            f"{key.algorithm:<10} activated {key.activated_at.isoformat(timespec='minutes')}"
            f"  {state}  ({key.source})"
        )


@keys_cli.command("rotate")
@click.option("--org", "code", required=True, help="Organisation code, e.g. CML.")
@click.option("--purpose", type=click.Choice(["pdf_seal", "credential"]), required=True)
def keys_rotate(code: str, purpose: str) -> None:
    """Retire the active key (it keeps verifying what it signed) and activate a new one."""
    from certification.keys.management import rotate_key
    from certification.models import KeyPurpose

    session = db_session()
    try:
        key = rotate_key(
            session,
            None,
            organisation_by_code(code),
            KeyPurpose(purpose),
            key_passphrase(),
            utcnow(),
            crl_url=crl_url(),
        )
    except DomainError as exc:
        raise key_errors(exc) from None
    session.commit()
    click.echo(f"new active {purpose} key {key.kid}")


@keys_cli.command("import-p12")
@click.option("--org", "code", required=True, help="Organisation code, e.g. CML.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--password",
    envvar="ATTESTA_P12_PASSWORD",
    default=None,
    help="The PKCS#12 password (or ATTESTA_P12_PASSWORD).",
)
def keys_import_p12(code: str, path: Path, password: str | None) -> None:
    """Import a real (qualified) seal from a PKCS#12 file; it replaces the generated seal."""
    from certification.keys.management import import_p12

    session = db_session()
    try:
        key = import_p12(
            session,
            None,
            organisation_by_code(code),
            path.read_bytes(),
            password.encode() if password else None,
            key_passphrase(),
            utcnow(),
        )
    except DomainError as exc:
        raise key_errors(exc) from None
    session.commit()
    click.echo(f"imported seal {key.kid} ({key.algorithm}); the previous seal is retired")


class RomeTime(click.ParamType):
    """A moment typed by a person: ISO 8601, a date or a date and time, Europe/Rome time unless
    it carries an offset (``Z``, ``+01:00``). A local time the clocks skip or pass twice (the
    changes to and from summer time) is refused: it names no single moment, an offset does."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import datetime as dt
        from zoneinfo import ZoneInfo

        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{text!r} is not a time: write 2026-11-01, 2026-11-01T00:00 (Rome time) or "
                "2026-11-01T00:00+01:00",
                param,
                ctx,
            )
        if parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
        rome = ZoneInfo("Europe/Rome")
        first, second = (parsed.replace(tzinfo=rome, fold=f) for f in (0, 1))
        if first.astimezone(dt.UTC).astimezone(rome).replace(tzinfo=None) != parsed:
            self.fail(f"{text} does not exist in Rome (the clocks go forward)", param, ctx)
        if first.utcoffset() != second.utcoffset():
            self.fail(
                f"{text} happens twice in Rome (the clocks go back): add the offset, "
                f"{first.isoformat()} or {second.isoformat()}",
                param,
                ctx,
            )
        return first.astimezone(dt.UTC)


@keys_cli.command("compromise")
@click.argument("kid")
@click.option(
    "--since",
    type=RomeTime(),
    default=None,
    help="From when: 2026-11-01T00:00 (Rome time) or with an offset (2026-10-31T23:00Z); "
    "default now. Everything it signed after then stops verifying.",
)
def keys_compromise(kid: str, since: Any) -> None:
    """Mark a key compromised."""
    from certification.keys.management import mark_compromised

    session = db_session()
    now = utcnow()
    at = since or now
    if at > now:
        raise click.BadParameter(
            f"{at.isoformat()} is in the future: a key is compromised from a moment already past",
            param_hint="'--since'",
        )
    try:
        mark_compromised(session, None, kid, at, now)
    except DomainError as exc:
        raise key_errors(exc) from None
    session.commit()
    click.echo(f"key {kid} marked compromised since {at.isoformat()}")
