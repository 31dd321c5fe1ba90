"""The OpenAgenda adapter (API v2): the events of one agenda.

GET {base}/agendas/{uid}/events with the agenda's public key (`key`), `monolingual=fr`,
`detailed=1` (timings, conditions, registration, image), `sort=timings.asc` and:

* a date window: `timings[gte]` / `timings[lte]` (ISO 8601); no window: `relative[]=current`
  and `relative[]=upcoming`;
* a category: `search` (OpenAgenda's full-text search) with the category's words;
* pagination: the answer's `after` (an array) is sent back as `after[]=…` values.

Answer: `{total, events: [{uid, slug, title, dateRange, location{name, address, city, latitude,
longitude}, nextTiming{begin, end}, timings[], image{base, filename}, conditions, registration[],
keywords, age{min, max}}], after}`. « Gratuit » and « pour les enfants » are not API filters: the
events of a page are kept when their conditions (« Entrée libre »), keywords, title or age say so;
the cursor then remembers how far into the page the last shown event was.

401/403 (a wrong or revoked key), 429, 5xx, time-outs and malformed answers are
:class:`EventsUnavailable`; the operator's log line (core.http) never holds the key.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from typing import Any, List, Tuple

import aiohttp

from core import clock
from core.http import JsonClient, Rejected, Unavailable
from events.connector import (
    PAGE_SIZE,
    Event,
    EventPage,
    EventQuery,
    EventsUnavailable,
    looks_for_children,
    looks_free,
)

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://api.openagenda.com/v2"
FETCH_SIZE = 20  # events asked per call (filters may keep few of them)
MAX_CALLS = 3  # calls per search at most: a citizen does not wait for a whole agenda
MAX_TEXT = 80  # characters of a price or place shown on a card


def _text(value: Any) -> str | None:
    """A monolingual field; a multilingual one ({"fr": …}) if the agenda ignores `monolingual`."""
    if isinstance(value, dict):
        value = value.get("fr") or next(iter(value.values()), None)
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return clock.local(moment) if moment.tzinfo else None


def _timing(raw: dict, start: datetime) -> Tuple[datetime, datetime | None] | None:
    """The first timing still running at `start`, else `nextTiming`."""
    timings = raw.get("timings") if isinstance(raw.get("timings"), list) else []
    for timing in [*timings, raw.get("nextTiming")]:
        if not isinstance(timing, dict):
            continue
        begin, end = _moment(timing.get("begin")), _moment(timing.get("end"))
        if begin is not None and (end or begin) >= start:
            return begin, end
    return None


def _image(raw: Any) -> str | None:
    if isinstance(raw, str) and raw.startswith("https://"):
        return raw
    if isinstance(raw, dict) and isinstance(raw.get("base"), str) and isinstance(raw.get("filename"), str):
        url = raw["base"] + raw["filename"]
        return url if url.startswith("https://") else None
    return None


def _registration(raw: Any) -> str | None:
    for item in raw if isinstance(raw, list) else []:
        if (
            isinstance(item, dict)
            and item.get("type") == "link"
            and str(item.get("value", "")).startswith("http")
        ):
            return item["value"]
    return None


def _children(raw: dict, title: str) -> bool:
    age = raw.get("age") if isinstance(raw.get("age"), dict) else {}
    if isinstance(age.get("max"), int) and age["max"] <= 14:
        return True
    keywords = raw.get("keywords") if isinstance(raw.get("keywords"), list) else []
    return looks_for_children(
        title, _text(raw.get("conditions")), *[k for k in keywords if isinstance(k, str)]
    )


def encode_cursor(after: Any, skip: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([after, skip]).encode()).decode()


def decode_cursor(cursor: str | None) -> Tuple[List[Any] | None, int]:
    """(the `after` of the page to ask for, events of it already shown); a bad cursor: the start."""
    if not cursor or len(cursor) > 2000:
        return None, 0
    try:
        after, skip = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return None, 0
    if not (after is None or isinstance(after, list)) or not isinstance(skip, int) or not 0 <= skip <= 300:
        return None, 0
    if after is not None and not all(isinstance(a, (str, int, float)) for a in after):
        return None, 0
    return after, skip


class OpenAgendaAdapter:
    def __init__(
        self,
        agenda_uid: str,
        key: str,
        *,
        base_url: str | None = None,
        public_url: str | None = None,
        timeout_s: float | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not str(agenda_uid).strip().isdigit():
            raise ValueError("the OpenAgenda agenda uid is a number (GRU_OPENAGENDA_AGENDA_UID)")
        self.agenda_uid = str(agenda_uid).strip()
        self._key = key
        self.public_url = (public_url or "").rstrip("/") or None  # « https://openagenda.com/villebrune »
        self._http = JsonClient(
            "OpenAgenda",
            base_url or DEFAULT_URL,
            logger=logger,
            timeout_env="GRU_OPENAGENDA_TIMEOUT",
            timeout_default=4.0,
            timeout_s=timeout_s,
            session=session,
        )

    def __repr__(self) -> str:  # never the key
        return f"OpenAgendaAdapter(agenda_uid={self.agenda_uid!r})"

    def params(self, query: EventQuery, after: List[Any] | None, size: int) -> List[Tuple[str, str]]:
        params = [("key", self._key), ("monolingual", "fr"), ("detailed", "1"), ("size", str(size))]
        params.append(("sort", "timings.asc"))
        if query.start is None and query.end is None:
            params += [("relative[]", "current"), ("relative[]", "upcoming")]
        else:
            start = query.start or clock.now()
            params.append(("timings[gte]", start.isoformat(timespec="seconds")))
            if query.end is not None:
                params.append(("timings[lte]", query.end.isoformat(timespec="seconds")))
        if query.search:
            params.append(("search", " ".join(query.search[:3])))
        params += [("after[]", str(value)) for value in after or ()]
        return params

    async def _page(
        self, query: EventQuery, after: List[Any] | None
    ) -> Tuple[list, List[Any] | None, int | None]:
        path = f"/agendas/{self.agenda_uid}/events"
        try:
            async with self._http.call("GET", path, params=self.params(query, after, FETCH_SIZE)) as reply:
                data = reply.data
                if not isinstance(data, dict) or not isinstance(data.get("events"), list):
                    raise EventsUnavailable("invalid")
                reply.note = f"{len(data['events'])} events"
        except Unavailable as exc:
            raise EventsUnavailable(exc.kind if exc.kind in ("timeout", "rate_limited") else "down") from None
        except Rejected as exc:
            logger.warning(
                "OpenAgenda refused the request (HTTP %s): check GRU_OPENAGENDA_KEY / agenda uid", exc.status
            )
            raise EventsUnavailable("unauthorized" if exc.status in (401, 403) else "rejected") from None
        next_after = data.get("after") if isinstance(data.get("after"), list) and data.get("after") else None
        total = data.get("total") if isinstance(data.get("total"), int) else None
        return data["events"], next_after, total

    def to_event(self, raw: Any, query: EventQuery, now: datetime) -> Event | None:
        """One OpenAgenda event as shown; None when malformed or outside the window."""
        if not isinstance(raw, dict):
            return None
        title = _text(raw.get("title"))
        timing = _timing(raw, query.start or now)
        if not title or timing is None or raw.get("uid") is None:
            return None
        begin, end = timing
        if query.end is not None and begin > query.end:
            return None
        location = raw.get("location") if isinstance(raw.get("location"), dict) else {}
        conditions = _text(raw.get("conditions"))
        slug = raw.get("slug") if isinstance(raw.get("slug"), str) else None
        link = f"{self.public_url}/events/{slug}" if self.public_url and slug else None
        registration = _registration(raw.get("registration"))
        return Event(
            uid=str(raw["uid"]),
            title=title[:MAX_TEXT],
            begin=begin,
            end=end,
            place=(_text(location.get("name")) or "")[:MAX_TEXT] or None,
            address=_text(location.get("address")),
            city=_text(location.get("city")),
            price=conditions[:MAX_TEXT] if conditions else None,
            free=looks_free(conditions),
            for_children=_children(raw, title),
            categories=tuple(k for k in raw.get("keywords") or () if isinstance(k, str))[:10]
            if isinstance(raw.get("keywords"), list)
            else (),
            image_url=_image(raw.get("image")),
            link=link or registration or _text(raw.get("onlineAccessLink")),
            registration=registration,
        )

    def _wanted(self, event: Event | None, query: EventQuery) -> bool:
        if event is None:
            return False
        if query.free_only and not event.free:
            return False
        return not (query.children and not event.for_children)

    async def search(self, query: EventQuery, size: int = PAGE_SIZE, cursor: str | None = None) -> EventPage:
        after, skip = decode_cursor(cursor)
        now = clock.now()
        found: List[Event] = []
        total = None
        for _ in range(MAX_CALLS):
            raws, next_after, total = await self._page(query, after)
            for index, raw in enumerate(raws[skip:], start=skip):
                event = self.to_event(raw, query, now)
                if self._wanted(event, query):
                    found.append(event)
                    if len(found) == size:
                        if index + 1 < len(raws):
                            return EventPage(found, encode_cursor(after, index + 1), total)
                        return EventPage(found, encode_cursor(next_after, 0) if next_after else None, total)
            if next_after is None or not raws:
                return EventPage(found, None, total)
            after, skip = next_after, 0
        return EventPage(found, encode_cursor(after, 0), total)
