"""The GTFS feed of the school services, read with gtfs-kit (never a hand parser).

The demo feed ships in territory/demo/gtfs/; a collectivité points GRU_GTFS_PATH at its own
feed (a folder of .txt files or the .zip published on transport.data.gouv.fr). The feed is
read once (cached), checked for what the answers need — the tables, their references, the
times, the dates of service — and any mistake is reported in French with the file and the
line, like the content files (a feed is content the collectivité maintains).

What gtfs-kit gives back (pandas tables) is turned once into a small immutable index: the
passages at each stop and the services running on each date. Questions are then answered
from the index without pandas (transport.timetable).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Tuple

import gtfs_kit
import pandas as pd

from core.content import ContentError, Problem, content_path, shown_path
from core.text import fold

DEFAULT_GTFS_PATH = Path(__file__).resolve().parent.parent / "territory" / "demo" / "gtfs"
GTFS_LABEL = "transport scolaire, horaires GTFS"

# What the answers need from each table (other GTFS tables and columns are ignored).
REQUIRED_COLUMNS: Dict[str, Tuple[str, ...]] = {
    "agency": ("agency_name", "agency_timezone"),
    "stops": ("stop_id", "stop_name"),
    "routes": ("route_id", "route_short_name"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "departure_time", "stop_id", "stop_sequence"),
}
MAX_PROBLEMS = 20


class FeedError(ContentError):
    """The GTFS feed is missing, unreadable or inconsistent; the message says where."""


@dataclass(frozen=True)
class Stop:
    stop_id: str
    name: str


@dataclass(frozen=True)
class Route:
    route_id: str
    short_name: str
    long_name: str


@dataclass(frozen=True)
class Passage:
    """A bus of a trip at a stop."""

    trip_id: str
    route_id: str
    service_id: str
    stop_id: str
    sequence: int
    at: time
    headsign: str
    direction: int  # GTFS direction_id (0 outward, 1 return); 0 when the feed does not say


@dataclass(frozen=True)
class SchoolFeed:
    """The feed, indexed for the questions citizens ask."""

    stops: Dict[str, Stop]
    routes: Dict[str, Route]
    trips: Dict[str, Tuple[Passage, ...]]  # trip_id → its passages in stop order
    services_by_date: Dict[date, FrozenSet[str]]
    first_day: date | None
    last_day: date | None
    by_stop: Dict[str, Tuple[Passage, ...]] = field(default_factory=dict)  # sorted by time

    def services_on(self, day: date) -> FrozenSet[str]:
        return self.services_by_date.get(day, frozenset())

    def routes_at(self, stop_id: str) -> List[str]:
        return sorted({p.route_id for stop in self.siblings(stop_id) for p in self.by_stop.get(stop, ())})

    def siblings(self, stop_id: str) -> Tuple[str, ...]:
        """The stops with the same name (a real feed often has one per direction or platform):
        a citizen waiting at « Gare » means all of them."""
        stop = self.stops.get(stop_id)
        if stop is None:
            return (stop_id,)
        return tuple(s.stop_id for s in self.stops.values() if fold(s.name) == fold(stop.name))

    def passages(self, stop_id: str) -> Tuple[Passage, ...]:
        """The passages at the stop and its siblings, in time order."""
        found = [p for stop in self.siblings(stop_id) for p in self.by_stop.get(stop, ())]
        return tuple(sorted(found, key=lambda p: (p.at, p.route_id)))


# ---- reading ----------------------------------------------------------------------------------


def gtfs_path() -> Path:
    return content_path("GRU_GTFS_PATH", DEFAULT_GTFS_PATH)


def _fail(path: Path, heading: str, problems: List[Problem] = (), end: str = "") -> FeedError:
    lines = [f"{heading} : {shown_path(path)} ({GTFS_LABEL}){end}"]
    lines += [f"  - {problem}" for problem in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"  - … et {len(problems) - MAX_PROBLEMS} autre(s) erreur(s)")
    return FeedError("\n".join(lines), path=path, label=GTFS_LABEL, problems=list(problems))


def _read(path: Path) -> gtfs_kit.Feed:
    # gtfs-kit tries a URL when the path does not exist: a typo must not become a download.
    if not path.exists():
        raise _fail(
            path, "Flux GTFS introuvable", end=" : indiquez un dossier ou un fichier .zip (GRU_GTFS_PATH)"
        )
    if path.is_file() and not zipfile.is_zipfile(path):
        raise _fail(
            path, "Flux GTFS illisible", end=" : un dossier de fichiers .txt ou un fichier .zip est attendu"
        )
    try:
        return gtfs_kit.read_feed(path, dist_units="km")
    except (
        ValueError,
        TypeError,
        KeyError,
        OSError,
        UnicodeDecodeError,
        zipfile.BadZipFile,
        pd.errors.ParserError,
    ) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise _fail(
            path, "Flux GTFS illisible", [Problem("", None, f"lecture impossible ({detail})")]
        ) from exc


def _row(index: int) -> int:
    """The line in the .txt file of a table's row (line 1 is the header)."""
    return int(index) + 2


