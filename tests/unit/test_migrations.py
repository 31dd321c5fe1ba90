"""Alembic migrations: they build exactly the schema of booking/models.py, and upgrading
an existing database keeps its appointments (SQLite copies tables to alter them)."""

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from alerts.models import AlertsBase
from analytics.models import AnalyticsBase
from booking.models import Base
from booking.seed import migrate
from core.db import engine_for
from handoff.models import HandoffBase
from staff.models import StaffBase


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    with engine_for(url).connect() as connection:
        everything = MetaData()  # the booking tables and the alerts tables (revision 0008)
        # + agents and hand-offs (0010), statistics (0011)
        bases = (Base, AlertsBase, StaffBase, HandoffBase, AnalyticsBase)
        for table in [t for base in bases for t in base.metadata.tables.values()]:
            table.to_metadata(everything)
        assert compare_metadata(MigrationContext.configure(connection), everything) == []


def test_upgrading_keeps_appointments_and_their_claims(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    migrate(url, revision="0001")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO sites VALUES "
            "('s', 'Mairie', '1 place', '45990', 'Villebrune', 1, 1, 2, NULL, NULL, NULL, 1)"
        )
        conn.execute(
            "INSERT INTO appointments (id, reference, site_id, station, start, duration_minutes, reason, "
            "people, documents, application_ids, surname, channel, sender_id, status, needs_agent_check, "
            "created_at, updated_at) VALUES (1, 'RDV-AAAAAA', 's', 1, '2030-01-01 09:00:00', 15, "
            "'CNI', 1, 1, "
            "'', 'X', 'rest', 'u', 'booked', 0, '2030-01-01', '2030-01-01')"
        )
        conn.execute("INSERT INTO slot_claims VALUES ('s', 1, '2030-01-01 09:00:00', 1)")
    migrate(url)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM slot_claims").fetchone() == (1,)
        assert conn.execute("SELECT service FROM sites").fetchone() == ("identity",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with engine_for(url).connect() as connection:  # the pooled connection has foreign keys back on
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_failed_attempts_table_comes_with_0005(tmp_path):
    path = tmp_path / "a.db"
    url = f"sqlite:///{path}"
    migrate(url, revision="0004")
    tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'failed_attempts'"
    with sqlite3.connect(path) as conn:
        assert conn.execute(tables).fetchall() == []
    migrate(url)
    with sqlite3.connect(path) as conn:
        assert conn.execute(tables).fetchall() == [("failed_attempts",)]
        columns = [row[1] for row in conn.execute("PRAGMA table_info(failed_attempts)")]
        assert columns == ["key", "failures", "last_failure_at", "locked_until"]


def test_0014_keeps_the_callback_requests_and_adds_their_conversation_pseudonym(tmp_path):
    path = tmp_path / "c.db"
    url = f"sqlite:///{path}"
    migrate(url, revision="0013_analytics")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO callback_requests (id, reference, service, topic, contact_kind, contact, moment, "
            "consent_at, created_at) VALUES (1, 'RAP-2026-000001', 'ccas', NULL, 'phone', '06 12 34 56 78', "
            "'lundi', '2026-01-01', '2026-01-01')"
        )
    migrate(url)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT reference, contact, conversation FROM callback_requests").fetchall() == [
            ("RAP-2026-000001", "06 12 34 56 78", None)
        ]
        indexes = [row[1] for row in conn.execute("PRAGMA index_list(callback_requests)")]
        assert "ix_callback_requests_conversation" in indexes
