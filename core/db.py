"""The application database (bookings and other back-office data of the assistant).

SQLite file by default, PostgreSQL in production through GRU_DATABASE_URL. One
engine (connection pool) per process, one short session per request: callers use
`with session_scope() as session:` and never keep a session across requests.
SQLAlchemy 1.4 with the 2.0-style API (future=True).

Errors do not carry the statement's values (hide_parameters=True: an IntegrityError
would otherwise quote a surname, a pre-application number, a sender id into the logs),
and the SQLite file is created readable by its owner only (0600, its folder 0700).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine import create_engine as _create_engine
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'gru.db'}"
# Constraint names of every table of the application database (booking, alerts): stable
# names that migrations can refer to.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def database_url() -> str:
    return os.environ.get("GRU_DATABASE_URL") or DEFAULT_DATABASE_URL


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file (and missing folders) for its owner only; tighten an existing one.

    SQLite gives its -wal and -shm files the database file's permissions.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & 0o077:
            try:
                path.chmod(mode & 0o700)
            except PermissionError:  # someone else's file: leave it to its owner
                pass


def create_engine(url: str | None = None) -> Engine:
    """An engine with settings fit for the database kind (pool, timeouts, SQLite pragmas)."""
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = _create_engine(
            url,
            future=True,
            hide_parameters=True,
            connect_args={"timeout": 15, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # The driver's own transaction handling is off: SQLAlchemy emits BEGIN
            # (below), so savepoints work and write transactions can take the lock first.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A write transaction starts with BEGIN IMMEDIATE: it waits for the write
            # lock (busy_timeout) instead of failing when a read turns into a write.
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
    return _create_engine(
        url,
        future=True,
        hide_parameters=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """The process-wide engine (one connection pool) for a database URL."""
    return create_engine(url)


@lru_cache(maxsize=8)
def _session_factory(url: str, write: bool) -> sessionmaker:
    engine = engine_for(url)
    if write:
        engine = engine.execution_options(sqlite_immediate=True)
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None, write: bool = False) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on any error.

    `write=True` for transactions that insert or update: on SQLite they take the
    write lock at BEGIN, so concurrent writers queue instead of failing.
    """
    session = _session_factory(url or database_url(), write)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
