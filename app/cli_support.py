"""What several command groups share: the key passphrase, the CRL's address, an organisation by
its code, and key errors in words (the groups are listed in ``app/cli.py``)."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from app.db import db_session
from certification.errors import DomainError
from certification.keys.management import CRL_PATH
from certification.models import Organisation


def key_passphrase() -> bytes:
    return str(current_app.config["KEY_PASSPHRASE"]).encode()


def crl_url() -> str:
    """Where the root CA's CRL is published (app/keys/views.py), named in new seal and
    time-stamping certificates (their CRL distribution point)."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + CRL_PATH


def organisation_by_code(code: str) -> Organisation:
    found = db_session().scalar(select(Organisation).where(Organisation.code == code))
    if found is None:
        raise click.ClickException(f"no organisation with code {code!r}")
    return found


def key_errors(exc: DomainError) -> click.ClickException:
    messages = {
        "key_passphrase_wrong": "the key passphrase (ATTESTA_KEY_PASSPHRASE or "
        "instance/key_passphrase) does not open the stored keys; nothing was changed",
        "no_active_key": "no active key: run `flask --app wsgi keys init` first",
        "invalid_input": "; ".join(
            f"{k}: {', '.join(v)}" for k, v in getattr(exc, "errors", {}).items()
        ),
    }
    return click.ClickException(messages.get(exc.code, exc.detail))
