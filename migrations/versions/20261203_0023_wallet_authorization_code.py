"""wallet authorization code flow with PKCE: an offer may be an authorization code grant
(code challenge, redirect_uri, client_id; no PIN) (issue 23)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 15:30:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wallet_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_challenge', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('redirect_uri', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('client_id', sa.String(length=200), nullable=True))
        batch_op.alter_column('pin_sha256', existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # Authorization code grants have no PIN: an empty digest, which no PIN's digest equals
    # (the rows stay, so do the issuances that name them).
    op.execute("UPDATE wallet_offers SET pin_sha256 = '' WHERE pin_sha256 IS NULL")
    with op.batch_alter_table('wallet_offers', schema=None) as batch_op:
        batch_op.alter_column('pin_sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('client_id')
        batch_op.drop_column('redirect_uri')
        batch_op.drop_column('code_challenge')
