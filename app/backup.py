"""``flask --app wsgi backup create|restore``: one consistent copy of the database (with the
keys, which are rows of it), the stored files and, when asked, the instance's secrets.

The archive is a plain tar (members are read by name, so it must seek; compress it apart
if you like) with, by name:

- ``manifest.json``: format, time, database kind, migration revision, counts, and the sha256
  of every other member (checked on restore);
- ``database.sqlite3`` (SQLite's online backup API: a consistent snapshot while the app runs)
  or ``database.pgdump`` (``pg_dump --format=custom``: one consistent snapshot);
- ``files/<sha256>``: every file the database records (evidence, issued PDFs and credentials,
  card photos);
- ``secrets/secret_key`` and ``secrets/key_passphrase``, only with ``--with-secrets``: the keys
  are encrypted with the passphrase, so by default a stolen backup alone does not open them.

A restore re-applies every erasure made after the backup: erasures are journalled outside the
database (app/erasures.py), read before the database is replaced, and erased again after.

Why it is consistent: the database is copied first, then the files. Files are named by their
hash, written before the commit that records them and never changed, so every file the snapshot
records is already there when the files are copied. Erasure deletes files; one erased between
the two steps is reported as missing, and the backup fails rather than be silently incomplete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from app.db import database
from app.erasures import journal_path
from app.services import storage
from certification.audit.chains import SIGNER, AuditSigner, verify_all_chains
from certification.clock import utcnow
from certification.keys.material import KeyPassphraseWrong, check_passphrase
from certification.models import Certificate, CertificateStatus, ErasureRecord, StoredFile
from certification.people.erasure import read_journal, reapply
from certification.storage.blobs import BlobStorage

if TYPE_CHECKING:
    import tarfile

FORMAT = "attesta-backup/1"
SECRETS = ("secret_key", "key_passphrase")
_DB_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}

backup_cli = AppGroup("backup", help="Back up and restore the database, keys and files.")


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; the message says why and what to do."""


def _engine() -> Engine:
    return database(current_app).engine


def _dialect(url: URL) -> str:
    if url.get_backend_name() not in _DB_MEMBER:
        raise BackupError(f"unsupported database {url.get_backend_name()!r}")
    return url.get_backend_name()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, the password passed in the
    environment (never on a command line other users can read)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], **kwargs: Any) -> None:
    try:
        # Fixed programs (pg_dump, pg_restore), our own arguments, no shell.
        subprocess.run(command, env=env, check=True, capture_output=True, **kwargs)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(f"{command[0]} failed: {message[-1] if message else exc}") from None


def _snapshot_database(engine: Engine, into: Path) -> str:
    """Copy the database to ``into`` (a consistent snapshot); the archive member name."""
    dialect = _dialect(engine.url)
    if dialect == "sqlite":
        raw = engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            with sqlite3.connect(into) as target:
                source.backup(target)
            target.close()
        finally:
            raw.close()
    else:
        dsn, env = _libpq(engine.url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(into), dsn], env)
    return _DB_MEMBER[dialect]


def _recorded_files(snapshot: Path, dialect: str, engine: Engine) -> list[str]:
    """The hashes of the files the snapshot records (for PostgreSQL, read after the dump: a
    superset, since files are only added or erased)."""
    if dialect == "sqlite":
        with sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT sha256 FROM stored_files ORDER BY sha256").fetchall()
        conn.close()
        return [row[0] for row in rows]
    with Session(engine) as session:
        return list(session.scalars(select(StoredFile.sha256).order_by(StoredFile.sha256)))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _add(archive: tarfile.TarFile, name: str, data: bytes, digests: dict[str, str]) -> None:
    import tarfile  # loaded by the backup commands, not by every start (issue 20)

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))
    digests[name] = hashlib.sha256(data).hexdigest()


def create_backup(path: Path, *, with_secrets: bool) -> dict[str, Any]:
    """Write the archive to ``path`` (atomically: a temporary file renamed at the end)."""
    import tarfile  # loaded by the backup commands, not by every start (issue 20)

    engine = _engine()
    files: BlobStorage = storage()
    dialect = _dialect(engine.url)
    revision = _revision(engine)
    if revision is None:
        raise BackupError("the database is empty (never migrated): there is nothing to back up")
    path.parent.mkdir(parents=True, exist_ok=True)
    digests: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as work:
        snapshot = Path(work) / "db"
        member = _snapshot_database(engine, snapshot)
        hashes = _recorded_files(snapshot, dialect, engine)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
                _add(archive, member, snapshot.read_bytes(), digests)
                missing = []
                for sha256 in hashes:
                    try:
                        _add(archive, f"files/{sha256}", files.get(sha256), digests)
                    except KeyError:
                        missing.append(sha256)
                if missing:
                    raise BackupError(
                        f"{len(missing)} recorded file(s) are missing from storage "
                        f"(first: {missing[0]}); run the backup again"
                    )
                if with_secrets:
                    for name in SECRETS:
                        _add(archive, f"secrets/{name}", _secret(name).encode(), digests)
                manifest = {
                    "format": FORMAT,
                    "created_at": utcnow().isoformat(),
                    "database": dialect,
                    "revision": revision,
                    "files": len(hashes),
                    "with_secrets": with_secrets,
                    "sha256": digests,
                }
                _add(archive, "manifest.json", json.dumps(manifest, indent=2).encode(), {})
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return manifest


