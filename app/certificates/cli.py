"""``flask --app wsgi certificates ...``: issue (one or in bulk), export, revoke, recover."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli_support import key_passphrase
from app.db import db_session, discard_session, unit_of_work
from app.mail import deliver_outbox, send_template
from app.services import issuer, timestamp_roots
from certification.cases.states import CaseStatus
from certification.certificates import lifecycle as C
from certification.certificates.bulk import run_bulk, start_bulk
from certification.certificates.issuance import ItemResult, recover_pending
from certification.certificates.states import REVOCATION_REASONS
from certification.certificates.status_lists import publish_status_list
from certification.clock import utcnow
from certification.errors import DomainError
from certification.models import Certificate, CertificationCase, UserAccount

certificates_cli = AppGroup("certificates", help="Certificates: issue, export, revoke, recover.")


def _certificate(code: str) -> Certificate:
    found = C.certificate_by_code(db_session(), code)
    if found is None:
        raise click.ClickException(f"no issued certificate with code {code!r}")
    return found


def _account(email: str) -> UserAccount:
    found = db_session().scalar(select(UserAccount).where(UserAccount.email == email.lower()))
    if found is None:
        raise click.ClickException(f"no account {email!r}")
    return found


def _notify(session: Any, account: UserAccount, template: str, **context: Any) -> None:
    """E-mail from the command line: links are built against the configured BASE_URL."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        send_template(session, account, template, **context)


def _fail(exc: DomainError) -> click.ClickException:
    details = "; ".join(f"{k}: {', '.join(v)}" for k, v in getattr(exc, "errors", {}).items())
    return click.ClickException(f"{exc.code}: {details or exc.detail}")


@certificates_cli.command("issue")
@click.option("--as", "email", required=True, help="E-mail of the signatory who issues.")
@click.option("--case", "case_ids", multiple=True, help="Case id (repeatable).")
@click.option("--all-certified", is_flag=True, help="Every CERTIFIED case the signatory may issue.")
@click.option("--idempotency-key", help="Repeat a request safely (default: a new one).")
@click.option("--workers", type=int, default=None, help="Rendering processes (default: config).")
def issue(
    email: str,
    case_ids: tuple[str, ...],
    all_certified: bool,
    idempotency_key: str | None,
    workers: int | None,
) -> None:
    """Issue certificates for certified cases, on a worker pool, with progress; idempotent."""
    key = idempotency_key or f"cli-{uuid.uuid4()}"  # chosen once: a retried start reuses it

    def start() -> tuple[uuid.UUID, int, bool]:
        session = db_session()
        actor = _account(email)
        ids = [uuid.UUID(c) for c in case_ids]
        if all_certified:
            ids += list(
                session.scalars(
                    select(CertificationCase.id).where(
                        CertificationCase.status == CaseStatus.CERTIFIED
                    )
                )
            )
        if not ids:
            raise click.ClickException("no cases: give --case or --all-certified")
        try:
            bulk, created = start_bulk(session, actor, key, ids, utcnow())
        except DomainError as exc:
            raise _fail(exc) from None
        session.commit()
        found = bulk.id, len(bulk.items), created
        discard_session()
        return found

    bulk_id, total, created = unit_of_work(start)
    if not created:
        click.echo(f"idempotency key seen before: resuming request {bulk_id}")
    done = 0

    def progress(item: ItemResult) -> None:
        nonlocal done
        done += 1
        what = f"{item.number} {item.verification_code}" if item.status == "issued" else item.error
        click.echo(f"[{done}/{total}] {item.case_id} {item.status} {what}")

    results = run_bulk(
        issuer(),
        bulk_id,
        workers=current_app.config["ISSUANCE_WORKERS"] if workers is None else workers,
        progress=progress,
    )
    deliver_outbox()  # each holder's e-mail was enqueued with the certificate
    failed = sum(1 for r in results if r.status != "issued")
    click.echo(f"{len(results) - failed} issued, {failed} failed (request {bulk_id}).")
    if failed:
        raise click.exceptions.Exit(1)


