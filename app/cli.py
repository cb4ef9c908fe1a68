"""``flask --app wsgi ...`` commands: database, rubrics, demo data, outbox."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.config import ROOT
from app.db import database, db_session
from app.mail import deliver_pending
from certification.clock import utcnow
from certification.demo import load_demo
from certification.errors import DomainError, RubricInvalid, RubricVersionConflict
from certification.models import CertificationCase, Organisation
from certification.standards import import_rubric, parse_rubric
from rubrics import RubricFileError, load_rubric_file
from rubrics.loader import rubric_files_in

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
rubrics_cli = AppGroup("rubrics", help="Competence standards: check and import rubric files.")
demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="The e-mail outbox.")
audit_cli = AppGroup(
    "audit", help="The tamper-evident history: case transitions and audit events, signed."
)
cases_cli = AppGroup("cases", help="Certification cases: scheduled jobs.")
keys_cli = AppGroup("keys", help="Signing keys: root CA, PDF seals, credential keys.")
verify_cli = AppGroup("verify", help="The public check: results kept at their own address.")


def _passphrase() -> bytes:
    return str(current_app.config["KEY_PASSPHRASE"]).encode()


def _organisation_by_code(code: str) -> Organisation:
    from sqlalchemy import select

    found = db_session().scalar(select(Organisation).where(Organisation.code == code))
    if found is None:
        raise click.ClickException(f"no organisation with code {code!r}")
    return found


def _key_errors(exc: DomainError) -> click.ClickException:
    messages = {
        "key_passphrase_wrong": "the key passphrase (ATTESTA_KEY_PASSPHRASE or "
        "instance/key_passphrase) does not open the stored keys; nothing was changed",
        "no_active_key": "no active key: run `flask --app wsgi keys init` first",
        "invalid_input": "; ".join(
            f"{k}: {', '.join(v)}" for k, v in getattr(exc, "errors", {}).items()
        ),
    }
    return click.ClickException(messages.get(exc.code, exc.detail))


@keys_cli.command("init")
def keys_init() -> None:
    """Create the root CA, the audit key and each ente titolato's seal and credential keys
    (idempotent); sign the history's chain heads written before there was an audit key."""
    from certification.chains import AuditSigner, sign_unsigned_heads
    from certification.keys import init_keys

    session = db_session()
    try:
        created = init_keys(session, None, _passphrase(), utcnow())
    except DomainError as exc:
        raise _key_errors(exc) from None
    signed = sign_unsigned_heads(session, AuditSigner(_passphrase()), utcnow())
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
    from certification.keys import all_keys, fingerprint

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
    from certification.keys import rotate_key
    from certification.models import KeyPurpose

    session = db_session()
    try:
        key = rotate_key(
            session, None, _organisation_by_code(code), KeyPurpose(purpose), _passphrase(), utcnow()
        )
    except DomainError as exc:
        raise _key_errors(exc) from None
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
    from certification.keys import import_p12

    session = db_session()
    try:
        key = import_p12(
            session,
            None,
            _organisation_by_code(code),
            path.read_bytes(),
            password.encode() if password else None,
            _passphrase(),
            utcnow(),
        )
    except DomainError as exc:
        raise _key_errors(exc) from None
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
    from certification.keys import mark_compromised

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
        raise _key_errors(exc) from None
    session.commit()
    click.echo(f"key {kid} marked compromised since {at.isoformat()}")


def alembic_config(app: Flask | None = None) -> AlembicConfig:
    """Alembic's configuration for this app's database (no alembic.ini needed)."""
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
    with database().engine.connect() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.check(cfg)
    click.echo("Migrations and models agree.")


@rubrics_cli.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def rubrics_check(path: Path) -> None:
    """Validate rubric files without importing them."""
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


