"""passkeys (WebAuthn credentials) as a second factor, and the server-side challenges of their
ceremonies (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:45:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('passkey_credentials',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.LargeBinary(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('transports', sa.JSON(), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_accounts.id'], name=op.f('fk_passkey_credentials_user_id_user_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_credentials')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_passkey_credentials_credential_id'))
    )
    with op.batch_alter_table('passkey_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_credentials_user_id'), ['user_id'], unique=False)
    op.create_table('passkey_challenges',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('challenge', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_accounts.id'], name=op.f('fk_passkey_challenges_user_id_user_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_challenges'))
    )
    with op.batch_alter_table('passkey_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_challenges_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('passkey_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_challenges_user_id'))
    op.drop_table('passkey_challenges')
    with op.batch_alter_table('passkey_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_credentials_user_id'))
    op.drop_table('passkey_credentials')
