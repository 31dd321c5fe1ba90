"""Territory configuration: the collectivité's services, hours, closures and links.

Plain Python (no Rasa): loaded from a YAML file that content teams edit, validated
once at start so that a mistake is reported with the faulty field instead of
surfacing as a wrong answer to a citizen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, List
from zoneinfo import ZoneInfo

from pydantic import root_validator, validator

from core.content import (
    KEY_PATTERN,
    PHONE_PATTERN,
    ContentError,
    ContentModel,
    checked_email,
    checked_timezone,
    content_path,
    load_content_file,
)
from core.holidays import holiday_name
from core.school_holidays import SchoolHolidays
from core.text import MONTHS_FR, WEEKDAYS, WEEKDAYS_FR, format_date_fr, format_time_fr  # noqa: F401

DEFAULT_TERRITORY_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "territory.yml"

_INTERVAL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class TerritoryConfigError(ContentError):
    """The territory file (or a content file depending on it) is missing or invalid; the
    message says where."""


@dataclass(frozen=True)
class Interval:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Interval:
        match = _INTERVAL.match(text.strip())
        if not match:
            raise ValueError(f"plage horaire « {text} » invalide (format attendu HH:MM-HH:MM)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        interval = cls(time(h1, m1), time(h2, m2))
        if interval.end <= interval.start:
            raise ValueError(f"plage horaire « {text} » : la fin doit suivre le début")
        return interval

    def french(self) -> str:
        return f"{format_time_fr(self.start)} à {format_time_fr(self.end)}"


def _parse_intervals(values: List[str]) -> List[Interval]:
    intervals = sorted((Interval.parse(v) for v in values), key=lambda i: i.start)
    for earlier, later in zip(intervals, intervals[1:], strict=False):
        if later.start < earlier.end:
            raise ValueError("plages horaires qui se chevauchent")
    return intervals


def check_latitude(cls, value: float) -> float:
    """A pydantic validator shared by the content files that place a site on the map."""
    if not -90 <= value <= 90:
        raise ValueError("latitude hors de [-90, 90]")
    return value


def check_longitude(cls, value: float) -> float:
    if not -180 <= value <= 180:
        raise ValueError("longitude hors de [-180, 180]")
    return value


def parse_week_hours(value: object) -> Dict[str, List[Interval]]:
    """{"monday": ["08:30-12:00", …], …} → intervals per weekday, with French errors."""
    if not isinstance(value, dict):
        raise ValueError("« hours » doit associer un jour (monday…sunday) à des plages")
    parsed = {}
    for day, intervals in value.items():
        if day not in WEEKDAYS:
            raise ValueError(f"jour « {day} » inconnu (attendu : {', '.join(WEEKDAYS)})")
        if not isinstance(intervals, list):
            raise ValueError(f"{day} : une liste de plages est attendue")
        parsed[day] = _parse_intervals([str(v) for v in intervals])
    return parsed


class Service(ContentModel):
    name: str
    address: str
    phone: str
    email: str
    url: str | None = None
    hours: Dict[str, List[Interval]] = {}

    @validator("phone")
    def _phone(cls, value: str) -> str:
        if not PHONE_PATTERN.match(value):
            raise ValueError(f"numéro de téléphone « {value} » invalide")
        return value

    @validator("email")
    def _email(cls, value: str) -> str:
        return checked_email(value)

    @validator("hours", pre=True)
    def _hours(cls, value: object) -> Dict[str, List[Interval]]:
        return {} if value is None else parse_week_hours(value)


class Closure(ContentModel):
    from_: date
    to: date
    reason: str
    services: List[str] | None = None
    hours: List[Interval] | None = None

    class Config:
        fields = {"from_": "from"}

    @validator("hours", pre=True)
    def _hours(cls, value: object) -> List[Interval] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValueError("une liste de plages est attendue")
        return _parse_intervals([str(v) for v in value])

    @root_validator(skip_on_failure=True)
    def _order(cls, values: dict) -> dict:
        if values["to"] < values["from_"]:
            raise ValueError("« to » doit être le même jour ou après « from »")
        return values

    def applies(self, service_key: str, day: date) -> bool:
        in_range = self.from_ <= day <= self.to
        return in_range and (self.services is None or service_key in self.services)


class Territory(ContentModel):
    name: str
    kind: str
    display_name: str
    of_name: str
    timezone: str = "Europe/Paris"
    website: str
    default_service: str
    alsace_moselle: bool = False
    services: Dict[str, Service]
    closures: List[Closure] = []
    topics: Dict[str, str] = {}
    links: Dict[str, str] = {}
    school_holidays: SchoolHolidays | None = None  # events and school transport read them

    @validator("of_name")
    def _of_name(cls, value: str) -> str:
        if not value.startswith(("de ", "du ", "des ")):
            raise ValueError("« of_name » doit commencer par « de », « de l' », « du » ou « des »")
        return value

    @validator("kind")
    def _kind(cls, value: str) -> str:
        if value not in ("commune", "intercommunalite", "departement"):
            raise ValueError("« kind » doit valoir commune, intercommunalite ou departement")
        return value

    @validator("timezone")
    def _timezone(cls, value: str) -> str:
        return checked_timezone(value)

    @validator("services")
    def _services(cls, value: Dict[str, Service]) -> Dict[str, Service]:
        if not value:
            raise ValueError("au moins un service est nécessaire")
        for key in value:
            if not KEY_PATTERN.match(key):
                raise ValueError(f"identifiant de service « {key} » invalide (minuscules, chiffres, _)")
        return value

    @root_validator(skip_on_failure=True)
    def _references(cls, values: dict) -> dict:
        known = set(values["services"])
        if values["default_service"] not in known:
            raise ValueError(f"default_service « {values['default_service']} » n'est pas un service défini")
        for topic, service in values.get("topics", {}).items():
            if service not in known:
                raise ValueError(f"topics.{topic} : service « {service} » non défini")
        for closure in values.get("closures", []):
            for service in closure.services or []:
                if service not in known:
                    raise ValueError(f"fermeture du {closure.from_} : service « {service} » non défini")
        return values

    # ---- queries -----------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def service_for(self, key: str | None = None, topic: str | None = None) -> str:
        """The service key for an explicit service, else for a topic, else the default."""
        if key and key in self.services:
            return key
        if topic and topic in self.topics:
            return self.topics[topic]
        return self.default_service

    def day_schedule(self, service_key: str, day: date) -> DaySchedule:
        """Opening intervals of a service on a given day, holidays and closures applied."""
        holiday = holiday_name(day, self.alsace_moselle)
        if holiday:
            return DaySchedule(day, [], f"jour férié : {holiday}")
        for closure in self.closures:
            if closure.applies(service_key, day):
                return DaySchedule(day, list(closure.hours or []), closure.reason)
        regular = self.services[service_key].hours.get(WEEKDAYS[day.weekday()], [])
        return DaySchedule(day, list(regular), None)

    def status(self, service_key: str, at: datetime | None = None) -> OpenStatus:
        """Whether the service is open at `at` (default now), and the next opening."""
        at = (at or self.now()).astimezone(self.tz)
        today = self.day_schedule(service_key, at.date())
        for interval in today.intervals:
            if interval.start <= at.time() < interval.end:
                return OpenStatus(True, today, closes_at=interval.end)
        for offset in range(0, 31):
            day = at.date() + timedelta(days=offset)
            schedule = today if offset == 0 else self.day_schedule(service_key, day)
            for interval in schedule.intervals:
                if offset > 0 or interval.start > at.time():
                    opening = datetime.combine(day, interval.start, tzinfo=self.tz)
                    return OpenStatus(False, today, next_opening=opening)
        return OpenStatus(False, today)

    def upcoming_closures(self, service_key: str, start: date, days: int = 14) -> List[DaySchedule]:
        """Days within `days` of `start` when the service departs from its usual week."""
        found = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            schedule = self.day_schedule(service_key, day)
            usual = self.services[service_key].hours.get(WEEKDAYS[day.weekday()], [])
            if schedule.reason and usual:
                found.append(schedule)
        return found


@dataclass
class DaySchedule:
    day: date
    intervals: List[Interval]
    reason: str | None  # set when the day departs from the usual week


@dataclass
class OpenStatus:
    open_now: bool
    today: DaySchedule
    closes_at: time | None = None
    next_opening: datetime | None = None


# ---- French formatting ---------------------------------------------------------------


def format_intervals_fr(intervals: List[Interval]) -> str:
    if not intervals:
        return "fermé"
    parts = [f"de {i.french()}" for i in intervals]
    return " et ".join(parts)


def format_week_fr(service: Service) -> List[str]:
    """One line per weekday: 'lundi : de 8h30 à 12h et de 13h30 à 17h30'."""
    lines = []
    for key, label in zip(WEEKDAYS, WEEKDAYS_FR, strict=True):
        intervals = service.hours.get(key, [])
        if intervals:
            lines.append(f"{label} : {format_intervals_fr(intervals)}")
    return lines


def describe_status_fr(territory: Territory, service_key: str, at: datetime | None = None) -> str:
    """A short sentence: open until…, or closed with the next opening."""
    status = territory.status(service_key, at)
    reason = status.today.reason
    if status.open_now:
        text = f"C'est ouvert en ce moment, jusqu'à {format_time_fr(status.closes_at)}."
        return f"{text} Aujourd'hui, {reason}." if reason else text
    text = "C'est fermé en ce moment"
    if reason and not status.today.intervals:
        text += f" ({reason})"
    if status.next_opening is None:
        return text + "."
    now_day = (at or territory.now()).astimezone(territory.tz).date()
    opening_day = status.next_opening.date()
    when = format_time_fr(status.next_opening.time())
    if opening_day == now_day:
        return f"{text}. Réouverture aujourd'hui à {when}."
    if opening_day == now_day + timedelta(days=1):
        return f"{text}. Réouverture demain à {when}."
    return f"{text}. Réouverture {format_date_fr(opening_day)} à {when}."


# ---- loading -------------------------------------------------------------------------------

TERRITORY_LABEL = "territoire"


def territory_path() -> Path:
    return content_path("GRU_TERRITORY_FILE", DEFAULT_TERRITORY_FILE)


@lru_cache(maxsize=8)
def load_territory(path: Path | None = None) -> Territory:
    """Load and validate the territory file (cached per path)."""
    return load_content_file(path or territory_path(), Territory, TERRITORY_LABEL, error=TerritoryConfigError)
