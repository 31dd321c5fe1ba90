"""Failed second-factor attempts kept on the server (booking/attempts.py): the count holds
across conversations, sender ids and restarts of the conversation; a success refunds nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from booking import attempts
from booking.models import FailedAttempt
from core.db import session_scope

T0 = datetime(2026, 11, 30, 8, 0)  # UTC


@pytest.fixture
def url(db_url) -> str:
    return db_url


def fail(url, keys, minutes: float = 0) -> attempts.Standing:
    return attempts.record_failure(keys, now=T0 + timedelta(minutes=minutes), url=url)


def test_keys_hide_the_reference_and_the_sender():
    keys = attempts.keys_for("tracking", "DEM-2026-004217", "rest", "alice")
    assert len(keys) == 2 and all(len(k) == 64 for k in keys)
    assert not any("004217" in k or "alice" in k for k in keys)
    assert attempts.keys_for("tracking", " dem-2026-004217 ", "rest", "bob")[0] == keys[0]
    assert attempts.keys_for("appointment", "DEM-2026-004217", "rest", "alice")[0] != keys[0]
    with pytest.raises(ValueError):
        attempts.keys_for("other", "x", "rest", "alice")


@pytest.mark.parametrize(
    "failures, minutes", [(1, None), (2, None), (3, 15), (4, 30), (5, 60), (9, 960), (10, 1440), (40, 1440)]
)
def test_the_lock_doubles_from_15_minutes_up_to_a_day(failures, minutes):
    lock = attempts.lock_for(failures)
    assert (lock and lock.total_seconds() / 60) == minutes


def test_the_third_failure_locks_for_15_minutes_then_the_next_one_for_30(url):
    keys = attempts.keys_for("tracking", "DEM-2026-004217", "rest", "alice")
    assert fail(url, keys) == attempts.Standing(failures=1, locked=False)
    assert fail(url, keys, 1) == attempts.Standing(failures=2, locked=False)
    assert fail(url, keys, 2).locked
    assert attempts.is_locked(keys, now=T0 + timedelta(minutes=16), url=url)
    assert not attempts.is_locked(keys, now=T0 + timedelta(minutes=17, seconds=1), url=url)
    assert fail(url, keys, 20).locked  # one more failure after the lock: locked again, longer
    assert attempts.is_locked(keys, now=T0 + timedelta(minutes=49), url=url)
    assert not attempts.is_locked(keys, now=T0 + timedelta(minutes=51), url=url)


def test_new_sender_ids_do_not_give_new_tries_on_one_reference(url):
    for n in range(3):  # a script: a new conversation for every try
        standing = fail(url, attempts.keys_for("appointment", "RDV-ABCDEF", "rest", f"script-{n}"), n)
    assert standing.locked
    fresh = attempts.keys_for("appointment", "RDV-ABCDEF", "socketio", "script-99")
    assert attempts.is_locked(fresh, now=T0 + timedelta(minutes=5), url=url)
    other = attempts.keys_for("appointment", "RDV-GHJKLM", "rest", "someone-else")
    assert not attempts.is_locked(other, now=T0 + timedelta(minutes=5), url=url)


def test_one_conversation_cannot_try_many_references(url):
    for n in range(3):
        standing = fail(url, attempts.keys_for("tracking", f"DEM-2026-00000{n}", "rest", "alice"), n)
    assert standing.locked
    assert attempts.is_locked(attempts.keys_for("tracking", "DEM-2026-999999", "rest", "alice"), now=T0,
                              url=url)  # fmt: skip


def test_a_day_without_failure_forgets_the_key_and_its_row(url):
    keys = attempts.keys_for("tracking", "DEM-2026-004217", "rest", "alice")
    for n in range(3):
        fail(url, keys, n)
    later = 24 * 60 + 3
    assert fail(url, keys, later) == attempts.Standing(failures=1, locked=False)
    with session_scope(url) as session:
        assert session.execute(select(FailedAttempt.failures)).scalars().all() == [1, 1]
    fail(url, attempts.keys_for("tracking", "SUB-2026-0042", "rest", "bob"), 2 * later)
    with session_scope(url) as session:  # the old rows are deleted as new failures come in
        assert len(session.execute(select(FailedAttempt)).all()) == 2


def test_the_table_holds_no_reference_and_no_sender_id(url):
    fail(url, attempts.keys_for("tracking", "DEM-2026-004217", "facebook", "1234567890"))
    with session_scope(url) as session:
        stored = " ".join(
            str(v) for row in session.execute(select(FailedAttempt.__table__)).all() for v in row
        )
    assert "004217" not in stored and "1234567890" not in stored
