"""ANTS availability hub: the national site (rendez-vous-passeport.ants.gouv.fr) asks the
town hall's booking software for its meeting points, free slots and the appointments
held by pre-application numbers. Served with aiohttp from the agenda of booking/connector.py:
the booking database, or the free slots of Publik Chrono (a commune whose Chrono is already
connected to ANTS does not start this hub: its slots would be listed twice).

    GRU_HUB_TOKEN=... python -m booking.hub   # GRU_HUB_PORT (5100), GRU_PUBLIC_URL, GRU_HUB_HOST (0.0.0.0)
    # the links it gives ANTS start with core.http.pages_url(): GRU_PUBLIC_URL, else the pages' port

Published shapes (every route but /health needs the header X-HUB-RDV-AUTH-TOKEN):

    GET /getManagedMeetingPoints
        [{"id", "name", "longitude", "latitude", "public_entry_address", "zip_code",
          "city_name", "website", "city_logo"}]
    GET /availableTimeSlots?meeting_point_ids=A&meeting_point_ids=B&start_date=YYYY-MM-DD
                           &end_date=YYYY-MM-DD&reason=CNI|PASSPORT|CNI-PASSPORT&documents_number=N
        {"A": [{"datetime": "2026-12-19T09:00Z", "callback_url": ".../rendez-vous?site=A&start=..."}]}
    GET /searchApplicationIds?application_ids=X&application_ids=Y   (or "X,Y", "X;Y", "X Y"…)
        {"X": [{"meeting_point", "datetime", "management_url", "cancel_url"}], "Y": []}
    GET /health
        {"status": "ok"}

Checked against ANTS's own client, the PyPI package `hubrdvmairie` 3.4.1 (README « ANTS client
check »). Times are the territory's wall-clock times followed by a literal Z, as ANTS reads them
(booking/ants.py, `ants_datetime`): a 09:00 appointment is "…T09:00Z". ANTS waits 20 s for
/getManagedMeetingPoints, 15 s for /availableTimeSlots and 5 s for /searchApplicationIds; each
route here cuts its own work well before (BUDGET_S), so ANTS gets a clean 503 rather than a cut
connection. Any answer but 200 marks the whole editor « down » on ANTS's side, so a date range
longer than MAX_RANGE_DAYS is shortened, not refused, and a number of documents we cannot book
gets empty lists. The database work runs in a worker thread so the event loop keeps answering.
One log line per request: method, path, status, duration — never a query string, so no
application number or other personal data reaches the logs.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any, Awaitable, Callable, Dict, List
from urllib.parse import quote, urlencode

from aiohttp import web

from booking import engine
from booking.ants import ants_datetime
from booking.config import BookingConfig, load_booking_config
from booking.connector import BookingBackend, BookingUnavailable, booking_backend
from core import http

logger = logging.getLogger("booking.hub")  # same name under python -m

AUTH_HEADER = "X-HUB-RDV-AUTH-TOKEN"
DEFAULT_PORT = 5100
MAX_RANGE_DAYS = 62  # longer ranges are cut here (no slot lies beyond the 60-day booking window)
MAX_DOCUMENTS = 10  # more documents than this: no slot (empty lists), not an error
# How long ANTS's client waits for each route (hubrdvmairie 3.4.1, models/editor.py: lines 83,
# 218 and 439), and the budget we give our own work on it: a margin for the network and the JSON.
ANTS_WAITS_S = {"/getManagedMeetingPoints": 20.0, "/availableTimeSlots": 15.0, "/searchApplicationIds": 5.0}
BUDGET_S = {"/getManagedMeetingPoints": 15.0, "/availableTimeSlots": 12.0, "/searchApplicationIds": 3.5}
# Separators ANTS accepts inside one application_ids value (controllers/routes/external.py:240).
_ID_SEPARATORS = re.compile(r"[,;:\-/.\s]+")
PUBLIC_PATHS = frozenset({"/health"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

TOKEN_KEY = web.AppKey("token", str)
PUBLIC_URL_KEY = web.AppKey("public_url", str)
DB_URL_KEY = web.AppKey("db_url", object)  # str | None
AGENDA_KEY = web.AppKey("agenda", object)  # BookingBackend (booking/connector.py)
CONFIG_KEY = web.AppKey("config", BookingConfig)
CLOCK_KEY = web.AppKey("clock", object)  # Callable[[], datetime] | None


class BadRequest(ValueError):
    """A parameter ANTS sent is missing or invalid (answered 400 with the message)."""


# ---- the citizen pages' addresses (served by portal/, the appointment pages) ---------------

PAGES_PATH = "/rendez-vous"  # the callback; /rendez-vous/<ref> to manage, /rendez-vous/<ref>/annuler


def callback_url(base: str, site_id: str, start: datetime) -> str:
    """Where ANTS sends a citizen who picked this slot: the confirmation page."""
    query = urlencode({"site": site_id, "start": f"{start:%Y-%m-%dT%H:%M}"}, safe=":")
    return f"{base.rstrip('/')}{PAGES_PATH}?{query}"


def management_path(reference: str) -> str:
    return f"{PAGES_PATH}/{quote(reference)}"


def cancel_path(reference: str) -> str:
    return f"{management_path(reference)}/annuler"


def management_url(base: str, reference: str) -> str:
    return base.rstrip("/") + management_path(reference)


def cancel_url(base: str, reference: str) -> str:
    return base.rstrip("/") + cancel_path(reference)


# ---- helpers -------------------------------------------------------------------------------


def _multi(request: web.Request, name: str, separators: re.Pattern = re.compile(",")) -> List[str]:
    """All values of a repeated and/or separated parameter, stripped, deduplicated."""
    values: List[str] = []
    for raw in request.query.getall(name, []):
        for part in separators.split(raw):
            part = part.strip()
            if part and part not in values:
                values.append(part)
    return values


def _date_param(request: web.Request, name: str) -> date:
    raw = request.query.get(name, "").strip()
    if not raw:
        raise BadRequest(f"{name} is required (YYYY-MM-DD)")
    if not _DATE.match(raw):
        raise BadRequest(f"{name} must be a date formatted YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} is not a valid date") from None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _in_thread(request: web.Request, function: Callable[..., Any], *args: Any) -> Any:
    """Run blocking database work in the default executor, bounded by the route's budget."""
    return await asyncio.wait_for(asyncio.to_thread(function, *args), BUDGET_S[request.path])


