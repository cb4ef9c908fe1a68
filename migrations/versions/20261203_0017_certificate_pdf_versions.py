"""the digests of a certificate's earlier sealed PDFs (a document time-stamp renewal replaces
the stored file; a holder's earlier download still verifies by upload)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'certificate_pdf_versions',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('certificate_id', sa.Uuid(), nullable=False),
        sa.Column('replaced_at', certification.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['certificate_id'],
            ['certificates.id'],
            name=op.f('fk_certificate_pdf_versions_certificate_id_certificates'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_certificate_pdf_versions')),
    )
    with op.batch_alter_table('certificate_pdf_versions', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_certificate_pdf_versions_certificate_id'),
            ['certificate_id'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('certificate_pdf_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_pdf_versions_certificate_id'))
    op.drop_table('certificate_pdf_versions')
