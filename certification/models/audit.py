"""The audit log of security-relevant actions (domain.md §6.5 AuditEvent), the signed heads of
the tamper-evident chains, the daily signed checkpoints and the erasure ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certification.db import ModelBase, UUIDPrimaryKey


class AuditEvent(UUIDPrimaryKey, ModelBase):
    """One action: who, what, on which entity, when, with a small JSON of details.

    Events form one global hash chain (``sequence``, ``prev_hash``, ``hash``), filled in when
    the transaction commits (:mod:`certification.audit.chains`); ``None`` only before that.
    """

    __tablename__ = "audit_events"

    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_accounts.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sequence: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class ChainHead(ModelBase):
    """The signed head of one chain: ``audit`` (every audit event) or ``case:<id>`` (one case's
    transitions). Updated, and signed with the audit key, by every transaction that appends."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(60), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime | None]
    kid: Mapped[str | None] = mapped_column(String(64))
    #: Ed25519 over :func:`certification.audit.chains.head_message`, hex.
    signature: Mapped[str | None] = mapped_column(String(128))


class AuditCheckpoint(ModelBase):
    """A day's signed checkpoint, kept as the exact JSON published at
    ``/audit/checkpoints/<day>.json``."""

    __tablename__ = "audit_checkpoints"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime]
    document: Mapped[str] = mapped_column(Text)


class ErasureRecord(UUIDPrimaryKey, ModelBase):
    """One object a person had erased: what and when, never the erased data. Kept outside the
    erased rows (no foreign key), so that a restore can erase it again (app/backup.py)."""

    __tablename__ = "erasure_ledger"

    #: Groups the objects of one erasure request.
    request_id: Mapped[uuid.UUID] = mapped_column(index=True)
    position: Mapped[int] = mapped_column(Integer)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    erased_at: Mapped[dt.datetime]
    erased_by_user_id: Mapped[uuid.UUID | None]
