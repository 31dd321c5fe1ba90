"""ANTS availability hub: the real aiohttp app on 127.0.0.1 over a seeded SQLite database (the
fixture files' sites)."""

from __future__ import annotations

import asyncio
import logging
import re
import time as clock
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from booking import engine, hub
from booking.ants import ants_datetime
from tests.unit.conftest import next_open_day

TOKEN = "hub-test-token-8c1f"
PUBLIC = "https://rdv.villebrune.example"
MAIRIE = "villebrune-mairie"  # 2 stations; Mon-Fri 08:45-11:45, ...
COTEAUX = "villebrune-coteaux"  # 1 station; Tue 14:00-17:00, Thu 09:00-12:00
AUTH = {hub.AUTH_HEADER: TOKEN}
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")


pytestmark = pytest.mark.usefixtures("fixture_files")


def open_weekday(min_days_ahead: int = 3) -> date:
    """The first Monday-Friday at least `min_days_ahead` away that is neither a holiday nor closed."""
    return next_open_day(min_days_ahead=min_days_ahead)


def utc_z(day: date, at: time) -> str:
    """ANTS's time format: the meeting point's wall-clock time and a literal Z (booking/ants.py)."""
    return f"{day.isoformat()}T{at:%H:%M}Z"


def book(url: str, day: date, at: time, *, people: int = 1, application_ids=(), surname="Dupont"):
    slot = engine.Slot(MAIRIE, datetime.combine(day, at), engine.duration_for("CNI", people))
    return engine.book(
        slot,
        reason="CNI",
        people=people,
        surname=surname,
        channel="rest",
        sender_id="test",
        application_ids=application_ids,
        url=url,
    )


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def base(db_url) -> AsyncIterator[str]:
    async with serve(hub.create_app(TOKEN, PUBLIC + "/", url=db_url)) as address:
        yield address


async def get(address: str, path: str, params=None, headers=AUTH) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session:
        async with session.get(address + path, params=params, headers=headers) as response:
            return response.status, await response.json()


def slots_params(ids, first: date, last: date, reason="CNI", documents="1") -> list[tuple[str, str]]:
    params = [("meeting_point_ids", mp) for mp in ids]
    params += [("start_date", first.isoformat()), ("end_date", last.isoformat())]
    return params + [("reason", reason), ("documents_number", documents)]


# ---- authentication -----------------------------------------------------------------------------


async def test_health_needs_no_token(base):
    assert await get(base, "/health", headers={}) == (200, {"status": "ok"})


@pytest.mark.parametrize("headers", [{}, {hub.AUTH_HEADER: "wrong"}, {hub.AUTH_HEADER: ""}])
@pytest.mark.parametrize("path", ["/getManagedMeetingPoints", "/availableTimeSlots", "/searchApplicationIds"])
async def test_token_required(base, path, headers):
    assert await get(base, path, headers=headers) == (401, {"error": "unauthorized"})


def test_empty_token_is_refused():
    with pytest.raises(ValueError):
        hub.create_app("", PUBLIC)


def test_main_refuses_to_start_without_token(monkeypatch, capsys):
    monkeypatch.delenv("GRU_HUB_TOKEN", raising=False)
    assert hub.main() == 1
    assert "GRU_HUB_TOKEN" in capsys.readouterr().err


# ---- meeting points -----------------------------------------------------------------------------


async def test_meeting_points_shape(base):
    status, body = await get(base, "/getManagedMeetingPoints")
    assert status == 200
    assert [mp["id"] for mp in body] == [COTEAUX, MAIRIE]
    keys = {
        "id",
        "name",
        "longitude",
        "latitude",
        "public_entry_address",
        "zip_code",
        "city_name",
        "website",
        "city_logo",
    }
    assert all(set(mp) == keys for mp in body)
    mairie = body[1]
    assert mairie["name"] == "Mairie de Villebrune"
    assert mairie["public_entry_address"] == "1 place de la Mairie"
    assert (mairie["zip_code"], mairie["city_name"]) == ("45990", "Villebrune")
    assert (mairie["latitude"], mairie["longitude"]) == (47.9029, 1.9093)
    assert mairie["website"] == "https://www.villebrune.example/etat-civil"


# ---- available time slots -----------------------------------------------------------------------


