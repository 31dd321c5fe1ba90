"""A local Publik Chrono speaking the published shapes booking/chrono.py uses, for the tests.

Agendas of kind « meetings » built from a booking file: one agenda per site (slug = the site id,
or `slugs`), one desk per station, the site's weekly hours, the file's closures and the French
public holidays closed, meeting types of 15 to 150 minutes on a 15-minute grid, the notice and
the window of the file (« minimal / maximal booking delay »). A slot is free when a desk has no
live booking overlapping it; fillslot takes the first free desk, so no slot is given twice (the
handlers run one at a time on the event loop, as Chrono's database transactions would).

Every request must be signed (core/publik_signature.py) by a known orig, with a nonce never seen
before: otherwise 401, as Chrono answers an unsigned web service call. `fail` queues failures per
route name (agendas, meetings, datetimes, fillslot, booking, cancel, bookings): « error500 »,
« unauthorized », « malformed » (an HTML page), « slow » (answers after `slow_s`, a fillslot
booking first, like a Chrono that books then times out), « err » (HTTP 200 with err 1).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import AsyncIterator, Callable, Dict, List
from urllib.parse import parse_qs

from aiohttp import web

from booking.chrono import ChronoBookingBackend, _meeting_types
from booking.config import BookingConfig, SiteConfig
from core.holidays import holiday_name
from core.publik_signature import check_signature
from tests.unit.local_server import serving

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DURATIONS = tuple(range(15, 151, 15))
STEP = timedelta(minutes=15)


@dataclass
class FakeBooking:
    id: int
    agenda: str
    desk: int
    start: datetime
    end: datetime
    body: dict
    cancelled: bool = False


@dataclass
class FakeChrono:
    config: BookingConfig
    now: Callable[[], datetime]
    keys: Dict[str, str]  # orig -> key
    slugs: Dict[str, str] = field(default_factory=dict)  # site id -> agenda slug
    fail: Dict[str, List[str]] = field(default_factory=lambda: defaultdict(list))
    slow_s: float = 3.0
    bookings: Dict[int, FakeBooking] = field(default_factory=dict)
    calls: List[tuple] = field(default_factory=list)  # (route name, method, path)
    nonces: set = field(default_factory=set)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(101))

    # -- the agendas -----------------------------------------------------------------------

    def agendas(self) -> Dict[str, SiteConfig]:
        return {self.slugs.get(site.id, site.id): site for site in self.config.sites}

    def _closed(self, site: SiteConfig, day: date) -> bool:
        if holiday_name(day):
            return True
        return any(c.date == day and (not c.sites or site.id in c.sites) for c in self.config.closures)

    def live(self, agenda: str | None = None) -> List[FakeBooking]:
        return [b for b in self.bookings.values() if not b.cancelled and agenda in (None, b.agenda)]

    def _free_desk(self, agenda: str, site: SiteConfig, start: datetime, end: datetime) -> int | None:
        busy = {b.desk for b in self.live(agenda) if b.start < end and start < b.end}
        return next((desk for desk in range(1, site.stations + 1) if desk not in busy), None)

    def slots(self, agenda: str, duration: int, first: date, end_excluded: date) -> List[dict]:
        site = self.agendas()[agenda]
        now = self.now()
        earliest = now + timedelta(minutes=self.config.min_notice_minutes)
        horizon = now.date() + timedelta(days=self.config.booking_window_days)
        found = []
        day = max(first, now.date())
        while day < end_excluded and day <= horizon:
            if not self._closed(site, day):
                for interval in site.hours.get(WEEKDAYS[day.weekday()], []):
                    start = datetime.combine(day, interval.start)
                    close = datetime.combine(day, interval.end)
                    while start + timedelta(minutes=duration) <= close:
                        end = start + timedelta(minutes=duration)
                        if start >= earliest:
                            found.append(self._slot(agenda, duration, start, end))
                        start += STEP
            day += timedelta(days=1)
        return found

    def _slot(self, agenda: str, duration: int, start: datetime, end: datetime) -> dict:
        slot_id = f"rdv-{duration}:{start:%Y-%m-%d-%H%M}"
        return {
            "id": slot_id,
            "date": f"{start:%Y-%m-%d}",
            "datetime": f"{start:%Y-%m-%d %H:%M:%S}",
            "end_datetime": f"{end:%Y-%m-%d %H:%M:%S}",
            "text": f"{start:%d/%m/%Y %H:%M}",
            "disabled": self._free_desk(agenda, self.agendas()[agenda], start, end) is None,
            "api": {"fillslot_url": f"{self.base_url}/api/agenda/{agenda}/fillslot/{slot_id}/"},
        }

    # -- HTTP ------------------------------------------------------------------------------

    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._checks])
        app.router.add_get("/api/agenda/", self.list_agendas, name="agendas")
        app.router.add_get("/api/agenda/{agenda}/meetings/", self.meeting_types, name="meetings")
        app.router.add_get(
            "/api/agenda/{agenda}/meetings/{type}/datetimes/", self.datetimes, name="datetimes"
        )
        app.router.add_post("/api/agenda/{agenda}/fillslot/{slot}/", self.fillslot, name="fillslot")
        app.router.add_get("/api/booking/{id}/", self.booking, name="booking")
        app.router.add_post("/api/booking/{id}/cancel/", self.cancel, name="cancel")
        app.router.add_get("/api/bookings/", self.user_bookings, name="bookings")
        return app

    @web.middleware
    async def _checks(self, request: web.Request, handler) -> web.StreamResponse:
        route = request.match_info.route.name or "?"
        self.calls.append((route, request.method, request.path))
        raw = request.rel_url.raw_query_string
        params = parse_qs(raw)
        key = self.keys.get((params.get("orig") or [""])[0])
        nonce = (params.get("nonce") or [""])[0]
        if key is None or not check_signature(raw, key) or not nonce or nonce in self.nonces:
            return web.json_response({"err": 1, "err_desc": "invalid signature"}, status=401)
        self.nonces.add(nonce)
        failure = self.fail[route].pop(0) if self.fail.get(route) else None
        if failure == "error500":
            return web.Response(status=500, text="Internal Server Error")
        if failure == "unauthorized":
            return web.json_response({"err": 1, "err_desc": "unauthorized"}, status=401)
        if failure == "malformed":
            return web.Response(status=200, text="<html>maintenance</html>", content_type="application/json")
        if failure == "err":
            return web.json_response({"err": 1, "err_class": "internal error", "err_desc": "internal error"})
        response = await handler(request)
        if failure == "slow":
            await asyncio.sleep(self.slow_s)
        return response

    async def list_agendas(self, request: web.Request) -> web.Response:
        data = [
            {
                "id": slug,
                "slug": slug,
                "text": site.name,
                "kind": "meetings",
                "minimal_booking_delay": 0,
                "maximal_booking_delay": self.config.booking_window_days,
                "api": {
                    "meetings_url": f"{self.base_url}/api/agenda/{slug}/meetings/",
                    "desks_url": f"{self.base_url}/api/agenda/{slug}/desks/",
                    "fillslots_url": f"{self.base_url}/api/agenda/{slug}/fillslots/",
                },
            }
            for slug, site in self.agendas().items()
        ]
        return web.json_response({"data": data})

    def _agenda(self, request: web.Request) -> str:
        agenda = request.match_info["agenda"]
        if agenda not in self.agendas():
            raise web.HTTPNotFound(
                text='{"err": 1, "err_class": "not found"}', content_type="application/json"
            )
        return agenda

    async def meeting_types(self, request: web.Request) -> web.Response:
        agenda = self._agenda(request)
        data = [
            {
                "id": f"rdv-{minutes}",
                "slug": f"rdv-{minutes}",
                "text": f"Rendez-vous de {minutes} minutes",
                "duration": minutes,
                "api": {
                    "datetimes_url": f"{self.base_url}/api/agenda/{agenda}/meetings/rdv-{minutes}/datetimes/"
                },
            }
            for minutes in DURATIONS
        ]
        return web.json_response({"data": data})

    async def datetimes(self, request: web.Request) -> web.Response:
        agenda = self._agenda(request)
        meeting = request.match_info["type"]
        if not meeting.startswith("rdv-") or int(meeting[4:]) not in DURATIONS:
            raise web.HTTPNotFound()
        first = date.fromisoformat(request.query.get("date_start") or self.now().date().isoformat())
        end = date.fromisoformat(request.query.get("date_end") or "2100-01-01")
        found = self.slots(agenda, int(meeting[4:]), first, end)
        if request.query.get("hide_disabled") == "true":
            found = [slot for slot in found if not slot["disabled"]]
        return web.json_response({"data": found, "meta": {"no_bookable_datetimes": not found}})

    async def fillslot(self, request: web.Request) -> web.Response:
        agenda = self._agenda(request)
        site = self.agendas()[agenda]
        body = await request.json()
        meeting, _, when = request.match_info["slot"].partition(":")
        try:
            duration = int(meeting[4:])
            start = datetime.strptime(when, "%Y-%m-%d-%H%M")
        except ValueError:
            return web.json_response(
                {"err": 1, "err_class": "invalid slot", "err_desc": "invalid slot"}, status=400
            )
        end = start + timedelta(minutes=duration)
        offered = [s for s in self.slots(agenda, duration, start.date(), start.date() + timedelta(days=1))]
        if not any(s["datetime"] == f"{start:%Y-%m-%d %H:%M:%S}" for s in offered):
            return web.json_response(
                {"err": 1, "err_class": "no more desk available", "err_desc": "no more desk available"}
            )
        to_cancel = None
        if body.get("cancel_booking_id") is not None:
            to_cancel = self.bookings.get(int(body["cancel_booking_id"]))
            if to_cancel is None or to_cancel.cancelled:
                return web.json_response({"err": 1, "err_class": "cancel booking: booking does not exist"})
        desk = self._free_desk(agenda, site, start, end)
        if desk is None:
            return web.json_response(
                {"err": 1, "err_class": "no more desk available", "err_desc": "no more desk available"}
            )
        booking = FakeBooking(next(self._ids), agenda, desk, start, end, body)
        self.bookings[booking.id] = booking
        if to_cancel is not None:
            to_cancel.cancelled = True
        return web.json_response(
            {
                "err": 0,
                "booking_id": booking.id,
                "datetime": f"{start:%Y-%m-%d %H:%M:%S}",
                "end_datetime": f"{end:%Y-%m-%d %H:%M:%S}",
                "duration": duration,
                "desk": {"label": f"Poste {desk}", "slug": f"poste-{desk}"},
                "api": {
                    "booking_url": f"{self.base_url}/api/booking/{booking.id}/",
                    "cancel_url": f"{self.base_url}/api/booking/{booking.id}/cancel/",
                    "ics_url": f"{self.base_url}/api/booking/{booking.id}/ics/",
                },
            }
        )

    def _booking(self, request: web.Request) -> FakeBooking | None:
        raw = request.match_info["id"]
        return self.bookings.get(int(raw)) if raw.isdigit() else None

    async def booking(self, request: web.Request) -> web.Response:
        booking = self._booking(request)
        if booking is None:
            return web.json_response({"err": 1, "err_class": "not found"}, status=404)
        if booking.cancelled:
            return web.json_response({"err": 1, "err_class": "booking is cancelled"})
        return web.json_response(
            {
                "err": 0,
                "data": {
                    "booking_id": booking.id,
                    "in_waiting_list": False,
                    "user_was_present": None,
                    "extra_data": None,
                },
            }
        )

    async def cancel(self, request: web.Request) -> web.Response:
        booking = self._booking(request)
        if booking is None:
            return web.json_response({"err": 1, "err_class": "not found"}, status=404)
        if booking.cancelled:
            return web.json_response(
                {"err": 1, "err_class": "already cancelled", "reason": "already cancelled"}
            )
        booking.cancelled = True
        return web.json_response({"err": 0, "booking_id": booking.id})

    async def user_bookings(self, request: web.Request) -> web.Response:
        user = request.query.get("user_external_id")
        if not user:
            return web.json_response({"err": 1, "err_class": "missing user_external_id"}, status=400)
        agenda = request.query.get("agenda")
        data = [
            {"id": b.id, "in_waiting_list": False, "user_was_present": None, "extra_data": None}
            for b in self.live(agenda)
            if b.body.get("user_external_id") == user
        ]
        return web.json_response({"err": 0, "data": data})

    def calls_to(self, route: str) -> int:
        return sum(1 for name, _method, _path in self.calls if name == route)


# ---- the adapter against the fake ---------------------------------------------------------------

ORIG = "assistant-villebrune"
KEY = "chrono-shared-key-0123456789"


@asynccontextmanager
async def chrono_served(
    db_url: str,
    config: BookingConfig,
    now: Callable[[], datetime],
    *,
    timeout_s: float = 2.0,
    slugs: Dict[str, str] | None = None,
) -> AsyncIterator[tuple[FakeChrono, ChronoBookingBackend]]:
    """A fake Chrono for the sites of `config`, served on 127.0.0.1, and the adapter speaking to it
    (agendas named after the sites unless `slugs` says otherwise)."""
    fake = FakeChrono(config, now, {ORIG: KEY}, slugs=dict(slugs or {}))
    async with serving(fake.app()) as base:
        fake.base_url = base
        agendas = {site.id: fake.slugs.get(site.id, site.id) for site in config.sites}
        _meeting_types.clear()  # the adapter's cache is per process: each test has its own Chrono
        yield fake, ChronoBookingBackend(base, ORIG, KEY, agendas, url=db_url, timeout_s=timeout_s)
    _meeting_types.clear()
