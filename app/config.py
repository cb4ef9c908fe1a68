"""The one place that reads configuration: defaults, then ``ATTESTA_*`` variables, then the
instance folder (``attesta.toml``, and the generated ``secret_key`` file), then the overrides
given to ``create_app`` (tests). Nothing reads configuration at import time.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RATELIMIT_REDIS = "redis://127.0.0.1:6379/0"

#: name -> (default, parser). Each can be set as ATTESTA_<NAME> or in instance/attesta.toml.
_SETTINGS: dict[str, tuple[Any, str]] = {
    "ENV": ("production", "choice:production,development,testing"),
    "INSTANCE_PATH": (str(ROOT / "instance"), "str"),
    "DATABASE_URL": (None, "str"),
    #: Seconds a SQLite connection waits for another's write lock before the unit of work is
    #: tried again (keep SQLITE_BUSY_TIMEOUT x DB_ATTEMPTS well under the web server's timeout).
    "SQLITE_BUSY_TIMEOUT": (5, "int"),
    #: Times a request runs when the database is busy (then 503); commands and jobs try 2 more.
    "DB_ATTEMPTS": (3, "int"),
    "SECRET_KEY": (None, "str"),
    "KEY_PASSPHRASE": (None, "str"),
    "BASE_URL": ("http://127.0.0.1:5000", "str"),
    #: An RFC 3161 time-stamping authority for certificate seals (PAdES B-LTA), when set;
    #: else Attesta's demo TSA (made by `keys init` under the root CA) stamps in process.
    "TIMESTAMP_URL": (None, "str"),
    #: With TIMESTAMP_URL: a PEM file of the root certificate(s) that TSA's certificate chains
    #: to (its validation data goes into every seal's DSS).
    "TIMESTAMP_ROOTS": (None, "str"),
    #: Worker processes for bulk issuance (rendering is CPU-bound: one per core).
    "ISSUANCE_WORKERS": (2, "int"),
    #: A Redis URL: bulk issuance runs as jobs there, taken by `flask jobs worker` processes.
    "QUEUE_URL": (None, "str"),
    "QUEUE_NAME": ("attesta", "str"),
    #: Where files live: empty for the instance folder's files/, or s3://bucket/prefix for a
    #: bucket of S3 or an S3-compatible store (credentials: the usual AWS_* variables).
    "STORAGE_URL": (None, "str"),
    #: The S3-compatible store's address (MinIO, Ceph, ...); empty for Amazon S3 itself.
    "S3_ENDPOINT_URL": (None, "str"),
    #: The erasure journal, outside the database: a restore re-applies the erasures in it.
    #: Empty for the instance folder's erasures.jsonl; several machines: a shared path.
    "ERASURE_JOURNAL": (None, "str"),
    "DEFAULT_LOCALE": ("it", "choice:it,en"),
    "SECURE_COOKIES": (None, "bool"),
    "SESSION_LIFETIME_HOURS": (12, "int"),
    "SESSION_IDLE_MINUTES": (60, "int"),
    "PASSWORD_RESET_MAX_AGE_MINUTES": (60, "int"),
    # Roles that must log in with a second factor (comma-separated role names; empty: none)
    "SECOND_FACTOR_ROLES": ("signatory,admin,certificatore", "str"),
    # How long a verified second factor counts for sealing, revoking, tokens (step-up)
    "SECOND_FACTOR_FRESH_MINUTES": (10, "int"),
    #: A wallet offer's transaction code (PIN) is e-mailed to the holder instead of shown next
    #: to its QR code (app/wallet/views.py).
    "WALLET_PIN_BY_EMAIL": (False, "bool"),
    "MAIL_FROM": ("Attesta <noreply@attesta.example>", "str"),
    "SMTP_HOST": (None, "str"),
    "SMTP_PORT": (587, "int"),
    "SMTP_USERNAME": (None, "str"),
    "SMTP_PASSWORD": (None, "str"),
    "SMTP_STARTTLS": (True, "bool"),
    "DEV_OUTBOX": (False, "bool"),
    "RATELIMIT_ENABLED": (True, "bool"),
    #: Where rate limits count: Redis, shared by every process (default: the local Redis when
    #: it answers; memory:// in testing). See app/ratelimits.py.
    "RATELIMIT_STORAGE_URI": (None, "str"),
    #: Allow per-process counting (memory://) with several web processes in production.
    "RATELIMIT_PER_PROCESS": (False, "bool"),
    "TRUSTED_PROXIES": (0, "int"),
    "MAX_UPLOAD_MB": (20, "int"),
    #: Checks of uploaded files (verification, evidence) running at once on this machine, all
    #: web processes together; empty for one per core but one (certification.portfolio.pool).
    "UPLOAD_SLOTS": (None, "int"),
    #: Uploads that may wait for a slot on this machine; empty for twice the slots.
    "UPLOAD_QUEUE": (None, "int"),
    #: How long an upload waits for a slot before it gets 503 with Retry-After.
    "UPLOAD_WAIT_MS": (3000, "int"),
    #: Address space of each checking child process (RLIMIT_AS).
    "UPLOAD_MEMORY_MB": (512, "int"),
    #: `files gc` keeps a file no record names for this long (a request or a job may be about
    #: to commit the row that names it).
    "FILES_GC_WINDOW_HOURS": (24, "int"),
    #: `verification-log prune` counts rows older than this per day, then deletes them.
    "VERIFICATION_LOG_RETENTION_DAYS": (180, "int"),
}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _parse(name: str, raw: Any, kind: str) -> Any:
    if raw is None:
        return None
    if kind == "str":
        return str(raw)
    if kind == "int":
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"ATTESTA_{name} must be a whole number, not {raw!r}") from None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"ATTESTA_{name} must be true or false, not {raw!r}")
    if kind.startswith("choice:"):
        choices = kind.removeprefix("choice:").split(",")
        if str(raw) not in choices:
            raise ConfigError(f"ATTESTA_{name} must be one of {', '.join(choices)}, not {raw!r}")
        return str(raw)
    raise AssertionError(kind)  # pragma: no cover


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Mapping[str, Any]:
    """Build the validated, read-only settings of one app."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values: dict[str, Any] = {name: default for name, (default, _) in _SETTINGS.items()}
    for name, (_, kind) in _SETTINGS.items():
        if f"ATTESTA_{name}" in environ:
            values[name] = _parse(name, environ[f"ATTESTA_{name}"], kind)
    instance = Path(overrides.get("INSTANCE_PATH") or values["INSTANCE_PATH"])
    values["INSTANCE_PATH"] = str(instance)
    toml_file = instance / "attesta.toml"
    if toml_file.is_file():
        try:
            from_file = tomllib.loads(toml_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_file}: {exc}") from None
        for name, raw in from_file.items():
            if name.upper() not in _SETTINGS:
                raise ConfigError(f"{toml_file}: unknown setting {name!r}")
            values[name.upper()] = _parse(name.upper(), raw, _SETTINGS[name.upper()][1])
    for name, raw in overrides.items():
        key = name.upper()
        values[key] = _parse(key, raw, _SETTINGS[key][1]) if key in _SETTINGS else raw

    if values["DATABASE_URL"] is None:
        values["DATABASE_URL"] = f"sqlite:///{instance / 'attesta.sqlite3'}"
    if not values["RATELIMIT_STORAGE_URI"]:
        testing = values["ENV"] == "testing"  # tests never share counters with anything
        values["RATELIMIT_STORAGE_URI"] = "memory://" if testing else DEFAULT_RATELIMIT_REDIS
    if not values["ERASURE_JOURNAL"]:
        values["ERASURE_JOURNAL"] = str(instance / "erasures.jsonl")
    if values["SECURE_COOKIES"] is None:
        values["SECURE_COOKIES"] = values["ENV"] == "production"
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _instance_secret(instance, "secret_key")
    if not values["KEY_PASSPHRASE"]:
        # Kept apart from the database: a stolen database alone does not open the keys.
        values["KEY_PASSPHRASE"] = _instance_secret(instance, "key_passphrase")
    if values["UPLOAD_SLOTS"] is None:
        values["UPLOAD_SLOTS"] = max(1, (os.cpu_count() or 1) - 1)
    if values["UPLOAD_QUEUE"] is None:
        values["UPLOAD_QUEUE"] = 2 * values["UPLOAD_SLOTS"]
    for name, least in (
        ("UPLOAD_SLOTS", 1),
        ("UPLOAD_QUEUE", 0),
        ("UPLOAD_WAIT_MS", 0),
        ("UPLOAD_MEMORY_MB", 64),
        ("FILES_GC_WINDOW_HOURS", 1),
        ("VERIFICATION_LOG_RETENTION_DAYS", 1),
    ):
        if values[name] < least:
            raise ConfigError(f"ATTESTA_{name} must be at least {least}, not {values[name]}")
    if values["TIMESTAMP_URL"] and not (
        values["TIMESTAMP_ROOTS"] and Path(values["TIMESTAMP_ROOTS"]).is_file()
    ):
        raise ConfigError(
            "ATTESTA_TIMESTAMP_URL needs ATTESTA_TIMESTAMP_ROOTS: the PEM file of the root "
            "certificate(s) of that time-stamping authority"
        )
    if values["ENV"] == "production" and values["DEV_OUTBOX"]:
        raise ConfigError("ATTESTA_DEV_OUTBOX shows everyone's e-mail: never in production")
    return MappingProxyType(values)


def _instance_secret(instance: Path, name: str) -> str:
    # Generated once per instance and kept, so sessions and keys survive restarts; several
    # servers sharing one database must set ATTESTA_SECRET_KEY / ATTESTA_KEY_PASSPHRASE.
    # Several processes may start at once on a new instance (the workers of a server, of a
    # parallel test run): the secret is written whole to a file of its own and then linked in
    # place, which only one of them can do; the others read the one that won.
    path = instance / name
    if not path.is_file():
        instance.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=instance, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48))
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text(encoding="utf-8").strip()
