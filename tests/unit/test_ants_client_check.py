"""Our hub and our ANTS client as ANTS's own client reads them: PyPI `hubrdvmairie` 3.4.1, the code
that runs rendezvouspasseport.ants.gouv.fr (README « ANTS client check »). It is not a dependency:
the few lines that judge our answers are restated here with their file and line, and each test
puts our real hub (aiohttp, on a seeded SQLite database) or client through them."""

from __future__ import annotations

import asyncio
import time as clock
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from booking import ants_sync, hub
from booking.ants import AUTH_HEADER as ANTS_AUTH_HEADER
from booking.ants import AntsSettings
from booking.local import LocalBookingBackend
from tests.unit.test_hub import (
    AUTH,
    COTEAUX,
    MAIRIE,
    PUBLIC,
    TOKEN,
    book,
    get,
    open_weekday,
    serve,
    slots_params,
)

pytestmark = pytest.mark.usefixtures("fixture_files")


# ---- ANTS's side, restated ------------------------------------------------------------------------


def ants_reads(value: str) -> datetime | None:
    """hubrdvmairie 3.4.1 models/editor.py:311-330 (and services/search_meetings.py:104-125): the
    first format that parses wins; a time zone, when there is one, is added to the naive digits."""
    for pattern in ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(value, pattern)
        except ValueError:
            continue
        if moment.tzinfo:
            offset = moment.utcoffset().total_seconds() / 3600
            moment = moment.replace(tzinfo=None) + timedelta(hours=offset)
        return moment
    return None


# models/municipality.py:8-20 (pydantic): required fields and their types, the optional ones.
MUNICIPALITY_REQUIRED = {
    "id": str,
    "name": str,
    "longitude": float,
    "latitude": float,
    "public_entry_address": str,
    "zip_code": str,
    "city_name": str,
}
MUNICIPALITY_OPTIONAL = {"website", "city_logo", "decoded_city_name"}
# models/application.py:4-8: every field is required, or the appointment is dropped.
APPLICATION_REQUIRED = {"meeting_point", "datetime", "management_url", "cancel_url"}


@pytest.fixture
async def base(db_url):
    async with serve(hub.create_app(TOKEN, PUBLIC, url=db_url)) as address:
        yield address


# ---- formats --------------------------------------------------------------------------------------


async def test_ants_reads_our_slot_times_as_the_times_of_the_appointments(base):
    day = open_weekday()
    status, body = await get(base, "/availableTimeSlots", slots_params([MAIRIE, COTEAUX], day, day))
    assert status == 200 and body[MAIRIE]
    for entries in body.values():
        for entry in entries:
            start = parse_qs(urlsplit(entry["callback_url"]).query)["start"][0]
            # What ANTS shows the citizen is what the page the citizen lands on books.
            assert ants_reads(entry["datetime"]) == datetime.fromisoformat(start)
    assert ants_reads(body[MAIRIE][0]["datetime"]) == datetime.combine(day, time(8, 45))


async def test_the_declared_date_and_the_hub_s_are_the_same_appointment_for_ants(base, db_url):
    """searchApplicationIds (external.py:269-300) compares each hub appointment with the declared
    ones (services/search_meetings.py:93-101: meeting point, datetime, management_url) and declares
    again what differs: ours must be equal, or ANTS would hold every appointment twice."""
    declared: list[dict[str, str]] = []

    async def appointments(request: web.Request) -> web.Response:
        assert request.headers[ANTS_AUTH_HEADER] == "opt-token"
        declared.append(dict(request.query))
        return web.json_response({"success": True})

    fake = web.Application()
    fake.router.add_post("/api/appointments", appointments)
    day = open_weekday()
    view = book(db_url, day, time(10, 0), application_ids=["ABCDE12345"])
    async with serve(fake) as ants_url:
        settings = AntsSettings(base_url=ants_url + "/api", token="opt-token", timeout_s=2.0)
        assert await ants_sync.declare_appointment(view, settings, PUBLIC, url=db_url) is False
    _, found = await get(base, "/searchApplicationIds", {"application_ids": "ABCDE12345"})
    (ours,) = found["ABCDE12345"]
    (theirs,) = declared
    assert set(ours) == APPLICATION_REQUIRED and all(isinstance(v, str) and v for v in ours.values())
    assert ours["meeting_point"] == theirs["meeting_point"]
    assert ours["management_url"] == theirs["management_url"]
    assert ants_reads(ours["datetime"]) == ants_reads(theirs["appointment_date"])
    assert ants_reads(ours["datetime"]) == datetime.combine(day, time(10, 0))


