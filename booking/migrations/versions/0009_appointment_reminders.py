"""Appointment reminders (booking/reminders.py): the reminders table and the opt-out of an appointment.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("reminders_stopped_at", sa.DateTime(), nullable=True))
    op.create_table(
        "appointment_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("hours_before", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error_kind", sa.String(30), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'messenger')", name="ck_appointment_reminders_channel_known"
        ),
        sa.CheckConstraint(
            "status IN ('sending', 'retry', 'sent', 'failed')", name="ck_appointment_reminders_status_known"
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_appointment_reminders_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_appointment_reminders"),
        sa.UniqueConstraint(
            "appointment_id", "start", "channel", "hours_before", name="uq_appointment_reminders_key"
        ),
    )
    op.create_index("ix_appointment_reminders_appointment_id", "appointment_reminders", ["appointment_id"])
    op.create_index("ix_appointment_reminders_due", "appointment_reminders", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_appointment_reminders_due", table_name="appointment_reminders")
    op.drop_index("ix_appointment_reminders_appointment_id", table_name="appointment_reminders")
    op.drop_table("appointment_reminders")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("reminders_stopped_at")
