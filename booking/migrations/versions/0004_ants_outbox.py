"""ANTS outbox: declarations and withdrawals kept until ANTS has them (booking/ants_sync.py).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ants_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("reference", sa.String(10), nullable=False),
        sa.Column("application_id", sa.String(10), nullable=False),
        sa.Column("meeting_point_id", sa.String(64), nullable=False),
        sa.Column("meeting_point", sa.String(200), nullable=False),
        sa.Column("appointment_date", sa.DateTime(), nullable=False),
        sa.Column("management_url", sa.String(300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error_kind", sa.String(30), nullable=True),
        sa.Column("raised_flag", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "operation IN ('declare', 'withdraw')", name=op.f("ck_ants_outbox_operation_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ants_outbox")),
    )
    with op.batch_alter_table("ants_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_ants_outbox_due", ["done_at", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_ants_outbox_reference", ["reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ants_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_ants_outbox_reference")
        batch_op.drop_index("ix_ants_outbox_due")
    op.drop_table("ants_outbox")
