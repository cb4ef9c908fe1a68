"""wallet issuance (OpenID4VCI): credential offers with pre-authorized codes, key-proof nonces,
and the wallets that took a certificate (issue 23)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_offers',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('pin_sha256', sa.String(length=64), nullable=False),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redeemed_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dead_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('token_sha256', sa.String(length=64), nullable=True),
    sa.Column('token_expires_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_wallet_offers_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_accounts.id'], name=op.f('fk_wallet_offers_created_by_id_user_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_offers')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_wallet_offers_code_sha256')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_wallet_offers_token_sha256'))
    )
    with op.batch_alter_table('wallet_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_offers_certificate_id'), ['certificate_id'], unique=False)
    op.create_table('wallet_nonces',
    sa.Column('nonce_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', certification.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('nonce_sha256', name=op.f('pk_wallet_nonces'))
    )
    with op.batch_alter_table('wallet_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_nonces_expires_at'), ['expires_at'], unique=False)
    op.create_table('wallet_issuances',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('wallet', sa.String(length=200), nullable=True),
    sa.Column('key_thumbprint', sa.String(length=64), nullable=False),
    sa.Column('signing_kid', sa.String(length=64), nullable=False),
    sa.Column('issued_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_wallet_issuances_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['wallet_offers.id'], name=op.f('fk_wallet_issuances_offer_id_wallet_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_issuances')),
    sa.UniqueConstraint('offer_id', name=op.f('uq_wallet_issuances_offer_id'))
    )
    with op.batch_alter_table('wallet_issuances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_issuances_certificate_id'), ['certificate_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wallet_issuances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_issuances_certificate_id'))
    op.drop_table('wallet_issuances')
    with op.batch_alter_table('wallet_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_nonces_expires_at'))
    op.drop_table('wallet_nonces')
    with op.batch_alter_table('wallet_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_offers_certificate_id'))
    op.drop_table('wallet_offers')
