"""The bare baselines of the download and upload benchmarks, in one tiny Flask app.

- ``GET /certificate.pdf``: the certificate's bytes from a file with ``send_file`` (a download:
  attachment, no caching) — a static-file route, no login, no database;
- ``POST /verify`` (multipart ``file``): pyHanko validating the uploaded PDF's seal and the
  PAdES B-LTA document time-stamps after it (as Attesta seals: a ``/Sig`` then ``/DocTimeStamp``
  updates) against the root certificate (parsed once), and the file's sha256 looked up in a
  SQLite table through the SQLAlchemy ORM; a small JSON answer, whose ``coverage`` is that of the
  last signature (the one that must cover the entire file).

No sessions, CSRF, rate limits, templates or i18n. Folder layout (made by :func:`setup`):
``certificate.pdf``, ``root.pem``, ``bare.sqlite3``.

    setup(folder, pdf, root_pem)
    BARE_FILES_DIR=folder gunicorn 'bench.bare_files_app:create_app()'
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from pathlib import Path

from asn1crypto import pem, x509
from flask import Flask, Response, abort, jsonify, request, send_file
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

ENV_DIR = "BARE_FILES_DIR"
PDF_NAME = "certificate.pdf"


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(40))


def setup(folder: Path, pdf: bytes, root_pem: str, rows: int = 1000) -> None:
    """Write the PDF, the root certificate and a SQLite table of ``rows`` documents (the PDF's
    hash among them)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PDF_NAME).write_bytes(pdf)
    (folder / "root.pem").write_text(root_pem)
    database = folder / "bare.sqlite3"
    database.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{database}")
    Base.metadata.create_all(engine)
    hashes = [hashlib.sha256(secrets.token_bytes(16)).hexdigest() for _ in range(rows - 1)]
    hashes.insert(rows // 2, hashlib.sha256(pdf).hexdigest())
    with sessionmaker(engine)() as session:
        session.add_all(Document(sha256=h, number=f"BARE-{i:06d}") for i, h in enumerate(hashes))
        session.commit()
    engine.dispose()


def _root(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def create_app(folder: str | None = None) -> Flask:
    """The bare app on ``folder`` (default: $BARE_FILES_DIR)."""
    root_dir = Path(folder or os.environ[ENV_DIR])
    pdf_path = root_dir / PDF_NAME
    root = _root(root_dir / "root.pem")
    engine = create_engine(f"sqlite:///{root_dir / 'bare.sqlite3'}")
    session = scoped_session(sessionmaker(engine))
    app = Flask(__name__)

    @app.teardown_appcontext
    def _remove(_exc: BaseException | None) -> None:
        session.remove()

    @app.get("/")
    def index() -> str:
        return "bare"

    @app.get(f"/{PDF_NAME}")
    def download() -> Response:
        return send_file(
            pdf_path,
            mimetype="application/pdf",
            as_attachment=True,
            download_name=PDF_NAME,
            max_age=0,
        )

    @app.post("/verify")
    def verify() -> Response:
        upload = request.files.get("file")
        if upload is None:
            abort(422)
        data = upload.read()
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        signatures = reader.embedded_signatures
        kinds = [str(signature.sig_object_type) for signature in signatures]
        if not kinds or kinds[0] != "/Sig" or any(k != "/DocTimeStamp" for k in kinds[1:]):
            return jsonify({"valid": False, "reason": "signature_count"})
        # The seal (with its signature time-stamp), then each document time-stamp: the
        # pyHanko calls any B-LTA verifier makes.
        status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[root]))
        stamps = [
            validate_pdf_timestamp(stamp, ValidationContext(trust_roots=[root]))
            for stamp in signatures[1:]
        ]
        last = stamps[-1] if stamps else status
        found = session.scalar(
            select(Document).where(Document.sha256 == hashlib.sha256(data).hexdigest())
        )
        return jsonify(
            {
                "intact": status.intact and all(s.intact for s in stamps),
                "valid": status.valid and all(s.valid for s in stamps),
                "trusted": status.trusted and all(s.trusted for s in stamps),
                "coverage": last.coverage.name if last.coverage else None,
                "signatures": len(signatures),
                "number": found.number if found else None,
            }
        )

    return app
