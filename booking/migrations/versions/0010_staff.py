"""Agents (staff/models.py) and the hand-off queue and callback requests (handoff/models.py).

Revision ID: 0010
Revises: 0008 (the integrator re-chains it after 0009)
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("services", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'statistiques', 'admin')", name="ck_staff_agents_role_known"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_agents"),
        sa.UniqueConstraint("login", name="uq_staff_agents_login"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["staff_agents.id"],
            name="fk_staff_sessions_agent_id_staff_agents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
    )
    op.create_index("ix_staff_sessions_agent_id", "staff_sessions", ["agent_id"])
    op.create_table(
        "staff_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_login_failures"),
    )
    op.create_index("ix_staff_login_failures_key", "staff_login_failures", ["key"])
    op.create_table(
        "handoff_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("topic", sa.String(60), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("close_reason", sa.String(40), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'taken', 'closed')", name="ck_handoff_requests_status_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_requests"),
    )
    op.create_index("ix_handoff_requests_status_service", "handoff_requests", ["status", "service"])
    op.create_index("ix_handoff_requests_conversation_id", "handoff_requests", ["conversation_id"])
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("topic", sa.String(60), nullable=True),
        sa.Column("contact_kind", sa.String(10), nullable=False),
        sa.Column("contact", sa.String(320), nullable=False),
        sa.Column("moment", sa.String(200), nullable=False),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "contact_kind IN ('phone', 'email')", name="ck_callback_requests_contact_kind_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_callback_requests"),
        sa.UniqueConstraint("reference", name="uq_callback_requests_reference"),
    )


def downgrade() -> None:
    op.drop_table("callback_requests")
    op.drop_index("ix_handoff_requests_conversation_id", table_name="handoff_requests")
    op.drop_index("ix_handoff_requests_status_service", table_name="handoff_requests")
    op.drop_table("handoff_requests")
    op.drop_index("ix_staff_login_failures_key", table_name="staff_login_failures")
    op.drop_table("staff_login_failures")
    op.drop_index("ix_staff_sessions_agent_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_agents")