@certificates_cli.command("export")
@click.argument("code")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--credential", is_flag=True, help="Write the credential JSON instead of the PDF.")
def export(code: str, path: Path, credential: bool) -> None:
    """Write an issued certificate's stored PDF (or credential) to PATH."""
    from app.services import storage

    certificate = _certificate(code)
    sha256 = certificate.credential_sha256 if credential else certificate.pdf_sha256
    if sha256 is None:  # pragma: no cover - public certificates have their bytes
        raise click.ClickException("no stored file")
    path.write_bytes(storage().get(sha256))
    click.echo(f"{certificate.number} -> {path} (sha256 {sha256})")


@certificates_cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="The reasoned decision (kept internal).")
@click.option(
    "--ground",
    type=click.Choice(REVOCATION_REASONS),
    default="other",
    show_default=True,
    help="Ground of the revocation.",
)
@click.option("--as", "email", required=True, help="E-mail of the signatory who revokes.")
def revoke(code: str, reason: str, ground: str, email: str) -> None:
    """Revoke a certificate: status list re-signed and republished, holder notified."""

    def revoke_once() -> Certificate:
        session = db_session()
        certificate = _certificate(code)
        now = utcnow()
        try:
            listed = C.revoke_certificate(
                session, _account(email), certificate, ground, reason, now
            )
            publish_status_list(session, listed, key_passphrase(), issuer().base_url, now)
        except DomainError as exc:
            raise _fail(exc) from None
        account = certificate.case.candidate.account
        if account is not None:
            _notify(session, account, "certificate_status", certificate=certificate)
        session.commit()
        return certificate

    certificate = unit_of_work(revoke_once)
    click.echo(f"{certificate.number} revoked (status list index {certificate.status_index}).")


@certificates_cli.command("recover")
@click.option("--minutes", type=int, default=10, show_default=True, help="Older than this.")
def recover(minutes: int) -> None:
    """Finish (or abandon) issuances a crash left half-way. Safe to run at any time."""
    import datetime as dt

    results = recover_pending(issuer(), stale_after=dt.timedelta(minutes=minutes))
    for item in results:
        click.echo(json.dumps(item.as_dict()))
    click.echo(f"{len(results)} pending issuance(s) handled.")


@certificates_cli.command("refresh-timestamps")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Renew when the last time-stamp's TSA certificate expires within this many days.",
)
def refresh_timestamps_command(days: int) -> None:
    """Add a new document time-stamp (PAdES B-LTA renewal) to every issued certificate whose
    last time-stamp's TSA certificate expires within --days. Idempotent: run it daily."""
    import datetime as dt

    from certification.certificates.timestamps import local_tsa_ends, refresh_timestamps
    from certification.certificates.tsa import (
        DemoTimestampAuthority,
        HttpTimestamps,
        TimestampSource,
    )
    from certification.keys.material import active_key
    from certification.keys.revocation import root_crl
    from certification.models import KeyPurpose

    session = db_session()
    passphrase = str(current_app.config["KEY_PASSPHRASE"]).encode()
    now = utcnow()
    try:
        root = active_key(session, None, KeyPurpose.ROOT_CA)
        url = current_app.config.get("TIMESTAMP_URL")
        source: TimestampSource = (
            HttpTimestamps(str(url), timestamp_roots())
            if url
            else DemoTimestampAuthority(
                active_key(session, None, KeyPurpose.TIMESTAMP),
                root.certificate_pem or "",
                passphrase,
            )
        )
        renewed = refresh_timestamps(
            session,
            None,
            issuer().storage,
            source,
            root.certificate_pem or "",
            root_crl(session, passphrase, now),
            now,
            within=dt.timedelta(days=days),
            tsa_ends=local_tsa_ends(source),
        )
    except DomainError as exc:
        session.rollback()
        raise _fail(exc) from None
    session.commit()
    for item in renewed:
        click.echo(f"{item.number}: new document time-stamp ({item.new_sha256[:16]})")
    click.echo(f"{len(renewed)} certificate(s) time-stamped again.")


@certificates_cli.command("registered")
@click.argument("code")
@click.option("--ref", required=True, help="The regional register's reference.")
def registered(code: str, ref: str) -> None:
    """Record the regional register's acknowledgement: the case closes (#21)."""
    session = db_session()
    certificate = _certificate(code)
    try:
        C.acknowledge_registration(session, certificate, ref, utcnow())
    except DomainError as exc:
        raise _fail(exc) from None
    session.commit()
    click.echo(f"{certificate.number} registered as {ref}; case closed.")
