"""Appointments held in an external agenda (Publik Chrono, booking/chrono.py): their booking ids.

Revision ID: 0011_chrono
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_chrono"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_bookings",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(20), nullable=False),
        sa.Column("agenda", sa.String(100), nullable=False),
        sa.Column("booking_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_external_bookings_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_external_bookings"),
        sa.UniqueConstraint("backend", "booking_id", name="uq_external_bookings_booking"),
    )


def downgrade() -> None:
    op.drop_table("external_bookings")
