"""Answers from the feed and the content file: the next buses at a stop, the lines of a
school, whether the school buses run on a day (and why not: holidays, public holiday,
Wednesday afternoon, weekend). Plain Python over transport.feed's index; the French lines
are composed here, the sentences around them are responses of domain/transport.yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import List, Sequence, Tuple

from core.holidays import holiday_name
from core.text import format_date_fr, format_time_fr, join_fr
from transport.config import School, SchoolHolidayPeriod, TransportConfig
from transport.feed import Passage, SchoolFeed

LOOK_AHEAD_DAYS = 120  # the next day with a bus is looked for this far (summer holidays: from July)
MAX_LINES = 8  # passages listed at a stop for one day


@dataclass(frozen=True)
class DayService:
    day: date
    routes: Tuple[str, ...]  # route short names with a bus that day
    holiday: SchoolHolidayPeriod | None  # school holidays of the zone
    public_holiday: str | None
    in_feed: bool  # the day is within the feed's dates

    @property
    def running(self) -> bool:
        return bool(self.routes)


def _passages_on(feed: SchoolFeed, passages: Sequence[Passage], day: date) -> List[Passage]:
    services = feed.services_on(day)
    return [p for p in passages if p.service_id in services]


def day_service(feed: SchoolFeed, config: TransportConfig, day: date) -> DayService:
    services = feed.services_on(day)
    routes = sorted(
        {
            feed.routes[ps[0].route_id].short_name
            for ps in feed.trips.values()
            if ps and ps[0].service_id in services
        }
    )
    in_feed = feed.first_day is not None and feed.first_day <= day <= feed.last_day
    return DayService(day, tuple(routes), config.holiday_on(day), holiday_name(day), in_feed)


def why_no_bus(service: DayService, today: date) -> str:
    """« les vacances d'hiver (du samedi 20 février au dimanche 7 mars) », « le week-end »…"""
    if service.holiday is not None:
        h = service.holiday
        return (
            f"{h.lower_name} (du {format_date_fr(h.start, today=today)} "
            f"au {format_date_fr(h.end, today=today)})"
        )
    if service.public_holiday:
        return f"jour férié ({service.public_holiday})"
    if service.day.weekday() >= 5:
        return "le week-end"
    if not service.in_feed:
        return "en dehors de l'année scolaire"
    return "pas de service prévu ce jour-là"


def next_service_day(feed: SchoolFeed, start: date, stop_id: str | None = None) -> date | None:
    """The first day from `start` with a bus (at `stop_id` when given)."""
    passages = feed.passages(stop_id) if stop_id else None
    for offset in range(LOOK_AHEAD_DAYS):
        day = start + timedelta(days=offset)
        services = feed.services_on(day)
        if not services:
            continue
        if passages is None or any(p.service_id in services for p in passages):
            return day
    return None


def _towards(feed: SchoolFeed, passage: Passage) -> str:
    """« vers Collège Jean Moulin »: the headsign, else the trip's last stop."""
    if passage.headsign:
        return passage.headsign
    last = feed.trips[passage.trip_id][-1]
    return feed.stops[last.stop_id].name


def passages_at(feed: SchoolFeed, stop_id: str, day: date, after: time | None = None) -> List[Passage]:
    """The buses leaving `stop_id` on `day` (after `after`), not the ones ending there."""
    found = []
    for passage in _passages_on(feed, feed.passages(stop_id), day):
        if feed.trips[passage.trip_id][-1] is passage:
            continue  # the terminus: the bus does not take anyone from there
        if after is None or passage.at >= after:
            found.append(passage)
    return found


def describe_passages_fr(feed: SchoolFeed, passages: Sequence[Passage]) -> str:
    """« - 7 h 08 : ligne S2 vers Lycée Marie Curie » one line per bus."""
    lines = [
        f"- {format_time_fr(p.at)} : ligne {feed.routes[p.route_id].short_name} vers {_towards(feed, p)}"
        for p in passages[:MAX_LINES]
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class SchoolTrip:
    route: str  # « S1 — Les Essarts – Collège Jean Moulin »
    outward: bool  # True: to the school (arrival there), False: from it (departure)
    at: time  # arrival at / departure from the school
    stops: Tuple[Tuple[str, time], ...]  # the stops before (to) or after (from) the school


def school_trips(feed: SchoolFeed, school: School, day: date) -> List[SchoolTrip]:
    """The buses to and from `school` on `day`, in time order."""
    trips = []
    services = feed.services_on(day)
    stops = set(school.stop_ids)
    for passages in feed.trips.values():
        if not passages or passages[0].service_id not in services:
            continue
        at_school = next((i for i, p in enumerate(passages) if p.stop_id in stops), None)
        if at_school is None:
            continue
        route = feed.routes[passages[0].route_id]
        label = f"{route.short_name} — {route.long_name}" if route.long_name else route.short_name
        outward = at_school > 0
        others = passages[:at_school] if outward else passages[at_school + 1 :]
        trips.append(
            SchoolTrip(
                route=label,
                outward=outward,
                at=passages[at_school].at,
                stops=tuple((feed.stops[p.stop_id].name, p.at) for p in others),
            )
        )
    return sorted(trips, key=lambda t: (t.at, t.route))


def describe_school_trips_fr(school: School, trips: Sequence[SchoolTrip]) -> str:
    lines = []
    for trip in trips:
        stops = join_fr(f"{name} {format_time_fr(at)}" for name, at in trip.stops)
        if trip.outward:
            lines.append(f"- Ligne {trip.route} : {stops}, arrivée à {format_time_fr(trip.at)}")
        else:
            lines.append(f"- Ligne {trip.route} : départ à {format_time_fr(trip.at)}, puis {stops}")
    return "\n".join(lines)


def routes_of_school(feed: SchoolFeed, school: School) -> List[str]:
    """The short names of the lines that serve the school, whatever the day."""
    names = set()
    for stop_id in school.stop_ids:
        names |= {feed.routes[r].short_name for r in feed.routes_at(stop_id)}
    return sorted(names)
