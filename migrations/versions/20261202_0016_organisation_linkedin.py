"""an organisation's LinkedIn company id (add-to-profile links name the issuer by it)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 21:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linkedin_organization_id', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('linkedin_organization_id')
