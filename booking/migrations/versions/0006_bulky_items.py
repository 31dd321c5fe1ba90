"""Bulky-waste items kept with the pick-up (shown to the agents with the address).

Revision ID: 0006
Revises: 0005 (to be chained after 0005 when both are merged)
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("items", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("items")
