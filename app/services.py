"""Per-process services the views use: file storage, the document renderer, the issuer, the
talent-card renderer and the bounded pool that checks uploads."""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app.config import ROOT, ConfigError
from app.db import database, db_session
from app.verification_log import VerificationRecorder
from certification.cards.documents import card_qr_svg, stored_card_document
from certification.certificates.hashing import CredentialHasher
from certification.certificates.issuance import Issuer, RendererPaths
from certification.clock import utcnow
from certification.models import CardDocument, Certificate, TalentCard
from certification.portfolio.pool import MachineSlots, PoolSettings, UploadPool
from certification.portfolio.sandbox import Sandbox
from certification.rendering import DocumentRenderer
from certification.storage.blobs import BlobStorage, FileSystemStorage, S3Storage

_lock = threading.Lock()
#: The process's checking children, by (children, memory): shared by the apps of a process.
_sandboxes: dict[tuple[int, int], Sandbox] = {}


def init_app(app: Flask) -> None:
    app.extensions["attesta.storage"] = _storage(app)


def _storage(app: Flask) -> BlobStorage:
    url = app.config["STORAGE_URL"]
    if not url:
        return FileSystemStorage(Path(app.config["INSTANCE_PATH"]) / "files")
    parts = urlsplit(url)
    if parts.scheme == "s3" and parts.netloc:
        import boto3  # only where a bucket is configured

        client = boto3.client("s3", endpoint_url=app.config["S3_ENDPOINT_URL"] or None)
        return S3Storage(client, parts.netloc, parts.path)
    raise ConfigError(f"ATTESTA_STORAGE_URL must be s3://bucket[/prefix], not {url!r}")


def storage() -> BlobStorage:
    return cast(BlobStorage, current_app.extensions["attesta.storage"])


def renderer_paths() -> RendererPaths:
    return RendererPaths(
        ROOT / "templates" / "documents", ROOT / "static", ROOT / "app" / "translations"
    )


def _tell_holder(app: Flask, session: Session, certificate: Certificate) -> None:
    """Enqueue "your certificate is ready" in the transaction that issues it, however it is
    issued (a request, a bulk run, a recovery): rendered in a request of its own, anonymous,
    whose links point at the configured BASE_URL."""
    from app.mail import send_template

    account = certificate.case.candidate.account
    if account is not None:
        with app.test_request_context(base_url=app.config["BASE_URL"]):
            send_template(session, account, "certificate_issued", certificate=certificate)


def timestamp_roots(app: Flask | None = None) -> tuple[str, ...]:
    """The root certificates (PEM) of the TSA at ATTESTA_TIMESTAMP_URL, from the file that
    ATTESTA_TIMESTAMP_ROOTS names (none without one)."""
    path = (app or current_app).config.get("TIMESTAMP_ROOTS")
    if not path:
        return ()
    text = Path(str(path)).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----"
    return tuple(part.strip() + "\n" + end + "\n" for part in text.split(end) if part.strip())


def issuer(app: Flask | None = None) -> Issuer:
    """What issuing certificates needs, set up once per process (keys parsed once per ente)."""
    app = app or current_app
    with _lock:
        found = app.extensions.get("attesta.issuer")
    if found is None:
        if app.config["ENV"] == "production" and not app.config.get("TIMESTAMP_URL"):
            app.logger.warning(
                "ATTESTA_TIMESTAMP_URL is not set: seals are time-stamped by Attesta's own "
                "DEMO timestamping authority, which only those who trust Attesta's root "
                "accept; set a qualified TSA's address (and ATTESTA_TIMESTAMP_ROOTS)"
            )
        found = Issuer(
            # Looked up on each use: tests rebind the factory to their transaction.
            session_factory=lambda: database(app).session(),
            storage=cast(BlobStorage, app.extensions["attesta.storage"]),
            renderer=renderer(app),
            passphrase=str(app.config["KEY_PASSPHRASE"]).encode(),
            base_url=str(app.config["BASE_URL"]).rstrip("/"),
            clock=utcnow,
            renderer_paths=renderer_paths(),
            timestamp_url=app.config.get("TIMESTAMP_URL"),
            timestamp_roots=timestamp_roots(app),
            hasher=_hasher(app),
            on_issued=lambda session, certificate: _tell_holder(app, session, certificate),
            db_attempts=int(app.config["DB_ATTEMPTS"]) + 2,
        )
        with _lock:
            app.extensions["attesta.issuer"] = found
    return cast(Issuer, found)