# ---- middlewares ---------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info("%s %s %d %.0f ms", request.method, request.path, status, elapsed_ms)


@web.middleware
async def handle_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as exc:
        return _error(400, str(exc))
    except asyncio.TimeoutError:
        logger.error("%s: agenda too slow (> %.1f s)", request.path, BUDGET_S.get(request.path, 0.0))
        return _error(503, "service temporarily unavailable")
    except BookingUnavailable as exc:  # Publik Chrono down or too slow
        logger.error("%s: booking agenda unavailable (%s)", request.path, exc.kind)
        return _error(503, "service temporarily unavailable")
    except web.HTTPException:
        raise
    except Exception as exc:
        # The exception type only: database errors quote the query parameters (application numbers).
        logger.error("%s: internal error (%s)", request.path, type(exc).__name__)
        return _error(500, "internal error")


@web.middleware
async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in PUBLIC_PATHS:
        provided = request.headers.get(AUTH_HEADER, "").encode("utf-8")
        expected = request.app[TOKEN_KEY].encode("utf-8")
        if not hmac.compare_digest(provided, expected):
            return _error(401, "unauthorized")
    return await handler(request)


# ---- routes --------------------------------------------------------------------------------


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _meeting_points(agenda: BookingBackend) -> List[Dict[str, Any]]:
    return [
        {
            "id": site.id,
            "name": site.name,
            "longitude": site.longitude,
            "latitude": site.latitude,
            "public_entry_address": site.address,
            "zip_code": site.zip_code,
            "city_name": site.city,
            "website": site.website,
            "city_logo": site.city_logo,
        }
        for site in agenda.list_sites()
    ]


async def managed_meeting_points(request: web.Request) -> web.Response:
    return web.json_response(await _in_thread(request, _meeting_points, request.app[AGENDA_KEY]))


def _slot_query(request: web.Request, config: BookingConfig) -> tuple[List[str], date, date, int]:
    """The query; a duration of 0 means « no slot can hold that many documents »."""
    ids = _multi(request, "meeting_point_ids")
    if not ids:
        raise BadRequest("meeting_point_ids is required")
    first, last = _date_param(request, "start_date"), _date_param(request, "end_date")
    if last < first:
        raise BadRequest("end_date must not be before start_date")
    # ANTS asks up to 150 days ahead when it has no range (editor.py:205-207): shortened, not refused.
    last = min(last, first + timedelta(days=MAX_RANGE_DAYS))
    reason = request.query.get("reason", "CNI").strip() or "CNI"
    if reason not in engine.DOCUMENT_REASON.values():
        raise BadRequest("reason must be one of CNI, PASSPORT, CNI-PASSPORT")
    raw_number = request.query.get("documents_number", "1").strip() or "1"
    if not raw_number.isdigit() or int(raw_number) < 1:
        raise BadRequest("documents_number must be a positive integer")
    if int(raw_number) > MAX_DOCUMENTS:
        return ids, first, last, 0
    # For CNI-PASSPORT, ANTS already counts both documents of each person.
    return ids, first, last, int(raw_number) * config.minutes_per_document


