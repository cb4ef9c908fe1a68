"""wallet presentations (OpenID4VP): employers' short-lived presentation requests (issue 23)

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-03 13:00:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_presentation_requests',
    sa.Column('page_sha256', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_presentation_requests')),
    sa.UniqueConstraint('page_sha256', name=op.f('uq_wallet_presentation_requests_page_sha256'))
    )
    with op.batch_alter_table('wallet_presentation_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_presentation_requests_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wallet_presentation_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_presentation_requests_expires_at'))
    op.drop_table('wallet_presentation_requests')
