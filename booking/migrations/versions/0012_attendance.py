"""Attendance of appointments marked by agents on the agenda pages (handoff/agenda.py): when and
by which agent an appointment was marked present (« honoured ») or absent (« no_show »).

Revision ID: 0012_attendance
Revises: 0011_chrono
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_attendance"
down_revision = "0011_chrono"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("attendance_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("attendance_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("attendance_by")
        batch.drop_column("attendance_at")
