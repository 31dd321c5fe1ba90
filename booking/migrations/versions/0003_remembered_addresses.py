"""Addresses remembered across sessions with the citizen's consent (waste collection days).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remembered_addresses",
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("street", sa.String(200), nullable=False),
        sa.Column("housenumber", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(64), nullable=False),
        sa.Column("consented_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "sender_id", name=op.f("pk_remembered_addresses")),
    )


def downgrade() -> None:
    op.drop_table("remembered_addresses")