@demo_cli.command("load")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
def demo_load(as_json: bool) -> None:
    """Load the demo data (idempotent: run it as often as you like)."""
    from app.services import renderer, storage
    from certification.second_factor import encryption_key

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

    from certification.accounts import find_account
    from certification.demo import DEMO_DOMAIN
    from certification.second_factor import encryption_key, stored_secret

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
    from certification import certificates as C
    from certification.chains import AuditSigner, sign_unsigned_heads
    from certification.demo import DEMO_DOMAIN
    from certification.demo_cases import demo_certificate_cases
    from certification.issuance import issue_one
    from certification.keys import init_keys
    from certification.models import Certificate, CertificateStatus, UserAccount
    from certification.states import CaseStatus

    session = db_session()
    init_keys(session, None, _passphrase(), utcnow())
    # The history written before the audit key existed gets its heads signed, as keys init does.
    sign_unsigned_heads(session, AuditSigner(_passphrase()), utcnow())
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
            C.publish_status_list(session, listed, _passphrase(), issuer().base_url, now)
            session.commit()
        codes["revoked" if revoke else "valid"] = certificate.verification_code
    return codes


@outbox_cli.command("send")
def outbox_send() -> None:
    """Deliver waiting e-mails over SMTP (ATTESTA_SMTP_HOST)."""
    if not current_app.config.get("SMTP_HOST"):
        raise click.ClickException("no SMTP server configured (ATTESTA_SMTP_HOST)")
    sent, failed = deliver_pending(db_session())
    click.echo(f"sent {sent}, failed {failed}")


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
    from certification.chains import verify_history

    checkpoints = []
    for path in files:
        try:
            checkpoints.append((str(path), json.loads(path.read_bytes())))
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{path}: not a readable checkpoint ({exc})") from None
    session = db_session()
    problems = verify_history(session, _passphrase(), checkpoints)
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
    from certification.chains import latest_checkpoint

    return latest_checkpoint(db_session()) is not None


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign today's (UTC) checkpoint of the history, once a day (run it daily); published at
    /audit/checkpoints/<date>.json for outside parties to keep."""
    from certification.chains import AuditSigner, NoAuditKey, create_checkpoint

    session = db_session()
    now = utcnow()
    date = now.date()
    try:
        checkpoint, created = create_checkpoint(session, AuditSigner(_passphrase()), date, now)
    except NoAuditKey:
        raise click.ClickException(
            "no active audit key: run `flask --app wsgi keys init` first"
        ) from None
    except DomainError as exc:
        raise _key_errors(exc) from None
    session.commit()
    body = json.loads(checkpoint.document)
    state = body["chains"]["audit"]
    click.echo(
        f"Checkpoint {date.isoformat()} {'signed' if created else 'already made'}: "
        f"audit chain {state['length']} events, head {state['head'][:16]}, "
        f"{body['cases']['chains']} case chains (root {body['cases']['root'][:16]})."
    )


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
    from certification.assessment import suspend_inactive

    session = db_session()
    suspended = suspend_inactive(session, utcnow(), days)
    session.commit()
    for case in suspended:
        click.echo(f"suspended {case.protocol_number}")
    click.echo(f"{len(suspended)} case(s) suspended.")


@verify_cli.command("purge-results")
def verify_purge_results() -> None:
    """Delete the kept verification results whose 30 days are over (daily)."""
    from certification.verification_results import purge_expired

    session = db_session()
    gone = purge_expired(session, utcnow())
    session.commit()
    click.echo(f"{gone} expired verification result(s) deleted.")


def init_app(app: Flask) -> None:
    from app.backup import backup_cli
    from app.cards.cli import cards_cli
    from app.certificates.cli import certificates_cli
    from app.jobs import jobs_cli

    for group in (
        db_cli,
        rubrics_cli,
        demo_cli,
        outbox_cli,
        audit_cli,
        cases_cli,
        keys_cli,
        verify_cli,
        certificates_cli,
        cards_cli,
        backup_cli,
        jobs_cli,
    ):
        app.cli.add_command(group)
