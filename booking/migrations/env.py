"""Alembic environment: the booking and alerts schemas, on the database of GRU_DATABASE_URL."""

from alembic import context

from alerts.models import AlertsBase
from booking.models import Base
from core.db import create_engine, database_url

config = context.config
# The alerts tables (alerts/models.py, revision 0008) live in the same database.
target_metadata = [Base.metadata, AlertsBase.metadata]


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    # render_as_batch: SQLite alters tables by copying them; PostgreSQL alters in place.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
