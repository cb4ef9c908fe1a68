"""second factors: authenticator apps (TOTP), recovery codes, back-off; the time the
second factor was verified in each login session

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:50:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('totp_credentials',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('secret_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.Integer(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_accounts.id'], name=op.f('fk_totp_credentials_user_id_user_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_credentials')),
    sa.UniqueConstraint('user_id', name=op.f('uq_totp_credentials_user_id'))
    )
    op.create_table('recovery_codes',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_accounts.id'], name=op.f('fk_recovery_codes_user_id_user_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)
    op.create_table('second_factor_throttles',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_accounts.id'], name=op.f('fk_second_factor_throttles_user_id_user_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_second_factor_throttles'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor_at', certification.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('second_factor_at')
    op.drop_table('second_factor_throttles')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    op.drop_table('totp_credentials')
