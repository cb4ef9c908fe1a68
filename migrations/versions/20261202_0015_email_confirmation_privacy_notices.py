"""e-mail confirmation, versioned privacy notices, the notice each consent was given under

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 21:00:00

Existing accounts are marked confirmed (``email_confirmed_at`` = their creation time): they
were made before addresses were confirmed, and their holders have used them since. Existing
consents keep ``privacy_notice_id`` NULL: no versioned notice was shown when they were given.
"""

import sqlalchemy as sa
from alembic import op

import certification.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_notices',
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('published_at', certification.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_privacy_notices_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_accounts.id'], name=op.f('fk_privacy_notices_published_by_id_user_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notices')),
    sa.UniqueConstraint('scope', 'version', name=op.f('uq_privacy_notices_scope'))
    )
    with op.batch_alter_table('privacy_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_notices_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('user_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', certification.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE user_accounts SET email_confirmed_at = created_at")

    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_notice_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_consents_privacy_notice_id'), ['privacy_notice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_consents_privacy_notice_id_privacy_notices'), 'privacy_notices', ['privacy_notice_id'], ['id'], ondelete='RESTRICT')


def downgrade() -> None:
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_consents_privacy_notice_id_privacy_notices'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_consents_privacy_notice_id'))
        batch_op.drop_column('privacy_notice_id')

    with op.batch_alter_table('user_accounts', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')

    with op.batch_alter_table('privacy_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_notices_organisation_id'))
    op.drop_table('privacy_notices')
