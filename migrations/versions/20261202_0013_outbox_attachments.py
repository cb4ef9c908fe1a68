"""outbox_attachments: files sent with an outbox message as MIME parts, e.g. a convocation's
.ics (issue 18)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:05:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_attachments',
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id'], name=op.f('fk_outbox_attachments_message_id_outbox_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attachments'))
    )
    with op.batch_alter_table('outbox_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_attachments_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_attachments_message_id'))
    op.drop_table('outbox_attachments')
