"""No slot is ever given twice: 50 simultaneous bookings of one slot, on SQLite and on
the PostgreSQL at 127.0.0.1 (started by .ci/run when it is not running; `db_url` in
conftest.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking import engine
from booking.models import Appointment, SlotClaim
from core.db import session_scope

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 30, 8, 0)  # a Monday morning
SLOT_DAY = date(2026, 12, 1)  # Tuesday: villebrune-mairie open, 2 stations
ATTEMPTS = 50


def _fire(url: str, slot: engine.Slot, reason: str, people: int) -> list[object]:
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(i: int):
        barrier.wait()
        try:
            return engine.book(
                slot,
                reason=reason,
                people=people,
                surname=f"Nom{i}",
                channel="rest",
                sender_id=f"citizen-{i}",
                now=NOW,
                url=url,
            )
        except engine.BookingError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        return list(pool.map(attempt, range(ATTEMPTS)))


def _assert_no_double_holding(url: str) -> None:
    """Every live appointment holds exactly its steps, and no step is held twice."""
    with session_scope(url) as session:
        claims = session.execute(select(func.count()).select_from(SlotClaim)).scalar_one()
        distinct = session.execute(
            select(func.count()).select_from(
                select(SlotClaim.site_id, SlotClaim.station, SlotClaim.slot_start).distinct().subquery()
            )
        ).scalar_one()
        steps = session.execute(
            select(func.coalesce(func.sum(Appointment.duration_minutes / 15), 0)).where(
                Appointment.status == "booked"
            )
        ).scalar_one()
    assert claims == distinct == steps


def test_fifty_concurrent_bookings_get_exactly_the_capacity(db_url):
    slot = engine.Slot(
        "villebrune-mairie", datetime.combine(SLOT_DAY, datetime.min.time()).replace(hour=10), 15
    )
    results = _fire(db_url, slot, "CNI", 1)
    booked = [r for r in results if isinstance(r, engine.AppointmentView)]
    refused = [r for r in results if not isinstance(r, engine.AppointmentView)]
    assert len(booked) == 2  # the site's two biometric stations
    assert sorted(a.reference for a in booked) == sorted({a.reference for a in booked})
    assert all(isinstance(r, engine.SlotTaken) for r in refused), {type(r).__name__ for r in refused}
    assert len(refused) == ATTEMPTS - 2
    _assert_no_double_holding(db_url)
    # The slot no longer appears; the next one still does.
    free = engine.available_slots(["villebrune-mairie"], SLOT_DAY, SLOT_DAY, 15, now=NOW, url=db_url)
    assert slot.start not in [s.start for s in free]
    assert slot.start + timedelta(minutes=15) in [s.start for s in free]


def test_concurrent_longer_bookings_never_overlap(db_url):
    # 2 people for CNI + passport = 4 documents = 60 minutes; a 15-minute booking
    # one step later competes for the same station time.
    long_slot = engine.Slot("villebrune-mairie", datetime(2026, 12, 1, 9, 0), 60)
    results = _fire(db_url, long_slot, "CNI-PASSPORT", 2)
    assert sum(isinstance(r, engine.AppointmentView) for r in results) == 2
    later = engine.Slot("villebrune-mairie", datetime(2026, 12, 1, 9, 15), 15)
    with pytest.raises(engine.SlotTaken):
        engine.book(
            later,
            reason="CNI",
            people=1,
            surname="Martin",
            channel="rest",
            sender_id="x",
            now=NOW,
            url=db_url,
        )
    _assert_no_double_holding(db_url)


def test_cancel_frees_the_slot_at_once(db_url):
    slot = engine.Slot("villebrune-coteaux", datetime(2026, 12, 1, 14, 0), 15)  # one station
    first = engine.book(
        slot,
        reason="PASSPORT",
        people=1,
        surname="Lefèvre",
        channel="rest",
        sender_id="a",
        application_ids=["ABCDE12345"],
        now=NOW,
        url=db_url,
    )
    with pytest.raises(engine.SlotTaken):
        engine.book(
            slot,
            reason="PASSPORT",
            people=1,
            surname="Autre",
            channel="rest",
            sender_id="b",
            now=NOW,
            url=db_url,
        )
    engine.cancel(first.reference, surname="lefevre", now=NOW, url=db_url)
    again = engine.book(
        slot,
        reason="PASSPORT",
        people=1,
        surname="Autre",
        channel="rest",
        sender_id="b",
        application_ids=["ABCDE12345"],
        now=NOW,
        url=db_url,
    )
    assert again.reference != first.reference


def _fire_many(url: str, booking) -> list[object]:
    """ATTEMPTS bookings at once, each on its own slot; `booking(i, slot)` books one."""
    barrier = threading.Barrier(ATTEMPTS)
    # Distinct 15-minute slots of the day, so that only the caps can refuse a booking.
    offered = engine.available_slots(["villebrune-mairie"], SLOT_DAY, SLOT_DAY, 15, now=NOW, url=url)
    slots = [offered[i % len(offered)] for i in range(ATTEMPTS)]

    def attempt(i: int):
        barrier.wait()
        try:
            return booking(i, slots[i])
        except engine.BookingError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        return list(pool.map(attempt, range(ATTEMPTS)))


def test_concurrent_bookings_of_one_sender_stop_at_its_cap(db_url):
    """A script firing 50 bookings at once from one conversation gets `per_sender` of them:
    the caps are counted under a lock (advisory lock on PostgreSQL, the write lock on
    SQLite), not read-then-written by racing transactions."""
    cap = engine.load_booking_config().limits.per_sender
    results = _fire_many(
        db_url,
        lambda i, slot: engine.book(
            slot,
            reason="CNI",
            people=1,
            surname=f"Nom{i}",
            channel="socketio",
            sender_id="squatter",
            now=NOW,
            url=db_url,
        ),
    )
    booked = [r for r in results if isinstance(r, engine.AppointmentView)]
    refused = [r for r in results if not isinstance(r, engine.AppointmentView)]
    assert len(booked) == cap
    assert all(isinstance(r, engine.TooManyAppointments) for r in refused), {
        type(r).__name__ for r in refused
    }


def test_concurrent_bookings_of_one_surname_at_one_site_stop_at_its_cap(db_url):
    """Cycling conversation ids does not help: the surname + site cap holds under concurrency."""
    cap = engine.load_booking_config().limits.per_surname_and_site
    results = _fire_many(
        db_url,
        lambda i, slot: engine.book(
            slot,
            reason="CNI",
            people=1,
            surname="Dupont" if i % 2 else "DUPONT ",
            channel="rest",
            sender_id=f"script-{i}",
            now=NOW,
            url=db_url,
        ),
    )
    booked = [r for r in results if isinstance(r, engine.AppointmentView)]
    assert len(booked) == cap
    assert all(
        isinstance(r, engine.TooManyAppointments)
        for r in results
        if not isinstance(r, engine.AppointmentView)
    )