async def test_available_slots_shape(base):
    day = open_weekday()
    status, body = await get(base, "/availableTimeSlots", slots_params([MAIRIE, COTEAUX], day, day))
    assert status == 200
    assert set(body) == {MAIRIE, COTEAUX}
    assert body[MAIRIE], "the mairie is open on weekdays"
    for entries in body.values():
        for entry in entries:
            assert set(entry) == {"datetime", "callback_url"}
            assert UTC_Z.match(entry["datetime"])
    first = body[MAIRIE][0]
    assert first["datetime"] == utc_z(day, time(8, 45))
    assert first["callback_url"] == f"{PUBLIC}/rendez-vous?site={MAIRIE}&start={day.isoformat()}T08:45"
    times = [e["datetime"] for e in body[MAIRIE]]
    assert times == sorted(times) and len(times) == len(set(times))


async def test_winter_and_summer_times_are_the_wall_clock_time(db_url):
    # Thursday 09:00 at Les Coteaux is "…T09:00Z" in winter (UTC+1) and summer (UTC+2) alike:
    # ANTS shows the digits it gets (README « ANTS client check »).
    for now, thursday, expected in (
        (datetime(2026, 12, 1, 8, 0), date(2026, 12, 17), "2026-12-17T09:00Z"),
        (datetime(2027, 6, 1, 8, 0), date(2027, 6, 3), "2027-06-03T09:00Z"),
    ):
        app = hub.create_app(TOKEN, PUBLIC, url=db_url, clock=lambda now=now: now)
        async with serve(app) as address:
            status, body = await get(
                address, "/availableTimeSlots", slots_params([COTEAUX], thursday, thursday)
            )
        assert status == 200
        assert body[COTEAUX][0]["datetime"] == expected
        assert body[COTEAUX][0]["callback_url"].endswith(f"start={thursday.isoformat()}T09:00")


def test_ants_datetime():
    assert ants_datetime(datetime(2026, 12, 19, 9, 0)) == "2026-12-19T09:00Z"
    assert ants_datetime(datetime(2027, 7, 14, 9, 30)) == "2027-07-14T09:30Z"
    # An aware moment is first put in the territory's time zone.
    assert ants_datetime(datetime(2027, 7, 14, 7, 30, tzinfo=timezone.utc)) == "2027-07-14T09:30Z"


async def test_a_slot_booked_on_every_station_disappears(base, db_url):
    day = open_weekday()
    params = slots_params([MAIRIE], day, day)
    nine, quarter_past = utc_z(day, time(9, 0)), utc_z(day, time(9, 15))

    book(db_url, day, time(9, 0), surname="Un")
    _, body = await get(base, "/availableTimeSlots", params)
    assert nine in [e["datetime"] for e in body[MAIRIE]], "the second station is still free"

    book(db_url, day, time(9, 0), surname="Deux")
    _, body = await get(base, "/availableTimeSlots", params)
    times = [e["datetime"] for e in body[MAIRIE]]
    assert nine not in times
    assert quarter_past in times


@pytest.mark.parametrize("reason", ["CNI", "PASSPORT", "CNI-PASSPORT"])
async def test_two_documents_need_thirty_free_minutes(base, db_url, reason):
    day = open_weekday()
    book(db_url, day, time(9, 30), surname="Un")
    book(db_url, day, time(9, 30), surname="Deux")  # 09:30-09:45 taken on both stations
    status, body = await get(base, "/availableTimeSlots", slots_params([MAIRIE], day, day, reason, "2"))
    assert status == 200
    morning = [e["datetime"] for e in body[MAIRIE] if e["datetime"] < utc_z(day, time(12, 0))]
    expected = []
    start = datetime.combine(day, time(8, 45))
    while start + timedelta(minutes=30) <= datetime.combine(day, time(11, 45)):
        end = start + timedelta(minutes=30)
        if not (start < datetime.combine(day, time(9, 45)) and datetime.combine(day, time(9, 30)) < end):
            expected.append(utc_z(day, start.time()))
        start += timedelta(minutes=15)
    assert morning == expected
    assert utc_z(day, time(9, 15)) not in morning and utc_z(day, time(9, 0)) in morning
    assert utc_z(day, time(11, 15)) in morning and utc_z(day, time(11, 30)) not in morning


async def test_unknown_meeting_points_get_an_empty_list(base):
    day = open_weekday()
    params = slots_params(["nope"], day, day) + [("meeting_point_ids", f"{COTEAUX},inconnu")]
    status, body = await get(base, "/availableTimeSlots", params)
    assert status == 200
    assert body["nope"] == [] and body["inconnu"] == []
    assert set(body) == {"nope", COTEAUX, "inconnu"}