def _times(path: Path, stop_times: pd.DataFrame, problems: List[Problem]) -> Dict[int, time]:
    parsed: Dict[int, time] = {}
    for index, value in stop_times["departure_time"].items():
        text = "" if pd.isna(value) else str(value).strip()
        try:
            seconds = gtfs_kit.timestr_to_seconds(text)
        except (ValueError, TypeError, IndexError):
            seconds = None
        if seconds is None or pd.isna(seconds):
            problems.append(
                Problem(
                    f"stop_times.txt, ligne {_row(index)}",
                    None,
                    f"heure de départ « {text} » invalide (format attendu HH:MM:SS)",
                )  # fmt: skip
            )
            continue
        seconds = int(seconds)
        parsed[index] = time((seconds // 3600) % 24, (seconds % 3600) // 60)
    return parsed


def _check_tables(feed: gtfs_kit.Feed) -> List[Problem]:
    problems = []
    for table, columns in REQUIRED_COLUMNS.items():
        frame = getattr(feed, table, None)
        if frame is None or frame.empty:
            problems.append(Problem(f"{table}.txt", None, "fichier manquant ou vide"))
            continue
        for column in columns:
            if column not in frame.columns:
                problems.append(Problem(f"{table}.txt", None, f"colonne « {column} » manquante"))
    if (feed.calendar is None or feed.calendar.empty) and (
        feed.calendar_dates is None or feed.calendar_dates.empty
    ):
        problems.append(
            Problem(
                "calendar.txt", None, "calendar.txt ou calendar_dates.txt est nécessaire (jours de service)"
            )
        )
    return problems


def _unknown_references(feed: gtfs_kit.Feed) -> List[Problem]:
    """Every trip's route, every passage's trip and stop, every trip's service must exist."""
    problems = []
    services = set()
    for table in (feed.calendar, feed.calendar_dates):
        if table is not None and "service_id" in table.columns:
            services |= set(table["service_id"].dropna().astype(str))
    checks = (
        ("trips", "route_id", set(feed.routes["route_id"].astype(str)), "ligne", "routes.txt"),
        ("trips", "service_id", services, "calendrier", "calendar.txt / calendar_dates.txt"),
        ("stop_times", "trip_id", set(feed.trips["trip_id"].astype(str)), "course", "trips.txt"),
        ("stop_times", "stop_id", set(feed.stops["stop_id"].astype(str)), "arrêt", "stops.txt"),
    )
    for table, column, known, what, where in checks:
        frame = getattr(feed, table)
        for index, value in frame[column].items():
            if pd.isna(value) or str(value) not in known:
                problems.append(
                    Problem(
                        f"{table}.txt, ligne {_row(index)}", None, f"{what} « {value} » absent(e) de {where}"
                    )  # fmt: skip
                )
    return problems


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value).strip()


def _index(feed: gtfs_kit.Feed, departures: Dict[int, time]) -> SchoolFeed:
    stops = {str(r.stop_id): Stop(str(r.stop_id), _text(r.stop_name)) for r in feed.stops.itertuples()}
    routes = {
        str(r.route_id): Route(
            str(r.route_id), _text(r.route_short_name), _text(getattr(r, "route_long_name", ""))
        )
        for r in feed.routes.itertuples()
    }
    trips = feed.trips.set_index("trip_id")
    by_trip: Dict[str, List[Passage]] = {}
    for index, row in feed.stop_times.iterrows():
        trip = trips.loc[row["trip_id"]]
        direction = trip.get("direction_id") if "direction_id" in trips.columns else 0
        passage = Passage(
            trip_id=str(row["trip_id"]),
            route_id=str(trip["route_id"]),
            service_id=str(trip["service_id"]),
            stop_id=str(row["stop_id"]),
            sequence=int(row["stop_sequence"]),
            at=departures[index],
            headsign=_text(trip.get("trip_headsign")) if "trip_headsign" in trips.columns else "",
            direction=0 if direction is None or pd.isna(direction) else int(direction),
        )
        by_trip.setdefault(passage.trip_id, []).append(passage)
    ordered = {trip_id: tuple(sorted(ps, key=lambda p: p.sequence)) for trip_id, ps in by_trip.items()}
    by_stop: Dict[str, List[Passage]] = {}
    for passages in ordered.values():
        for passage in passages:
            by_stop.setdefault(passage.stop_id, []).append(passage)
    days = gtfs_kit.get_dates(feed)
    services = {
        datetime.strptime(day, "%Y%m%d").date(): frozenset(map(str, gtfs_kit.get_active_services(feed, day)))
        for day in days
    }
    dates = sorted(services)
    return SchoolFeed(
        stops=stops,
        routes=routes,
        trips=ordered,
        services_by_date=services,
        first_day=dates[0] if dates else None,
        last_day=dates[-1] if dates else None,
        by_stop={stop: tuple(sorted(ps, key=lambda p: (p.at, p.route_id))) for stop, ps in by_stop.items()},
    )


def parse_feed(feed: gtfs_kit.Feed, path: Path) -> SchoolFeed:
    """Check a feed read by gtfs-kit and index it; FeedError (French) when it is unusable."""
    problems = _check_tables(feed)
    if problems:
        raise _fail(path, "Flux GTFS incomplet", problems)
    problems = _unknown_references(feed)
    departures = _times(path, feed.stop_times, problems)
    if problems:
        raise _fail(path, "Flux GTFS invalide", problems)
    try:
        index = _index(feed, departures)
    except (ValueError, TypeError, KeyError) as exc:
        raise _fail(path, "Flux GTFS invalide", [Problem("", None, f"données incohérentes ({exc})")]) from exc
    if not any(index.services_by_date.values()):
        raise _fail(path, "Flux GTFS invalide", [Problem("calendar.txt", None, "aucun jour de service")])
    return index


def load_feed(path: Path | None = None) -> SchoolFeed:
    """Read, check and index the feed (GRU_GTFS_PATH when no path is given). Read once per
    path and process; slow the first time (pandas): the action server reads it at start-up
    (actions/__init__.py), then the actions call it from a thread."""
    return _load(Path(path or gtfs_path()).resolve())


@lru_cache(maxsize=4)
def _load(path: Path) -> SchoolFeed:
    return parse_feed(_read(path), path)
