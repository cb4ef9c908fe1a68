"""certificate_evidence: the salts of the evidence commitments of certificates (issue 17)

Existing certificates keep their content (evidence_format 1, plain sha256) and get no rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:50:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_evidence',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('evidence_id', sa.Uuid(), nullable=True),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_evidence_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], name=op.f('fk_certificate_evidence_evidence_id_evidence'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('certificate_id', 'position', name=op.f('pk_certificate_evidence'))
    )
    with op.batch_alter_table('certificate_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_evidence_evidence_id'), ['evidence_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('certificate_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_evidence_evidence_id'))

    op.drop_table('certificate_evidence')