def _hasher(app: Flask) -> CredentialHasher | None:
    # A helper process for credential hashes pays off in a web process on more than one core;
    # not in a command (it ends before the helper is up) nor a test (one per test app).
    if app.config["ENV"] == "testing" or (os.cpu_count() or 1) < 2:
        return None
    return CredentialHasher(wanted=lambda: click.get_current_context(silent=True) is None)


def renderer(app: Flask | None = None) -> DocumentRenderer:
    """The process's renderer, created on first use (fonts and CSS load once, then are shared)."""
    app = app or current_app
    with _lock:
        found = app.extensions.get("attesta.renderer")
        if found is None:
            found = renderer_paths().renderer()
            app.extensions["attesta.renderer"] = found
        return cast(DocumentRenderer, found)


def card_document(card: TalentCard, locale: str, *, png: bool = False) -> CardDocument:
    """A talent card's stored PDF (and PNG when ``png``) in ``locale``: rendered and stored
    once per version of the card, then served as stored."""
    return stored_card_document(
        db_session(),
        card,
        renderer(),
        storage(),
        str(current_app.config["KEY_PASSPHRASE"]).encode(),
        str(current_app.config["BASE_URL"]).rstrip("/"),
        locale,
        utcnow(),
        png=png,
    )


def card_qr(card: TalentCard) -> bytes:
    """A talent card's signed QR code alone, as SVG, for the holder's phone."""
    return card_qr_svg(
        db_session(),
        card,
        str(current_app.config["KEY_PASSPHRASE"]).encode(),
        str(current_app.config["BASE_URL"]).rstrip("/"),
    )


def upload_pool(app: Flask | None = None) -> UploadPool:
    """Where uploaded files are checked: at most UPLOAD_SLOTS at once on this machine (slots
    in the instance folder, shared by every web process), each in a warm, limited child
    process of this process, started on first use and stopped at exit."""
    app = app or current_app
    with _lock:
        found = app.extensions.get("attesta.upload_pool")
        if found is None:
            config = app.config
            slots = int(config["UPLOAD_SLOTS"])
            key = (slots, int(config["UPLOAD_MEMORY_MB"]) * 2**20)
            sandbox = _sandboxes.get(key)
            if sandbox is None:
                sandbox = _sandboxes[key] = Sandbox(children=slots, memory_bytes=key[1])
                atexit.register(sandbox.close)
            settings = PoolSettings(
                slots=slots,
                queue=int(config["UPLOAD_QUEUE"]),
                wait=int(config["UPLOAD_WAIT_MS"]) / 1000,
            )
            found = UploadPool(
                MachineSlots(Path(config["INSTANCE_PATH"]) / "upload-slots", settings), sandbox
            )
            app.extensions["attesta.upload_pool"] = found
        return cast(UploadPool, found)


def verification_recorder(app: Flask | None = None) -> VerificationRecorder:
    """The app's batched verification log (written at once when testing)."""
    # The real app, not the proxy: the writer thread has no application context.
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        found = app.extensions.get("attesta.verification_recorder")
        if found is None:
            found = VerificationRecorder(
                lambda: database(app).session(), background=not app.config["TESTING"]
            )
            app.extensions["attesta.verification_recorder"] = found
        return cast(VerificationRecorder, found)
