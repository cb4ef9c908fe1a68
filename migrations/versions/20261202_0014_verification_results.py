"""verification results kept for 30 days

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verification_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=True),
    sa.Column('checked_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('dimensions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_verification_results_certificate_id_certificates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_results'))
    )
    with op.batch_alter_table('verification_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_results_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('verification_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_results_expires_at'))
    op.drop_table('verification_results')