async def available_time_slots(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    ids, first, last, duration = _slot_query(request, config)
    result: Dict[str, List[Dict[str, str]]] = {mp_id: [] for mp_id in ids}
    if not duration:
        return web.json_response(result)
    clock = request.app[CLOCK_KEY]
    slots = await asyncio.wait_for(
        request.app[AGENDA_KEY].available_slots(
            ids,
            first,
            last,
            duration,
            now=clock() if clock else None,
            config=config,
            service="identity",  # bulky-waste rounds are not ANTS meeting points
        ),
        BUDGET_S[request.path],
    )
    base = request.app[PUBLIC_URL_KEY]
    seen: set[tuple[str, datetime]] = set()
    for slot in slots:
        if (slot.site_id, slot.start) in seen:  # overlapping openings may yield a start twice
            continue
        seen.add((slot.site_id, slot.start))
        link = callback_url(base, slot.site_id, slot.start)
        result[slot.site_id].append({"datetime": ants_datetime(slot.start), "callback_url": link})
    return web.json_response(result)


async def search_application_ids(request: web.Request) -> web.Response:
    ids = _multi(request, "application_ids", _ID_SEPARATORS)
    if not ids:
        raise BadRequest("application_ids is required")
    found = await _in_thread(request, request.app[AGENDA_KEY].appointments_for_applications, ids)
    base = request.app[PUBLIC_URL_KEY]
    result = {
        application_id: [
            {
                "meeting_point": view.site_name,
                "datetime": ants_datetime(view.start),
                "management_url": management_url(base, view.reference),
                "cancel_url": cancel_url(base, view.reference),
            }
            for view in found.get(application_id.upper(), [])
        ]
        for application_id in ids
    }
    return web.json_response(result)


# ---- application ---------------------------------------------------------------------------


def create_app(
    token: str,
    public_url: str,
    url: str | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    agenda: BookingBackend | None = None,
) -> web.Application:
    """The hub application; `url` is the booking database (None: GRU_DATABASE_URL); the free slots
    come from the agenda the configuration chooses (booking/connector.py), unless `agenda` is given.

    `clock` (tests, demos) replaces the real Paris clock for "now" in availability.
    """
    if not token:
        raise ValueError("the hub token must not be empty")
    app = web.Application(middlewares=[log_requests, handle_errors, check_token])
    app[TOKEN_KEY] = token
    app[PUBLIC_URL_KEY] = public_url.rstrip("/")
    app[DB_URL_KEY] = url
    app[CONFIG_KEY] = load_booking_config()
    app[AGENDA_KEY] = agenda or booking_backend(url, config=app[CONFIG_KEY])
    app[CLOCK_KEY] = clock
    app.router.add_get("/health", health)
    app.router.add_get("/getManagedMeetingPoints", managed_meeting_points)
    app.router.add_get("/availableTimeSlots", available_time_slots)
    app.router.add_get("/searchApplicationIds", search_application_ids)
    return app


def _database_ready(url: str | None) -> bool:
    """The booking tables exist (a missing SQLite file is not created by asking)."""
    from pathlib import Path

    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from core.db import database_url, engine_for

    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            return False
    return inspect(engine_for(url)).has_table("sites")


def main() -> int:
    token = (os.environ.get("GRU_HUB_TOKEN") or "").strip()
    if not token:
        print(
            "GRU_HUB_TOKEN n'est pas défini : le hub ANTS ne démarre pas sans le jeton partagé avec l'ANTS "
            "(en-tête X-HUB-RDV-AUTH-TOKEN).",
            file=sys.stderr,
        )
        return 1
    problem = http.public_url_problem()
    if problem:  # the management and cancellation links given to ANTS would lead nowhere
        print(problem, file=sys.stderr)
        return 1
    raw_port = (os.environ.get("GRU_HUB_PORT") or str(DEFAULT_PORT)).strip()
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(f"GRU_HUB_PORT invalide : « {raw_port} » (numéro de port attendu, ex. 5100).", file=sys.stderr)
        return 1
    public_url = http.pages_url()  # the pages ANTS sends citizens to
    host = (os.environ.get("GRU_HUB_HOST") or "0.0.0.0").strip()
    try:
        app = create_app(token, public_url)
        ready = _database_ready(None)
    except Exception as exc:  # configuration file or database unreachable: say it, no traceback
        print(f"Le hub ANTS ne peut pas démarrer : {exc}", file=sys.stderr)
        return 1
    if not ready:
        print("Base de rendez-vous absente : lancez `make run` ou `python -m booking.seed`.", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.info("ANTS hub on %s:%s, public URL %s", host, raw_port, app[PUBLIC_URL_KEY])
    # access_log=None: aiohttp's access log would print query strings (application numbers).
    web.run_app(app, host=host, port=int(raw_port), access_log=None, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