def _secret(name: str) -> str:
    return str(current_app.config["SECRET_KEY" if name == "secret_key" else "KEY_PASSPHRASE"])


# --- restore ----------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    """What a restore brought back and what it checked."""

    manifest: dict[str, Any]
    files: int = 0
    certificates: int = 0
    chains_broken: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passphrase: str | None = None
    #: Erasures made after the backup (from the journal), erased again after the restore.
    erasures: int = 0
    erased_objects: int = 0
    erased_files: int = 0


@contextmanager
def _open_archive(path: Path) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    import tarfile  # loaded by the backup commands, not by every start (issue 20)

    try:
        archive = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path}: not a readable backup ({exc})") from None
    with archive:
        manifest = json.loads(_read(archive, "manifest.json", None))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}")
        yield archive, manifest


def _read(archive: tarfile.TarFile, name: str, sha256: str | None) -> bytes:
    """One member by its exact name (nothing is extracted by the names the archive gives),
    checked against the manifest's hash."""
    try:
        member = archive.getmember(name)
        handle: IO[bytes] | None = archive.extractfile(member) if member.isfile() else None
    except KeyError:
        handle = None
    if handle is None:
        raise BackupError(f"the backup has no {name}")
    data = handle.read()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise BackupError(f"the backup is damaged: {name} does not match its hash")
    return data


def _require_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
    if tables:
        raise BackupError(
            "the target database is not empty: restore into a new instance "
            f"(a new ATTESTA_INSTANCE_PATH or ATTESTA_DATABASE_URL); it has {len(tables)} tables"
        )


def _restore_database(engine: Engine, dialect: str, data: bytes) -> None:
    if dialect == "sqlite":
        target = engine.url.database
        if not target or target == ":memory:":
            raise BackupError("restore needs a database file (ATTESTA_DATABASE_URL)")
        engine.dispose()
        with tempfile.TemporaryDirectory() as work:
            copy = Path(work) / "db"
            copy.write_bytes(data)
            with sqlite3.connect(copy) as conn:
                if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                    raise BackupError("the backed-up SQLite database fails its integrity check")
            conn.close()
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(copy, target)
        return
    dsn, env = _libpq(engine.url)
    with tempfile.NamedTemporaryFile(suffix=".pgdump") as dump:
        dump.write(data)
        dump.flush()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                dsn,
                dump.name,
            ],
            env,
        )


