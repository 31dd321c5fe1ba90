"""Callback requests get the pseudonym of their conversation (handoff/privacy.py), so that
« oubliez mes données » finds them; the purge erases their contact after `callbacks_days`.

Revision ID: 0014_callback_privacy
Revises: 0013_analytics (statistics tables)
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_callback_privacy"
down_revision = "0013_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("conversation", sa.String(16), nullable=True))
        batch.create_index("ix_callback_requests_conversation", ["conversation"])


def downgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_index("ix_callback_requests_conversation")
        batch.drop_column("conversation")