@pytest.mark.parametrize(
    "change",
    [
        {"start_date": None},
        {"end_date": None},
        {"start_date": "01/12/2026"},
        {"end_date": "2026-02-30"},
        {"end_date": "yesterday"},
        {"end_before_start": True},
        {"reason": "VISA"},
        {"documents_number": "0"},
        {"documents_number": "deux"},
        {"meeting_point_ids": None},
    ],
)
async def test_bad_parameters_are_400(base, change):
    first = open_weekday()
    last = first + timedelta(days=change.get("range_days", 0))
    if change.get("end_before_start"):
        last = first - timedelta(days=1)
    params = dict(slots_params([MAIRIE], first, last))
    for key, value in change.items():
        if key in params:
            if value is None:
                del params[key]
            else:
                params[key] = value
    status, body = await get(base, "/availableTimeSlots", params)
    assert status == 400
    assert set(body) == {"error"} and body["error"]


async def test_sixty_two_days_is_the_largest_range(base):
    first = open_weekday()
    status, _ = await get(
        base, "/availableTimeSlots", slots_params([MAIRIE], first, first + timedelta(days=62))
    )
    assert status == 200


async def test_sixty_day_range_answers_within_fifteen_seconds(base):
    today = engine.local_now().date()
    started = clock.perf_counter()
    status, body = await get(
        base, "/availableTimeSlots", slots_params([MAIRIE, COTEAUX], today, today + timedelta(days=60))
    )
    elapsed = clock.perf_counter() - started
    assert status == 200 and body[MAIRIE]
    assert elapsed < 15, f"ANTS waits 15 s at most; took {elapsed:.1f} s"


async def test_database_work_does_not_block_the_event_loop(base, monkeypatch):
    def slow_slots(*args, **kwargs):
        clock.sleep(1.0)
        return []

    monkeypatch.setattr(engine, "available_slots", slow_slots)
    day = open_weekday()
    slow = asyncio.create_task(get(base, "/availableTimeSlots", slots_params([MAIRIE], day, day)))
    await asyncio.sleep(0.1)
    started = clock.perf_counter()
    assert await get(base, "/health", headers={}) == (200, {"status": "ok"})
    assert clock.perf_counter() - started < 0.5
    assert await slow == (200, {MAIRIE: []})


# ---- application ids ----------------------------------------------------------------------------


async def test_search_application_ids(base, db_url):
    day = open_weekday()
    view = book(db_url, day, time(10, 0), application_ids=["ABCDE12345"])
    params = [("application_ids", "ABCDE12345"), ("application_ids", "ZZZZZ99999")]
    status, body = await get(base, "/searchApplicationIds", params)
    assert status == 200
    assert body == {
        "ABCDE12345": [
            {
                "meeting_point": "Mairie de Villebrune",
                "datetime": utc_z(day, time(10, 0)),
                "management_url": f"{PUBLIC}/rendez-vous/{view.reference}",
                "cancel_url": f"{PUBLIC}/rendez-vous/{view.reference}/annuler",
            }
        ],
        "ZZZZZ99999": [],
    }
    # comma-separated and lower case: same answer, keyed as asked
    _, body = await get(base, "/searchApplicationIds", {"application_ids": "abcde12345,ZZZZZ99999"})
    assert len(body["abcde12345"]) == 1 and body["ZZZZZ99999"] == []

    engine.cancel(view.reference, surname="Dupont", url=db_url)
    _, body = await get(base, "/searchApplicationIds", {"application_ids": "ABCDE12345"})
    assert body == {"ABCDE12345": []}


async def test_search_without_ids_is_400(base):
    status, body = await get(base, "/searchApplicationIds")
    assert status == 400 and body["error"]


# ---- logging ------------------------------------------------------------------------------------


async def test_one_log_line_per_request_without_personal_data(base, db_url, caplog):
    book(db_url, open_weekday(), time(10, 0), application_ids=["SECRET1234"], surname="Secretname")
    caplog.set_level(logging.INFO, logger="booking.hub")
    await get(base, "/searchApplicationIds", {"application_ids": "SECRET1234"})
    await get(base, "/getManagedMeetingPoints", headers={})
    lines = [r.getMessage() for r in caplog.records if r.name == "booking.hub"]
    assert len(lines) == 2
    assert re.match(r"^GET /searchApplicationIds 200 \d+ ms$", lines[0])
    assert re.match(r"^GET /getManagedMeetingPoints 401 \d+ ms$", lines[1])
    assert "SECRET1234" not in caplog.text and "Secretname" not in caplog.text
