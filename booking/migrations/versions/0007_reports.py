"""Signalements (reports) and the photos citizens send (uploads).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(15), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("place_kind", sa.String(10), nullable=False),
        sa.Column("place", sa.String(300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("photo_id", sa.String(32), nullable=True),
        sa.Column("contact_email", sa.String(200), nullable=True),
        sa.Column("contact_phone", sa.String(30), nullable=True),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reporters", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("forward_status", sa.String(10), nullable=False),
        sa.Column("forward_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("forward_error", sa.String(30), nullable=True),
        sa.Column("backoffice_id", sa.String(64), nullable=True),
        sa.Column("backoffice_url", sa.String(300), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'in_progress', 'closed')", name=op.f("ck_reports_status_known")
        ),
        sa.CheckConstraint(
            "place_kind IN ('address', 'location', 'described')", name=op.f("ck_reports_place_kind_known")
        ),
        sa.CheckConstraint(
            "forward_status IN ('none', 'pending', 'sent', 'given_up')",
            name=op.f("ck_reports_forward_status_known"),
        ),
        sa.CheckConstraint("reporters >= 1", name=op.f("ck_reports_reporters_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("reference", name=op.f("uq_reports_reference")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_category_created", ["category", "created_at"], unique=False)
        batch_op.create_index("ix_reports_forward_due", ["forward_status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_reports_sender", ["channel", "sender_id"], unique=False)
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(30), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("report_reference", sa.String(15), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index("ix_uploads_sender", ["channel", "sender_id"], unique=False)
        batch_op.create_index("ix_uploads_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_uploads_created")
        batch_op.drop_index("ix_uploads_sender")
    op.drop_table("uploads")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_sender")
        batch_op.drop_index("ix_reports_forward_due")
        batch_op.drop_index("ix_reports_category_created")
    op.drop_table("reports")
