"""Statistics tables (analytics/models.py), filled from the conversation store by
`python -m analytics.ingest`.

Revision ID: 0013_analytics
Revises: 0012_attendance (attendance of appointments)
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_analytics"
down_revision = "0012_attendance"
branch_labels = None
depends_on = None


def _session_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["session_id"],
        ["analytics_sessions.id"],
        name=f"fk_{table}_session_id_analytics_sessions",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "analytics_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(16), nullable=False),
        sa.Column("source_event_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("fallbacks", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(40), nullable=True),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.Column("satisfaction_topic", sa.String(40), nullable=True),
        sa.Column("satisfaction", sa.String(3), nullable=True),
        sa.CheckConstraint("satisfaction IN ('yes', 'no')", name="ck_analytics_sessions_satisfaction_known"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_sessions"),
        sa.UniqueConstraint("conversation", "source_event_id", name="uq_analytics_sessions_source"),
    )
    op.create_index("ix_analytics_sessions_day", "analytics_sessions", ["day"])
    op.create_table(
        "analytics_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        _session_fk("analytics_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_messages"),
    )
    op.create_index("ix_analytics_messages_day", "analytics_messages", ["day"])
    op.create_index("ix_analytics_messages_session_id", "analytics_messages", ["session_id"])
    op.create_table(
        "analytics_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(60), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("question", sa.String(60), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('completed', 'stopped', 'handoff', 'failed', 'switched', 'blocked', "
            "'abandoned', 'open')",
            name="ck_analytics_forms_outcome_known",
        ),
        _session_fk("analytics_forms"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_forms"),
    )
    op.create_index("ix_analytics_forms_day", "analytics_forms", ["day"])
    op.create_index("ix_analytics_forms_session_id", "analytics_forms", ["session_id"])
    op.create_table(
        "analytics_unanswered",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("intent", sa.String(100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('fallback', 'unhelpful', 'comment')", name="ck_analytics_unanswered_kind_known"
        ),
        _session_fk("analytics_unanswered"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_unanswered"),
    )
    op.create_index("ix_analytics_unanswered_day", "analytics_unanswered", ["day"])
    op.create_index("ix_analytics_unanswered_session_id", "analytics_unanswered", ["session_id"])
    op.create_table(
        "analytics_state",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_analytics_state"),
    )


def downgrade() -> None:
    op.drop_table("analytics_state")
    for table in ("analytics_unanswered", "analytics_forms", "analytics_messages"):
        op.drop_index(f"ix_{table}_session_id", table_name=table)
        op.drop_index(f"ix_{table}_day", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_analytics_sessions_day", table_name="analytics_sessions")
    op.drop_table("analytics_sessions")
