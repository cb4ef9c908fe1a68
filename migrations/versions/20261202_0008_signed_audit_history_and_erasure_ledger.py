"""Signed audit history (chained audit events, signed chain heads, daily checkpoints) and the
erasure ledger.

Existing audit events are chained in the order they happened; every existing chain gets an
unsigned head, which ``keys init`` signs once the audit key exists.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:45:00
"""

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _hash(prev: str, record: dict) -> str:
    # Frozen copy of certification.chains.link_hash / event_record (a migration never changes).
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode() + b"\n" + body.encode()).hexdigest()


def _utc(value: dt.datetime) -> str:
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    return value.astimezone(dt.UTC).isoformat()


def upgrade() -> None:
    op.create_table('audit_chain_heads',
    sa.Column('chain', sa.String(length=60), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('kid', sa.String(length=64), nullable=True),
    sa.Column('signature', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chain_heads'))
    )
    op.create_table('audit_checkpoints',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_audit_checkpoints'))
    )
    op.create_table('erasure_ledger',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('erased_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('erased_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_ledger'))
    )
    with op.batch_alter_table('erasure_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_ledger_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_sequence'), ['sequence'])

    bind = op.get_bind()
    events = sa.table(
        'audit_events',
        sa.column('id', sa.Uuid()),
        sa.column('at', sa.DateTime()),
        sa.column('actor_user_id', sa.Uuid()),
        sa.column('action', sa.String()),
        sa.column('entity_type', sa.String()),
        sa.column('entity_id', sa.String()),
        sa.column('organisation_id', sa.Uuid()),
        sa.column('details', sa.JSON()),
        sa.column('sequence', sa.Integer()),
        sa.column('prev_hash', sa.String()),
        sa.column('hash', sa.String()),
    )
    heads = sa.table(
        'audit_chain_heads',
        sa.column('chain', sa.String()),
        sa.column('length', sa.Integer()),
        sa.column('head_hash', sa.String()),
    )
    prev, sequence = GENESIS, 0
    rows = bind.execute(
        sa.select(events).order_by(events.c.at, events.c.id)
    ).mappings().all()
    for row in rows:
        sequence += 1
        record = {
            "sequence": sequence,
            "at": _utc(row["at"]),
            "actor": str(row["actor_user_id"]) if row["actor_user_id"] else None,
            "action": row["action"],
            "entity_type": row["entity_type"],
            "entity_id": row["entity_id"],
            "organisation": str(row["organisation_id"]) if row["organisation_id"] else None,
            "details": json.loads(json.dumps(row["details"] or {})),
        }
        digest = _hash(prev, record)
        bind.execute(
            events.update()
            .where(events.c.id == row["id"])
            .values(sequence=sequence, prev_hash=prev, hash=digest)
        )
        prev = digest
    bind.execute(heads.insert().values(chain="audit", length=sequence, head_hash=prev))
    transitions = sa.table(
        'case_transitions',
        sa.column('case_id', sa.Uuid()),
        sa.column('sequence', sa.Integer()),
        sa.column('hash', sa.String()),
    )
    last = (
        sa.select(transitions.c.case_id, sa.func.max(transitions.c.sequence).label('n'))
        .group_by(transitions.c.case_id)
        .subquery()
    )
    for case_id, length, digest in bind.execute(
        sa.select(last.c.case_id, last.c.n, transitions.c.hash).join(
            transitions,
            sa.and_(transitions.c.case_id == last.c.case_id, transitions.c.sequence == last.c.n),
        )
    ):
        bind.execute(heads.insert().values(chain=f"case:{case_id}", length=length, head_hash=digest))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_sequence'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('sequence')

    with op.batch_alter_table('erasure_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_ledger_request_id'))

    op.drop_table('erasure_ledger')
    op.drop_table('audit_checkpoints')
    op.drop_table('audit_chain_heads')