async def test_meeting_points_pass_ants_s_validation(base):
    status, body = await get(base, "/getManagedMeetingPoints")
    assert status == 200 and body
    for point in body:
        for name, kind in MUNICIPALITY_REQUIRED.items():
            assert isinstance(point[name], kind), name
            # editor.py:133 capitalises city_name; 135-141 cut public_entry_address at the zip code.
        assert point["city_name"].strip() and point["zip_code"].strip()
        assert set(point) - set(MUNICIPALITY_REQUIRED) <= MUNICIPALITY_OPTIONAL
        assert all(point[name] is None or isinstance(point[name], str) for name in ("website", "city_logo"))


@pytest.mark.parametrize(
    "joined", ["ABCDE12345;ZZZZZ99999", "ABCDE12345 ZZZZZ99999", "ABCDE12345/ZZZZZ99999"]
)
async def test_application_ids_joined_as_ants_allows_are_each_searched(base, db_url, joined):
    # ANTS accepts ids joined by , ; : - / . or spaces in one value (external.py:239-241) and
    # passes the value on as it is (editor.py:433).
    book(db_url, open_weekday(), time(10, 0), application_ids=["ABCDE12345"])
    status, body = await get(base, "/searchApplicationIds", {"application_ids": joined})
    assert status == 200
    assert set(body) == {"ABCDE12345", "ZZZZZ99999"}
    assert len(body["ABCDE12345"]) == 1 and body["ZZZZZ99999"] == []


# ---- what ANTS counts as « editor down » ------------------------------------------------------------


async def test_a_long_range_is_shortened_not_refused(base):
    # Without a range ANTS asks 150 days (editor.py:204-207); any status but 200 marks the editor
    # down (editor.py:222-236).
    first = open_weekday()
    status, body = await get(
        base, "/availableTimeSlots", slots_params([MAIRIE], first, first + timedelta(days=150))
    )
    assert status == 200 and body[MAIRIE]
    last = max(ants_reads(entry["datetime"]) for entry in body[MAIRIE])
    assert last.date() <= first + timedelta(days=hub.MAX_RANGE_DAYS)


async def test_more_documents_than_we_book_is_no_slot_not_an_error(base):
    day = open_weekday()
    params = slots_params([MAIRIE, COTEAUX], day, day, "CNI-PASSPORT", str(hub.MAX_DOCUMENTS + 1))
    assert await get(base, "/availableTimeSlots", params) == (200, {MAIRIE: [], COTEAUX: []})


# ---- timeouts -------------------------------------------------------------------------------------


def test_every_route_s_budget_is_below_ants_s_wait_with_a_margin():
    # editor.py:83 (20 s), 218 (15 s), 439 (5 s).
    assert hub.ANTS_WAITS_S == {
        "/getManagedMeetingPoints": 20.0,
        "/availableTimeSlots": 15.0,
        "/searchApplicationIds": 5.0,
    }
    for path, wait in hub.ANTS_WAITS_S.items():
        assert hub.BUDGET_S[path] <= wait - 1.5, path


class SlowRecords(LocalBookingBackend):
    """The local agenda whose reads by application id hang (a locked table, a lost database)."""

    def appointments_for_applications(self, application_ids: Any) -> dict:
        clock.sleep(4.5)  # over our 3.5 s budget, under ANTS's 5 s
        return {}


async def test_search_application_ids_answers_before_ants_gives_up_after_5_s(db_url):
    app = hub.create_app(TOKEN, PUBLIC, url=db_url, agenda=SlowRecords(db_url))
    async with serve(app) as address:
        started = clock.perf_counter()
        status, body = await asyncio.wait_for(
            get(address, "/searchApplicationIds", {"application_ids": "ABCDE12345"}, headers=AUTH), 10
        )
        elapsed = clock.perf_counter() - started
    assert (status, body) == (503, {"error": "service temporarily unavailable"})
    assert elapsed < hub.ANTS_WAITS_S["/searchApplicationIds"] - 1.0, f"{elapsed:.1f} s"
