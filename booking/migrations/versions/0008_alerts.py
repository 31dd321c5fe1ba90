"""Crisis alerts: subscriptions (with consent), alerts and their deliveries (alerts/models.py).

Revision ID: 0008
Revises: 0006 (the lead re-chains it after 0007 at merge)
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("topics", sa.String(300), nullable=False),
        sa.Column("sector", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("consent_version", sa.String(40), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("token", sa.String(500), nullable=True),
        sa.Column("token_frequency", sa.String(20), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'active')", name="ck_alert_subscriptions_status_known"),
        sa.CheckConstraint(
            "channel IN ('messenger', 'email', 'sms', 'web')", name="ck_alert_subscriptions_channel_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_subscriptions"),
        sa.UniqueConstraint("channel", "address", name="uq_alert_subscriptions_channel_address"),
    )
    op.create_index("ix_alert_subscriptions_origin", "alert_subscriptions", ["origin"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("sectors", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(500), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('preview', 'confirmed')", name="ck_alerts_status_known"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_deliveries_alert_id_alerts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["alert_subscriptions.id"],
            name="fk_alert_deliveries_subscription_id_alert_subscriptions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
        sa.UniqueConstraint("alert_id", "subscription_id", name="uq_alert_deliveries_alert_subscription"),
    )
    op.create_index("ix_alert_deliveries_subscription_id", "alert_deliveries", ["subscription_id"])
    op.create_index("ix_alert_deliveries_alert_status", "alert_deliveries", ["alert_id", "status"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
    op.drop_index("ix_alert_subscriptions_origin", table_name="alert_subscriptions")
    op.drop_table("alert_subscriptions")
