"""The OpenAgenda adapter against a local aiohttp server speaking API v2's shape
(GET /v2/agendas/{uid}/events: key, monolingual, detailed, relative[], timings[gte|lte],
search, size, after[] → {total, events, after}): pagination with `after`, filters kept
across pages, 401, 429, 5xx, time-outs, malformed answers; the key never in the logs."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from core import clock
from events.connector import EventQuery, EventsUnavailable, connector_from_env
from events.openagenda import OpenAgendaAdapter, decode_cursor, encode_cursor
from tests.unit.local_server import serving

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)
UID = "12345678"
KEY = "0123456789abcdef-public-key"


def oa_event(uid: int, title: str, begin: datetime, *, hours: int = 2, conditions=None, age=None, **extra):
    """An event as OpenAgenda v2 returns it with monolingual=fr and detailed=1."""
    end = begin + timedelta(hours=hours)
    timing = {"begin": begin.isoformat(), "end": end.isoformat()}
    event = {
        "uid": uid,
        "slug": f"evenement-{uid}",
        "title": title,
        "description": "Description courte",
        "dateRange": f"{begin:%d/%m}, {begin:%H}h00",
        "timings": [timing],
        "firstTiming": timing,
        "lastTiming": timing,
        "nextTiming": timing,
        "location": {
            "uid": 9,
            "name": "Salle des fêtes",
            "address": "2 rue du Stade, 12345 Villebrune",
            "city": "Villebrune",
            "latitude": 45.1,
            "longitude": 4.2,
        },
        "conditions": conditions,
        "keywords": [],
        "age": age,
        "image": None,
        "registration": [],
    }
    event.update(extra)
    return event


def agenda():
    day = NOW.replace(hour=20, minute=30)
    events = [
        oa_event(1000 + i, f"Concert n°{i}", day + timedelta(days=i), conditions="10 €") for i in range(1, 25)
    ]
    events[2]["conditions"] = "Gratuit"
    events[5]["conditions"] = "Entrée libre"
    events[7]["age"] = {"min": 3, "max": 10}
    events[7]["title"] = "Conte musical"
    events[9]["image"] = {"base": "https://cdn.openagenda.com/main/", "filename": "img9.jpg", "variants": []}
    events[9]["registration"] = [
        {"type": "email", "value": "inscription@villebrune.example"},
        {"type": "link", "value": "https://billetterie.example/concert-10"},
    ]
    events[11]["conditions"] = "Gratuit"
    events[11]["keywords"] = ["jeune public"]
    return events


@dataclass
class FakeOpenAgenda:
    events: list = field(default_factory=agenda)
    requests: list = field(default_factory=list)
    mode: str = "normal"  # normal | unauthorized | rate_limited | error500 | slow | malformed
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    async def list_events(self, request: web.Request) -> web.Response:
        query = request.rel_url.query
        self.requests.append(query)
        if request.match_info["uid"] != UID:
            return web.json_response({"error": "agenda not found"}, status=404)
        if query.get("key") != KEY or self.mode == "unauthorized":
            return web.json_response({"error": "invalid key", "message": "Unauthorized"}, status=401)
        if self.mode == "rate_limited":
            return web.json_response({"error": "too many requests"}, status=429)
        if self.mode == "error500":
            return web.Response(status=502, text="Bad Gateway")
        if self.mode == "malformed":
            return web.json_response({"total": 1, "events": "nope"})
        if self.mode == "slow":
            try:
                await asyncio.wait_for(self.release.wait(), 3)
            except asyncio.TimeoutError:
                pass
        selected = self.events
        gte, lte = query.get("timings[gte]"), query.get("timings[lte]")
        if gte:
            selected = [
                e
                for e in selected
                if datetime.fromisoformat(e["timings"][0]["end"]) >= datetime.fromisoformat(gte)
            ]
        if lte:
            selected = [
                e
                for e in selected
                if datetime.fromisoformat(e["timings"][0]["begin"]) <= datetime.fromisoformat(lte)
            ]
        if "search" in query:
            selected = [e for e in selected if query["search"].lower() in e["title"].lower()]
        selected = sorted(selected, key=lambda e: (e["timings"][0]["begin"], e["uid"]))
        total = len(selected)
        after = query.getall("after[]", [])
        if after:  # the sort key of the last event of the previous page
            selected = [
                e for e in selected if (e["timings"][0]["begin"], str(e["uid"])) > (after[0], after[1])
            ]
        size = int(query.get("size", 20))
        page = selected[:size]
        next_after = [page[-1]["timings"][0]["begin"], page[-1]["uid"]] if len(selected) > size else None
        return web.json_response({"total": total, "events": page, "after": next_after, "sort": "timings.asc"})


@pytest.fixture
async def openagenda(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    fake = FakeOpenAgenda()
    app = web.Application()
    app.router.add_get("/v2/agendas/{uid}/events", fake.list_events)
    async with serving(app) as url:
        fake.base_url = f"{url}/v2"
        yield fake
        fake.release.set()


def adapter(fake, key=KEY, timeout_s=2.0, **kwargs):
    return OpenAgendaAdapter(UID, key, base_url=fake.base_url, timeout_s=timeout_s, **kwargs)


async def test_upcoming_events_with_the_published_parameters(openagenda):
    page = await adapter(openagenda, public_url="https://openagenda.com/villebrune").search(EventQuery())
    assert [e.title for e in page.events] == [f"Concert n°{i}" for i in range(1, 6)]
    first = page.events[0]
    assert first.begin == datetime(2026, 12, 2, 20, 30, tzinfo=PARIS) and first.end.hour == 22
    assert first.place == "Salle des fêtes" and first.city == "Villebrune" and first.price == "10 €"
    assert first.link == "https://openagenda.com/villebrune/events/evenement-1001"
    assert page.events[2].free and not first.free
    sent = openagenda.requests[0]
    assert sent["key"] == KEY and sent["monolingual"] == "fr" and sent["detailed"] == "1"
    assert sent.getall("relative[]") == ["current", "upcoming"]
    assert "timings[gte]" not in sent and "after[]" not in sent


async def test_pagination_follows_after_until_the_last_page(openagenda):
    oa, cursor, seen = adapter(openagenda), None, []
    for _ in range(10):
        page = await oa.search(EventQuery(), 5, cursor)
        seen += [e.uid for e in page.events]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [str(1000 + i) for i in range(1, 25)]
    assert any(r.getall("after[]", []) for r in openagenda.requests)  # the API's cursor was sent back
    assert all(r["size"] == "20" for r in openagenda.requests)


async def test_a_date_window_uses_timings_gte_and_lte(openagenda):
    start = datetime(2026, 12, 5, tzinfo=PARIS)
    end = datetime(2026, 12, 6, 23, 59, 59, tzinfo=PARIS)
    page = await adapter(openagenda).search(EventQuery(start, end, search=("concert",)))
    assert [e.title for e in page.events] == ["Concert n°4", "Concert n°5"] and page.cursor is None
    sent = openagenda.requests[0]
    assert sent["timings[gte]"] == "2026-12-05T00:00:00+01:00"
    assert sent["timings[lte]"] == "2026-12-06T23:59:59+01:00"
    assert sent["search"] == "concert" and "relative[]" not in sent


async def test_free_and_children_filters_read_conditions_keywords_and_age(openagenda):
    free = await adapter(openagenda).search(EventQuery(free_only=True))
    assert [e.title for e in free.events] == ["Concert n°3", "Concert n°6", "Concert n°12"]
    assert free.cursor is None
    children = await adapter(openagenda).search(EventQuery(children=True))
    assert [e.title for e in children.events] == ["Conte musical", "Concert n°12"]


async def test_filtered_pages_resume_inside_an_api_page(openagenda):
    oa = adapter(openagenda)
    first = await oa.search(EventQuery(free_only=True), 2)
    assert [e.title for e in first.events] == ["Concert n°3", "Concert n°6"] and first.cursor
    second = await oa.search(EventQuery(free_only=True), 2, first.cursor)
    assert [e.title for e in second.events] == ["Concert n°12"] and second.cursor is None


async def test_image_and_registration_link(openagenda):
    page = await adapter(openagenda).search(EventQuery(), 5, encode_cursor(None, 9))
    tenth = page.events[0]
    assert tenth.title == "Concert n°10"
    assert tenth.image_url == "https://cdn.openagenda.com/main/img9.jpg"
    assert tenth.registration == tenth.link == "https://billetterie.example/concert-10"


@pytest.mark.parametrize(
    "mode, kind",
    [
        ("unauthorized", "unauthorized"),
        ("rate_limited", "rate_limited"),
        ("error500", "down"),
        ("malformed", "invalid"),
    ],
)
async def test_failures_are_events_unavailable(openagenda, mode, kind, caplog):
    openagenda.mode = mode
    caplog.set_level(logging.INFO)
    with pytest.raises(EventsUnavailable) as error:
        await adapter(openagenda, timeout_s=1.0).search(EventQuery())
    assert error.value.kind == kind
    assert KEY not in caplog.text and "OpenAgenda GET /agendas/12345678/events" in caplog.text


async def test_a_wrong_key_is_a_401_and_not_retried(openagenda):
    with pytest.raises(EventsUnavailable) as error:
        await adapter(openagenda, key="revoked").search(EventQuery())
    assert error.value.kind == "unauthorized" and len(openagenda.requests) == 1


async def test_5xx_and_429_are_retried_within_the_budget(openagenda):
    openagenda.mode = "error500"
    with pytest.raises(EventsUnavailable):
        await adapter(openagenda, timeout_s=2.0).search(EventQuery())
    assert len(openagenda.requests) == 3  # core.http: the first try and two retries


async def test_a_slow_agenda_times_out(openagenda):
    openagenda.mode = "slow"
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(EventsUnavailable) as error:
        await adapter(openagenda, timeout_s=0.3).search(EventQuery())
    assert error.value.kind == "timeout"
    assert loop.time() - started < 2.5


@pytest.mark.parametrize(
    "cursor", ["", "%%%", "bm9wZQ==", "W1siYSJdLCAtMV0=", "x" * 5000, encode_cursor([{"a": 1}], 0)]
)
def test_forged_cursors_mean_the_first_page(cursor):
    assert decode_cursor(cursor) == (None, 0)


def test_connector_from_env():
    assert type(connector_from_env({})).__name__ == "LocalEventsAdapter"
    chosen = connector_from_env(
        {"GRU_EVENTS_ADAPTER": "openagenda", "GRU_OPENAGENDA_AGENDA_UID": UID, "GRU_OPENAGENDA_KEY": KEY}
    )
    assert isinstance(chosen, OpenAgendaAdapter) and KEY not in repr(chosen)
    with pytest.raises(ValueError, match="GRU_OPENAGENDA_KEY"):
        connector_from_env({"GRU_EVENTS_ADAPTER": "openagenda", "GRU_OPENAGENDA_AGENDA_UID": UID})
    with pytest.raises(ValueError, match="GRU_EVENTS_ADAPTER"):
        connector_from_env({"GRU_EVENTS_ADAPTER": "facebook"})
