"""case queue indexes: the staff's work queue and list of cases at 10^5 cases (issue 18)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:00:00
"""

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certification_cases', schema=None) as batch_op:
        batch_op.create_index('ix_certification_cases_ente_status', ['ente_titolato_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_certification_cases_assigned_operator_id'), ['assigned_operator_id'], unique=False)
    with op.batch_alter_table('panel_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_members_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('panel_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_members_person_id'))
    with op.batch_alter_table('certification_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certification_cases_assigned_operator_id'))
        batch_op.drop_index('ix_certification_cases_ente_status')
