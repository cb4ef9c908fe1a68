"""``flask --app wsgi ...`` commands: where each group lives, and their registration.

A command group lives with what it serves:

- a blueprint's concept, in that package's ``cli.py``: ``app/cards/cli.py`` (cards),
  ``app/cases/cli.py`` (cases), ``app/catalogue/cli.py`` (rubrics: the standards the catalogue
  shows), ``app/certificates/cli.py`` (certificates), ``app/keys/cli.py`` (keys),
  ``app/outbox/cli.py`` (outbox), ``app/privacy/cli.py`` (privacy), ``app/verify/cli.py``
  (verify);
- an app-wide service, in that service's module: ``app/backup.py`` (backup), ``app/jobs.py``
  (jobs), ``app/files.py`` (files: the stored files), ``app/verification_log.py``
  (verification-log);
- here, the groups of no single blueprint: db (the schema), demo (the demo data), audit (the
  history of cases and accounts alike) and organisations;
- in ``app/cli_support.py``, the helpers several groups share (the key passphrase, the CRL's
  address, an organisation by its code, the key errors in words).

:func:`init_app` registers every group.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.cli_support import crl_url, key_errors, key_passphrase, organisation_by_code
from app.config import ROOT
from app.db import database, db_session, discard_session
from certification.clock import utcnow
from certification.errors import DomainError
from certification.models import CertificationCase

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
demo_cli = AppGroup("demo", help="Demo data.")
audit_cli = AppGroup(
    "audit", help="The tamper-evident history: case transitions and audit events, signed."
)
organisations_cli = AppGroup("organisations", help="Organisations: details for the outside world.")


def alembic_config(app: Flask | None = None) -> AlembicConfig:
    """Alembic's configuration for this app's database (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    url = (app or current_app).config["DATABASE_URL"]
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from alembic import command

    database().engine.dispose()
    Path(current_app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    with database().engine.begin() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrations differ."""
    from alembic import command

    with database().engine.connect() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.check(cfg)
    click.echo("Migrations and models agree.")


@demo_cli.command("load")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
def demo_load(as_json: bool) -> None:
    """Load the demo data (idempotent: run it as often as you like)."""
    from app.services import renderer, storage
    from certification.demo.setting import load_demo  # the demo loads only for this command
    from certification.people.second_factor import encryption_key

    session = db_session()
    totp_key = encryption_key(current_app.config["SECRET_KEY"])
    load_demo(session, utcnow(), storage(), renderer(), totp_key)
    session.commit()
    certificates = _demo_certificates()
    # Again, now that certificates exist: the states after issuance, and the demo card.
    summary = load_demo(session, utcnow(), storage(), renderer(), totp_key)
    session.commit()
    summary["certificates"] = certificates
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    base = current_app.config["BASE_URL"]
    click.echo(
        f"Demo data ready. Accounts (password for all: {summary['accounts'][0]['password']}):"
    )
    for account in summary["accounts"]:
        where = f" @ {account['organisation']}" if account["organisation"] else ""
        click.echo(f"  {account['email']:<42} {', '.join(account['roles'])}{where}")
        if "totp" in account:
            click.echo(f"    second factor: {account['totp']}")
    click.echo(
        "Staff log in with a second factor: add the otpauth:// URI above to an authenticator "
        "app (or print a current code with: flask --app wsgi demo code EMAIL)."
    )
    for label, code in summary["certificates"].items():
        click.echo(f"Demo certificate ({label}): {base}/verify/{code}")
    if "active" in summary["cards"]:
        click.echo(
            f"Demo talent card: {summary['cards']['active']} (conventions: {base}/conventions/)"
        )
    click.echo(f"Open {base} and log in with any of them.")


@demo_cli.command("code")
@click.argument("email")
def demo_code(email: str) -> None:
    """Print the current second-factor code of a demo staff account (demo accounts only)."""
    import pyotp

    from certification.demo import DEMO_DOMAIN
    from certification.people.accounts import find_account
    from certification.people.second_factor import encryption_key, stored_secret

    session = db_session()
    account = find_account(session, email)
    if account is None or not account.email.endswith("@" + DEMO_DOMAIN):
        click.echo(f"error: {email} is not a demo account", err=True)
        raise click.exceptions.Exit(1)
    secret = stored_secret(session, account, encryption_key(current_app.config["SECRET_KEY"]))
    if secret is None:
        click.echo(f"error: {email} has no authenticator app", err=True)
        raise click.exceptions.Exit(1)
    click.echo(pyotp.TOTP(secret).now())


def _demo_certificates() -> dict[str, str]:
    """Issue the demo's certificates (keys first) and revoke the one meant to be revoked;
    idempotent. Returns their verification codes."""
    from app.services import issuer
    from certification.audit.chains import AuditSigner, sign_unsigned_heads
    from certification.cases.states import CaseStatus
    from certification.certificates import lifecycle as C
    from certification.certificates.issuance import issue_one
    from certification.certificates.status_lists import publish_status_list
    from certification.demo import DEMO_DOMAIN
    from certification.demo.cases import demo_certificate_cases
    from certification.keys.management import init_keys
    from certification.models import Certificate, CertificateStatus, UserAccount

    session = db_session()
    init_keys(session, None, key_passphrase(), utcnow(), crl_url=crl_url())
    # The history written before the audit key existed gets its heads signed, as keys init does.
    sign_unsigned_heads(session, AuditSigner(key_passphrase()), utcnow())
    session.commit()
    signatory = session.scalar(
        select(UserAccount).where(UserAccount.email == f"firmatario@{DEMO_DOMAIN}")
    )
    codes: dict[str, str] = {}
    for case, revoke in demo_certificate_cases(session):
        case_id = case.id
        if case.status == CaseStatus.CERTIFIED and signatory is not None:
            signatory_id = signatory.id
            # Issuance commits on its own connections: end this session's snapshot around it.
            session.rollback()
            issue_one(issuer(), signatory_id, case_id)
            session.rollback()
        certificate = session.scalar(
            select(Certificate).where(
                Certificate.case_id == case_id, Certificate.status.in_(C.PUBLIC_STATES)
            )
        )
        if certificate is None:
            continue
        if revoke and certificate.status == CertificateStatus.ISSUED and signatory is not None:
            now = utcnow()
            listed = C.revoke_certificate(
                session,
                signatory,
                certificate,
                "false_evidence",
                "Demo: la testimonianza allegata è risultata non autentica.",
                now,
            )
            publish_status_list(session, listed, key_passphrase(), issuer().base_url, now)
            session.commit()
        codes["revoked" if revoke else "valid"] = certificate.verification_code
    return codes


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint kept outside (/audit/checkpoints/<date>.json); default: the latest stored.",
)
def audit_verify(files: tuple[Path, ...]) -> None:
    """Check every chain (case transitions, audit events) link by link, against its signed
    head and against a checkpoint; name what broke where."""
    from certification.audit.chains import verify_history

    checkpoints = []
    for path in files:
        try:
            checkpoints.append((str(path), json.loads(path.read_bytes())))
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{path}: not a readable checkpoint ({exc})") from None
    session = db_session()
    problems = verify_history(session, key_passphrase(), checkpoints)
    if not problems:
        click.echo(
            "The history verifies: every case chain and the audit chain match their signed heads"
            + (
                " and the checkpoint."
                if checkpoints or _has_checkpoint()
                else " (no checkpoint yet)."
            )
        )
        return
    for problem in problems:
        chain = problem.chain
        if chain.startswith("case:"):
            case = session.get(CertificationCase, uuid.UUID(chain.removeprefix("case:")))
            if case is not None and case.protocol_number:
                chain = f"case {case.protocol_number}"
        where = f" at #{problem.position}" if problem.position is not None else ""
        click.echo(f"{chain}{where}: {problem.reason}", err=True)
    click.echo(f"{len(problems)} problem(s): the history has been altered.", err=True)
    raise click.exceptions.Exit(1)


def _has_checkpoint() -> bool:
    from certification.audit.chains import latest_checkpoint

    return latest_checkpoint(db_session()) is not None


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign today's (UTC) checkpoint of the history, once a day (run it daily); published at
    /audit/checkpoints/<date>.json for outside parties to keep."""
    from certification.audit.chains import AuditSigner, NoAuditKey, create_checkpoint

    session = db_session()
    now = utcnow()
    date = now.date()
    try:
        checkpoint, created = create_checkpoint(session, AuditSigner(key_passphrase()), date, now)
    except NoAuditKey:
        raise click.ClickException(
            "no active audit key: run `flask --app wsgi keys init` first"
        ) from None
    except DomainError as exc:
        raise key_errors(exc) from None
    session.commit()
    body = json.loads(checkpoint.document)
    state = body["chains"]["audit"]
    click.echo(
        f"Checkpoint {date.isoformat()} {'signed' if created else 'already made'}: "
        f"audit chain {state['length']} events, head {state['head'][:16]}, "
        f"{body['cases']['chains']} case chains (root {body['cases']['root'][:16]})."
    )


@organisations_cli.command("linkedin")
@click.argument("code")
@click.argument("organization_id", required=False, default="")
def organisations_linkedin(code: str, organization_id: str) -> None:
    """Set the LinkedIn company id (digits) of the organisation with CODE, sent as
    organizationId in its certificates' add-to-profile links; without an id, clear it."""
    from certification.people.organisations import set_linkedin_organization_id

    organisation = organisation_by_code(code)
    try:
        changed = set_linkedin_organization_id(
            db_session(), None, organisation, organization_id, utcnow()
        )
    except DomainError as exc:
        db_session().rollback()
        raise click.ClickException(
            "the LinkedIn organization id is digits only, the number in the address of the "
            "company page's administration (linkedin.com/company/12345678/admin/); "
            "l'identificativo LinkedIn è fatto solo di cifre. Nothing was changed."
            if "linkedin_id_digits"
            in getattr(exc, "errors", {}).get("linkedin_organization_id", [])
            else exc.detail
        ) from None
    db_session().commit()
    shown = organisation.linkedin_organization_id or "none (the link sends its name)"
    click.echo(
        f"{organisation.short_name}: LinkedIn organization id {shown}"
        + ("" if changed else " (unchanged)")
    )


@click.command("setup")
@click.option(
    "--rubrics",
    "rubrics_path",
    type=click.Path(exists=True, path_type=Path),
    default=ROOT / "rubrics" / "data",
    show_default="rubrics/data",
    help="The rubric files to import.",
)
@click.pass_context
@with_appcontext
def setup(ctx: click.Context, rubrics_path: Path) -> None:
    """Set up an instance with the demo data, in one process: apply the migrations, import the
    rubrics, load the demo, create the keys and finish interrupted issuances (what `make run`
    does before it serves). Idempotent: run it as often as you like."""
    from app.catalogue.cli import rubrics_import
    from app.certificates.cli import recover
    from app.keys.cli import keys_init

    steps: list[tuple[str, click.Command, dict[str, Any]]] = [
        ("db upgrade", db_upgrade, {}),
        (f"rubrics import {rubrics_path}", rubrics_import, {"path": rubrics_path}),
        ("demo load", demo_load, {"as_json": False}),
        ("keys init", keys_init, {}),
        ("certificates recover --minutes 0", recover, {"minutes": 0}),
    ]
    for label, command, params in steps:
        click.echo(click.style(f"== {label}", bold=True))
        ctx.invoke(command, **params)
        discard_session()  # each step on a session of its own, as when each was a command


def init_app(app: Flask) -> None:
    from app.backup import backup_cli
    from app.cards.cli import cards_cli
    from app.cases.cli import cases_cli
    from app.catalogue.cli import rubrics_cli
    from app.certificates.cli import certificates_cli
    from app.files import files_cli
    from app.jobs import jobs_cli
    from app.keys.cli import keys_cli
    from app.outbox.cli import outbox_cli
    from app.privacy.cli import privacy_cli
    from app.verification_log import verification_log_cli
    from app.verify.cli import verify_cli

    for group in (
        db_cli,
        rubrics_cli,
        demo_cli,
        outbox_cli,
        audit_cli,
        cases_cli,
        keys_cli,
        verify_cli,
        organisations_cli,
        privacy_cli,
        certificates_cli,
        cards_cli,
        backup_cli,
        jobs_cli,
        files_cli,
        verification_log_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(setup)
