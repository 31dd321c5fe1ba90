"""The production settings, rendered from environment variables, against the real
PostgreSQL and Redis on 127.0.0.1 (started by .ci/run when they are not running)."""

import os
import uuid

import pytest
import redis
from sqlalchemy import text

from core.db import create_engine, session_scope
from ops import render

pytestmark = pytest.mark.integration

PG_HOST = os.environ.get("GRU_TEST_PG_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("GRU_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory):
    env = {
        "GRU_TRACKER_STORE_URL": f"postgresql://postgres@{PG_HOST}:5432/gru_tracker_test?login_db=postgres",
        "GRU_LOCK_STORE_URL": REDIS_URL,
        "GRU_ACTION_SECRET": "a-test-secret-of-32-characters!!",
    }
    return render.write(tmp_path_factory.mktemp("run"), env)["endpoints"]


async def test_postgresql_tracker_store_round_trip(endpoints):
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    domain = Domain.load("domain")
    store = TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"), domain)
    assert type(store).__name__ == "RedactingSQLTrackerStore"  # Rasa's SQL store, masking welfare details
    assert store.engine.dialect.name == "postgresql"
    sender = f"test-{uuid.uuid4()}"
    tracker = DialogueStateTracker.from_events(
        sender,
        [ActionExecuted("action_listen"), UserUttered("Bonjour", {"name": "greet", "confidence": 1.0})],
    )
    await store.save(tracker)
    restored = await store.retrieve(sender)
    assert restored is not None
    assert restored.latest_message.text == "Bonjour"
    assert restored.latest_message.intent["name"] == "greet"


async def test_redis_lock_store_holds_the_conversation_lock(endpoints):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import read_endpoint_config

    store = LockStore.create(read_endpoint_config(str(endpoints), "lock_store"))
    assert type(store).__name__ == "RedisLockStore"
    client = redis.Redis.from_url(REDIS_URL)
    conversation = f"test-{uuid.uuid4()}"
    async with store.lock(conversation):
        assert client.exists(f"gru:lock:{conversation}") or client.keys(f"*{conversation}*")
    assert not client.keys(f"*{conversation}*")


def test_application_database_on_postgresql():
    url = f"postgresql://postgres@{PG_HOST}:5432/postgres"
    engine = create_engine(url)
    assert engine.pool.size() == 5
    with session_scope(url) as session:
        assert session.execute(text("select 1")).scalar_one() == 1
    table = f"rollback_check_{uuid.uuid4().hex[:12]}"
    with session_scope(url, write=True) as session:
        session.execute(text(f"create table {table} (x int)"))
    try:
        with pytest.raises(RuntimeError), session_scope(url, write=True) as session:
            session.execute(text(f"insert into {table} values (1)"))
            session.flush()
            raise RuntimeError("rolled back")
        # The failed transaction left no row behind.
        with session_scope(url) as session:
            assert session.execute(text(f"select count(*) from {table}")).scalar_one() == 0
    finally:
        with session_scope(url, write=True) as session:
            session.execute(text(f"drop table {table}"))


def test_application_database_sqlite_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", f"sqlite:///{tmp_path / 'sub' / 'gru.db'}")
    with session_scope() as session:
        assert session.execute(text("pragma journal_mode")).scalar_one() == "wal"
    assert (tmp_path / "sub" / "gru.db").exists()
