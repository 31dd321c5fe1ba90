"""ANTS outbox (booking/ants_sync.py) on a fresh SQLite database, against a local aiohttp server
speaking ANTS's shapes, with a fake clock (``now=`` everywhere)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from booking import ants_sync, engine
from booking.ants import AUTH_HEADER, AntsSettings
from booking.models import AntsOutbox, Appointment
from booking.seed import prepare_database
from core.db import session_scope
from tests.unit.test_http import serving

TOKEN = "outbox-token"
NOW = datetime(2026, 11, 30, 8, 0)  # a Monday, Paris wall-clock time
MAIRIE = "villebrune-mairie"
IDS = ("ABCDE12345", "FGHIJ67890")
PUBLIC_URL = "https://rdv.villebrune.fr/"


@dataclass
class FakeAnts:
    down: bool = False
    rejects: bool = False
    delay_s: float = 0.0
    calls: list = field(default_factory=list)  # (method, application_id, appointment_date)
    base_url: str = ""

    async def appointments(self, request: web.Request) -> web.Response:
        if request.headers.get(AUTH_HEADER) != TOKEN:
            return web.json_response({"detail": "Invalid token"}, status=401)
        self.calls.append(
            (request.method, request.query.get("application_id"), request.query.get("appointment_date"))
        )
        await asyncio.sleep(self.delay_s)
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        if self.rejects:
            return web.json_response({"detail": "unknown application"}, status=422)
        assert request.query.get("meeting_point_id") == MAIRIE
        if request.method == "POST":
            assert request.query["management_url"].startswith("https://rdv.villebrune.fr/rendez-vous/RDV-")
        return web.json_response({"success": True})

    def posts(self, application_id: str | None = None) -> int:
        return sum(1 for m, a, _ in self.calls if m == "POST" and application_id in (None, a))


@pytest.fixture
async def ants():
    fake = FakeAnts()
    app = web.Application()
    app.router.add_post("/api/appointments", fake.appointments)
    app.router.add_delete("/api/appointments", fake.appointments)
    async with serving(app) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    prepare_database(url)
    return url


def settings_for(fake: FakeAnts) -> AntsSettings:
    return AntsSettings(base_url=fake.base_url, token=TOKEN, timeout_s=2.0, down_policy="flag")


def booked(url: str, ids=IDS, needs_agent_check: bool = False) -> engine.AppointmentView:
    duration = engine.duration_for("CNI", len(ids))
    slot = engine.available_slots([MAIRIE], date(2026, 12, 1), date(2026, 12, 4), duration, now=NOW, url=url)[
        0
    ]
    return engine.book(
        slot,
        reason="CNI",
        people=len(ids),
        surname="Dupont",
        channel="rest",
        sender_id="alice",
        application_ids=ids,
        needs_agent_check=needs_agent_check,
        now=NOW,
        url=url,
    )


def flag_of(url: str, reference: str) -> bool:
    with session_scope(url) as session:
        return session.execute(
            select(Appointment.needs_agent_check).where(Appointment.reference == reference)
        ).scalar_one()


def outbox(url: str) -> list[AntsOutbox]:
    with session_scope(url) as session:
        return list(session.execute(select(AntsOutbox).order_by(AntsOutbox.id)).scalars())


async def declare(appt, fake, url, now=NOW):
    return await ants_sync.declare_appointment(appt, settings_for(fake), PUBLIC_URL, now=now, url=url)


async def process(fake, url, now):
    return await ants_sync.process_outbox(settings_for(fake), now=now, url=url)


# --- declarations ---------------------------------------------------------------------------------------


async def test_declaration_success(ants, url):
    appt = booked(url)
    assert await declare(appt, ants, url) is False
    assert ants.posts() == 2 and {a for _, a, _ in ants.calls} == set(IDS)
    # The wall-clock time and a literal Z, as ANTS's own client writes and compares it.
    assert ants.calls[0][2] == f"{appt.start:%Y-%m-%dT%H:%M}Z"
    rows = outbox(url)
    assert [(r.operation, r.attempts, r.last_error_kind, r.done_at) for r in rows] == [
        ("declare", 1, None, NOW),
        ("declare", 1, None, NOW),
    ]
    assert rows[0].management_url == f"https://rdv.villebrune.fr/rendez-vous/{appt.reference}"
    assert not flag_of(url, appt.reference)
    assert await process(ants, url, NOW + timedelta(hours=1)) == {
        "sent": 0,
        "retry": 0,
        "given_up": 0,
        "flags_lowered": 0,
        "pending": 0,
    }
    assert ants.posts() == 2


async def test_the_outbox_waits_as_long_as_ants_s_own_client(ants, url):
    # ANTS's client gives this API 15 s (hubrdvmairie 3.4.1, services/search_meetings.py:72); a
    # declaration slower than the chat's budget is not resent as a failure by the background pass.
    ants.down = True
    appt = booked(url)
    fast = AntsSettings(base_url=ants.base_url, token=TOKEN, timeout_s=0.3, down_policy="flag")
    assert await ants_sync.declare_appointment(appt, fast, PUBLIC_URL, now=NOW, url=url) is True
    ants.down, ants.delay_s = False, 0.6
    summary = await ants_sync.process_outbox(fast, now=NOW + timedelta(hours=1), url=url)
    assert summary["sent"] == 2 and summary["retry"] == 0
    assert not flag_of(url, appt.reference)


async def test_ants_down_keeps_the_row_flags_and_retries_with_backoff(ants, url):
    appt = booked(url)
    ants.down = True
    assert await declare(appt, ants, url) is True  # flagged for an agent, as before
    assert ants.posts() == 2  # POST is not idempotent: no retry inside the call
    assert flag_of(url, appt.reference)
    rows = outbox(url)
    assert all(r.done_at is None and r.attempts == 1 and r.raised_flag for r in rows)
    assert {r.last_error_kind for r in rows} == {"server_error"}
    assert {r.next_attempt_at for r in rows} == {NOW + timedelta(minutes=1)}

    # Not due yet: nothing is sent.
    assert (await process(ants, url, NOW + timedelta(seconds=30)))["sent"] == 0
    assert ants.posts() == 2
    # Due, ANTS still down: the delay grows (1, 5, 15 min...).
    summary = await process(ants, url, NOW + timedelta(minutes=1))
    assert (summary["retry"], summary["pending"]) == (2, 2)
    assert {r.next_attempt_at for r in outbox(url)} == {NOW + timedelta(minutes=6)}
    await process(ants, url, NOW + timedelta(minutes=6))
    assert {r.next_attempt_at for r in outbox(url)} == {NOW + timedelta(minutes=21)}
    assert {r.attempts for r in outbox(url)} == {3}
    assert flag_of(url, appt.reference)

    # ANTS is back: the declarations go through and the flag we raised is lowered.
    ants.down = False
    summary = await process(ants, url, NOW + timedelta(minutes=21))
    assert summary == {"sent": 2, "retry": 0, "given_up": 0, "flags_lowered": 1, "pending": 0}
    assert all(r.done_at is not None and r.last_error_kind is None for r in outbox(url))
    assert not flag_of(url, appt.reference)
    assert ants.posts(IDS[0]) == 4 and ants.posts(IDS[1]) == 4


async def test_a_flag_set_for_another_reason_stays(ants, url):
    appt = booked(url, needs_agent_check=True)  # ANTS could not check the numbers at booking time
    ants.down = True
    assert await declare(appt, ants, url) is True
    assert not any(r.raised_flag for r in outbox(url))
    ants.down = False
    summary = await process(ants, url, NOW + timedelta(minutes=1))
    assert (summary["sent"], summary["flags_lowered"]) == (2, 0)
    assert flag_of(url, appt.reference)  # an agent still has to check the pre-applications


async def test_given_up_after_max_attempts(ants, url):
    appt = booked(url, ids=IDS[:1])
    ants.down = True
    await ants_sync.declare_appointment(
        appt, settings_for(ants), PUBLIC_URL, now=NOW, url=url, max_attempts=2
    )
    summary = await ants_sync.process_outbox(
        settings_for(ants), now=NOW + timedelta(minutes=1), url=url, max_attempts=2
    )
    assert (summary["given_up"], summary["pending"]) == (1, 0)
    (row,) = outbox(url)
    assert row.done_at is not None and row.last_error_kind == "server_error" and row.attempts == 2
    assert flag_of(url, appt.reference)  # an agent finishes it
    await process(ants, url, NOW + timedelta(days=1))
    assert ants.posts() == 2


async def test_a_refusal_is_not_retried(ants, url):
    appt = booked(url, ids=IDS[:1])
    ants.rejects = True
    assert await declare(appt, ants, url) is True
    (row,) = outbox(url)
    assert row.done_at is not None and row.last_error_kind == "http_422"
    await process(ants, url, NOW + timedelta(hours=1))
    assert ants.posts() == 1 and flag_of(url, appt.reference)


async def test_max_attempts_from_env():
    assert ants_sync.max_attempts_from_env({}) == 10
    assert ants_sync.max_attempts_from_env({"GRU_ANTS_OUTBOX_MAX_ATTEMPTS": "3"}) == 3
    for bad in ("0", "x", "-2"):
        with pytest.raises(ValueError, match="GRU_ANTS_OUTBOX_MAX_ATTEMPTS"):
            ants_sync.max_attempts_from_env({"GRU_ANTS_OUTBOX_MAX_ATTEMPTS": bad})
    assert [ants_sync.retry_delay(n).total_seconds() // 60 for n in range(1, 8)] == [
        1,
        5,
        15,
        60,
        180,
        180,
        180,
    ]


# --- withdrawals ----------------------------------------------------------------------------------------


async def test_withdraw_after_cancel(ants, url):
    appt = booked(url)
    await declare(appt, ants, url)
    cancelled = engine.cancel(appt.reference, surname="Dupont", now=NOW + timedelta(hours=1), url=url)
    await ants_sync.withdraw_appointment(cancelled, settings_for(ants), now=NOW + timedelta(hours=1), url=url)
    deletes = [c for c in ants.calls if c[0] == "DELETE"]
    assert sorted(a for _, a, _ in deletes) == sorted(IDS)
    assert all(r.done_at is not None and r.last_error_kind is None for r in outbox(url))


async def test_withdraw_while_ants_is_down_is_retried_and_drops_a_waiting_declaration(ants, url):
    appt = booked(url, ids=IDS[:1])
    ants.down = True
    await declare(appt, ants, url)
    cancelled = engine.cancel(appt.reference, surname="Dupont", now=NOW, url=url)
    await ants_sync.withdraw_appointment(cancelled, settings_for(ants), now=NOW, url=url)
    declare_row, withdraw_row = outbox(url)
    assert (declare_row.done_at, declare_row.last_error_kind) == (NOW, "superseded")
    assert withdraw_row.done_at is None and withdraw_row.attempts == 1
    ants.down = False
    summary = await process(ants, url, NOW + timedelta(minutes=1))
    assert (summary["sent"], summary["flags_lowered"], summary["pending"]) == (1, 0, 0)
    assert [c[0] for c in ants.calls] == ["POST", "DELETE", "DELETE"]  # the declaration is not resent


# --- idempotency ----------------------------------------------------------------------------------------


async def test_processing_twice_never_posts_twice(ants, url):
    appt = booked(url)
    ants.down = True
    await declare(appt, ants, url)
    ants.down = False
    later = NOW + timedelta(minutes=5)
    first = await process(ants, url, later)
    second = await process(ants, url, later)
    assert (first["sent"], second["sent"]) == (2, 0)
    assert ants.posts(IDS[0]) == 2 and ants.posts(IDS[1]) == 2  # the failed try, then one success


async def test_concurrent_passes_share_the_rows(ants, url):
    import asyncio

    appt = booked(url)
    ants.down = True
    await declare(appt, ants, url)
    ants.down = False
    later = NOW + timedelta(minutes=5)
    results = await asyncio.gather(*(process(ants, url, later) for _ in range(3)))
    assert sum(r["sent"] for r in results) == 2
    assert ants.posts(IDS[0]) == 2 and ants.posts(IDS[1]) == 2


async def test_a_row_being_sent_is_not_picked_by_a_pass(ants, url):
    appt = booked(url, ids=IDS[:1])
    rows = ants_sync._enqueue("declare", appt, "https://rdv.villebrune.fr/rendez-vous/x", NOW, url)
    assert len(rows) == 1  # claimed for the immediate try
    assert (await process(ants, url, NOW + timedelta(minutes=1)))["sent"] == 0
    assert ants.posts() == 0


async def test_declaring_twice_does_not_double_a_waiting_row(ants, url):
    appt = booked(url, ids=IDS[:1])
    ants.down = True
    await declare(appt, ants, url)
    assert await declare(appt, ants, url) is False  # already waiting in the outbox
    assert len(outbox(url)) == 1 and ants.posts() == 1


async def test_disabled_ants_does_nothing(url):
    appt = booked(url)
    disabled = AntsSettings(base_url=None, token=None)
    assert await ants_sync.declare_appointment(appt, disabled, PUBLIC_URL, url=url) is False
    await ants_sync.withdraw_appointment(appt, disabled, url=url)
    assert (await ants_sync.process_outbox(disabled, url=url))["sent"] == 0
    assert outbox(url) == []


# --- privacy --------------------------------------------------------------------------------------------


async def test_no_application_id_in_logs(ants, url, caplog):
    caplog.set_level(logging.DEBUG)
    appt = booked(url)
    ants.down = True
    await declare(appt, ants, url)
    ants.down = False
    await process(ants, url, NOW + timedelta(minutes=1))
    cancelled = engine.cancel(appt.reference, surname="Dupont", now=NOW, url=url)
    ants.rejects = True
    await ants_sync.withdraw_appointment(cancelled, settings_for(ants), now=NOW, url=url)
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "ANTS outbox row" in text and "ANTS POST /appointments -> 503" in text
    for application_id in IDS:
        assert application_id not in text and application_id.lower() not in text
    assert "Dupont" not in text and TOKEN not in text


def test_summary_fr():
    line = ants_sync.summary_fr({"sent": 2, "retry": 1, "given_up": 0, "flags_lowered": 1, "pending": 1})
    assert line.startswith("ANTS : 2 envoi(s) réussi(s), 1 à réessayer") and "\n" not in line
