"""The bare baseline of the verify benchmark: the least a verify-by-code endpoint must do.

One Flask route, ``GET /v/<code>``, reads one row through the SQLAlchemy ORM by its unique code
from a SQLite file and checks the Ed25519 signature stored in the row (cryptography), then
answers a small JSON. No templates, sessions, CSRF, rate limits or i18n: what Attesta adds on top
of these building blocks is what the ratio measures.

    setup(path)                                     # once: the SQLite file with ~1000 rows
    BARE_VERIFY_DB=path gunicorn 'bench.bare_verify_app:create_app()'
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, Response, abort, jsonify
from sqlalchemy import LargeBinary, String, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

ENV_DB = "BARE_VERIFY_DB"


class Base(DeclarativeBase):
    pass


class Record(Base):
    __tablename__ = "record"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    payload: Mapped[str] = mapped_column(Text)  # the signed JSON
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))  # raw Ed25519 key


def setup(path: str | Path, rows: int = 1000) -> list[str]:
    """Create the SQLite file anew with ``rows`` signed records; return their codes."""
    path = Path(path)
    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    codes = [secrets.token_hex(8).upper() for _ in range(rows)]
    with sessionmaker(engine)() as session:
        for code in codes:
            payload = json.dumps(
                {"code": code, "holder": "Maria Rossi", "title": "Bench", "issued": "2026-01-01"}
            )
            session.add(
                Record(
                    code=code,
                    payload=payload,
                    signature=key.sign(payload.encode()),
                    public_key=public,
                )
            )
        session.commit()
    engine.dispose()
    return codes


def create_app(db_path: str | None = None) -> Flask:
    """The bare app on the SQLite file ``db_path`` (default: $BARE_VERIFY_DB)."""
    path = db_path or os.environ[ENV_DB]
    engine = create_engine(f"sqlite:///{path}")
    session = scoped_session(sessionmaker(engine))
    app = Flask(__name__)

    @app.teardown_appcontext
    def _remove(_exc: BaseException | None) -> None:
        session.remove()

    @app.get("/v/<code>")
    def verify(code: str) -> Response:
        record = session.scalar(select(Record).where(Record.code == code))
        if record is None:
            abort(404)
        try:
            Ed25519PublicKey.from_public_bytes(record.public_key).verify(
                record.signature, record.payload.encode()
            )
            valid = True
        except InvalidSignature:
            valid = False
        return jsonify({"code": record.code, "valid": valid, "content": json.loads(record.payload)})

    return app