def _restore_secrets(archive: tarfile.TarFile, report: RestoreReport) -> None:
    manifest = report.manifest
    instance = Path(current_app.config["INSTANCE_PATH"])
    for name in SECRETS:
        if f"secrets/{name}" not in manifest["sha256"]:
            continue
        if os.environ.get(f"ATTESTA_{name.upper()}"):
            report.warnings.append(f"ATTESTA_{name.upper()} is set: the saved {name} was not used")
            continue
        data = _read(archive, f"secrets/{name}", manifest["sha256"][f"secrets/{name}"])
        target = instance / name
        target.unlink(missing_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if name == "key_passphrase":
            report.passphrase = data.decode()


def _journalled_erasures(journals: Sequence[Path]) -> list[ErasureRecord]:
    entries: list[ErasureRecord] = []
    for journal in (journal_path(), *journals):
        try:
            entries += read_journal(journal)
        except (OSError, ValueError) as exc:
            raise BackupError(f"cannot read the erasure journal {journal}: {exc}") from None
    return entries


def restore_backup(path: Path, journals: Sequence[Path] = ()) -> RestoreReport:
    """Restore an archive into this instance, whose database must be empty; re-apply the
    erasures journalled since the backup (this instance's journal and ``journals``); then check
    it."""
    engine = _engine()
    dialect = _dialect(engine.url)
    # Read before anything is replaced: what was erased after the backup lives outside it.
    erasures = _journalled_erasures(journals)
    with _open_archive(path) as (archive, manifest):
        if manifest["database"] != dialect:
            raise BackupError(
                f"the backup is of a {manifest['database']} database; this instance uses {dialect}"
            )
        _require_empty(engine)
        digests: dict[str, str] = manifest["sha256"]
        # Files first: a restore cut short leaves an empty database, which can be retried.
        files = storage()
        report = RestoreReport(manifest)
        for name, sha256 in digests.items():
            if name.startswith("files/"):
                if name != f"files/{sha256}":
                    raise BackupError(f"the backup is damaged: {name} is not named by its hash")
                files.put(_read(archive, name, sha256))
                report.files += 1
        _restore_secrets(archive, report)
        member = _DB_MEMBER[dialect]
        _restore_database(engine, dialect, _read(archive, member, digests[member]))
    _reapply_erasures(engine, report, erasures)
    _check_restored(engine, report)
    return report


def _reapply_erasures(engine: Engine, report: RestoreReport, erasures: list[ErasureRecord]) -> None:
    """Erase again what the restored database still holds of the journalled erasures."""
    passphrase = (report.passphrase or str(current_app.config["KEY_PASSPHRASE"])).encode()
    with Session(engine, expire_on_commit=False) as session:
        try:
            check_passphrase(session, passphrase)
            session.info[SIGNER] = AuditSigner(passphrase)
        except KeyPassphraseWrong:
            pass  # said by the checks below; the history's new heads stay unsigned till then
        done = reapply(session, erasures, utcnow())
        session.commit()
    files = storage()
    for sha256 in done.orphaned_files:
        files.delete(sha256)
    report.erasures = done.requests
    report.erased_objects = done.objects
    report.erased_files = len(done.orphaned_files)


def _check_restored(engine: Engine, report: RestoreReport) -> None:
    """Every public certificate has its PDF and credential with matching hashes, every case's
    history chain holds, and the keys open with this instance's passphrase."""
    files = storage()
    passphrase = (report.passphrase or str(current_app.config["KEY_PASSPHRASE"])).encode()
    with Session(engine) as session:
        revision = _revision(engine)
        if revision != report.manifest["revision"]:
            report.problems.append(f"migration revision {revision} differs from the backup's")
        public = session.scalars(
            select(Certificate).where(Certificate.status != CertificateStatus.PENDING)
        ).all()
        for certificate in public:
            if certificate.status == CertificateStatus.ABANDONED:
                continue
            report.certificates += 1
            for sha256 in (certificate.pdf_sha256, certificate.credential_sha256):
                if (
                    sha256 is None
                    or not files.exists(sha256)
                    or (hashlib.sha256(files.get(sha256)).hexdigest() != sha256)
                ):
                    report.problems.append(f"certificate {certificate.number}: file {sha256}")
        report.chains_broken = [
            f"case {b.case_id}: transition #{b.sequence} ({b.reason})"
            for b in verify_all_chains(session)
        ]
        recorded = session.scalar(select(func.count()).select_from(StoredFile)) or 0
        if recorded != report.manifest["files"] - report.erased_files:
            report.problems.append(
                f"{recorded} files recorded, {report.manifest['files']} saved"
                f" and {report.erased_files} erased again"
            )
        try:
            check_passphrase(session, passphrase)
        except KeyPassphraseWrong:
            report.warnings.append(
                "the keys do not open with this instance's passphrase: set "
                "ATTESTA_KEY_PASSPHRASE (or restore a backup made --with-secrets) before issuing"
            )


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--with-secrets",
    is_flag=True,
    help="Also save the session secret and the key passphrase (keep such a backup apart).",
)
def backup_create(path: Path, with_secrets: bool) -> None:
    """Write a consistent backup of the database, keys and files to PATH (a .tar)."""
    started = utcnow()
    manifest = create_backup(path, with_secrets=with_secrets)
    seconds = (utcnow() - started) / dt.timedelta(seconds=1)
    click.echo(
        f"Backup written to {path}: {manifest['database']} database at revision "
        f"{manifest['revision']}, {manifest['files']} files"
        f"{', with secrets' if with_secrets else ''} ({seconds:.1f} s)."
    )
    if not with_secrets:
        click.echo("The key passphrase is not in it: keep it safe apart, the keys need it.")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--erasures",
    "journals",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another erasure journal to re-apply (the old instance's erasures.jsonl); this "
    "instance's own (ATTESTA_ERASURE_JOURNAL) is always read.",
)
def backup_restore(path: Path, journals: tuple[Path, ...]) -> None:
    """Restore PATH into this instance (its database must be empty), re-apply the erasures
    made after the backup, then check it."""
    report = restore_backup(path, journals)
    click.echo(
        f"Restored {report.manifest['database']} database of {report.manifest['created_at']} "
        f"(revision {report.manifest['revision']}), {report.files} files."
    )
    click.echo(
        f"Re-applied {report.erasures} erasure(s) made after the backup "
        f"({report.erased_objects} objects, {report.erased_files} files erased again)."
    )
    click.echo(f"{report.certificates} certificates checked: their PDF and credential match.")
    for line in report.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in report.chains_broken:
        click.echo(f"broken history: {line}", err=True)
    for line in report.problems:
        click.echo(f"problem: {line}", err=True)
    if report.chains_broken or report.problems:
        raise click.exceptions.Exit(1)
    click.echo("Every case history verifies.")
