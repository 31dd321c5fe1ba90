"""Second booking service (bulky-waste pick-ups): sites.service, appointments.address.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_REASONS = "reason IN ('CNI', 'PASSPORT', 'CNI-PASSPORT')"
NEW_REASONS = "reason IN ('CNI', 'PASSPORT', 'CNI-PASSPORT', 'ENCOMBRANTS')"


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("service", sa.String(30), nullable=False, server_default="identity"))
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("address", sa.String(300), nullable=True))
        batch.drop_constraint(op.f("ck_appointments_reason_known"), type_="check")
        batch.create_check_constraint("reason_known", NEW_REASONS)


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.drop_constraint(op.f("ck_appointments_reason_known"), type_="check")
        batch.create_check_constraint("reason_known", OLD_REASONS)
        batch.drop_column("address")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("service")
