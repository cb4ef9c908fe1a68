"""nothing grows with time: verification counts per day (the log's retention keeps them), bulk
progress as one row per item (was one JSON list rewritten per item), the log indexed by time,
card documents rendered once per card version

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""

import uuid

import sqlalchemy as sa
from alembic import op

import certification.db


revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

_ITEM_KEYS = ("case_id", "status", "certificate_id", "number", "verification_code", "error")


def upgrade() -> None:
    op.create_table(
        "verification_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("qr", "web", "api", name="verificationchannel", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_verification_counts_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_counts")),
    )
    with op.batch_alter_table("verification_counts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_counts_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(
            "ix_verification_counts_key",
            ["day", "certificate_id", "channel", "method", "verdict"],
            unique=False,
        )
    with op.batch_alter_table("verification_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_logs_at"), ["at"], unique=False)

    items = op.create_table(
        "bulk_issuance_items",
        sa.Column("bulk_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("certificate_id", sa.String(length=36), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("verification_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulk_id"],
            ["bulk_issuances.id"],
            name=op.f("fk_bulk_issuance_items_bulk_id_bulk_issuances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bulk_id", "position", name=op.f("pk_bulk_issuance_items")),
    )
    with op.batch_alter_table("bulk_issuance_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bulk_issuance_items_bulk_id_status", ["bulk_id", "status"], unique=False
        )

    op.create_table(
        "card_documents",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("png_sha256", sa.String(length=64), nullable=True),
        sa.Column("rendered_at", certification.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["talent_cards.id"],
            name=op.f("fk_card_documents_card_id_talent_cards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("card_id", "locale", name=op.f("pk_card_documents")),
    )

    # Each request's JSON list becomes its rows, in order.
    bulks = sa.table("bulk_issuances", sa.column("id", sa.Uuid()), sa.column("items", sa.JSON()))
    connection = op.get_bind()
    for bulk_id, listed in connection.execute(sa.select(bulks.c.id, bulks.c["items"])).all():
        rows = [
            {"bulk_id": bulk_id, "position": position, **{k: item.get(k) for k in _ITEM_KEYS}}
            for position, item in enumerate(listed or [])
        ]
        if rows:
            connection.execute(items.insert(), rows)
    with op.batch_alter_table("bulk_issuances", schema=None) as batch_op:
        batch_op.drop_column("items")


def downgrade() -> None:
    with op.batch_alter_table("bulk_issuances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("items", sa.JSON(), nullable=True))
    bulks = sa.table("bulk_issuances", sa.column("id", sa.Uuid()), sa.column("items", sa.JSON()))
    items = sa.table(
        "bulk_issuance_items",
        sa.column("bulk_id", sa.Uuid()),
        *(sa.column(k) for k in ("position", *_ITEM_KEYS)),
    )
    connection = op.get_bind()
    listed: dict[uuid.UUID, list[dict[str, str]]] = {}
    for row in connection.execute(
        sa.select(items).order_by(items.c.bulk_id, items.c.position)
    ).mappings():
        listed.setdefault(row["bulk_id"], []).append(
            {k: row[k] for k in _ITEM_KEYS if row[k] is not None}
        )
    for bulk_id in connection.execute(sa.select(bulks.c.id)).scalars().all():
        connection.execute(
            bulks.update().where(bulks.c.id == bulk_id).values(items=listed.get(bulk_id, []))
        )
    with op.batch_alter_table("bulk_issuances", schema=None) as batch_op:
        batch_op.alter_column("items", existing_type=sa.JSON(), nullable=False)

    op.drop_table("card_documents")
    with op.batch_alter_table("bulk_issuance_items", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_issuance_items_bulk_id_status")
    op.drop_table("bulk_issuance_items")
    with op.batch_alter_table("verification_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_logs_at"))
    with op.batch_alter_table("verification_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_counts_key")
        batch_op.drop_index(batch_op.f("ix_verification_counts_certificate_id"))
    op.drop_table("verification_counts")
