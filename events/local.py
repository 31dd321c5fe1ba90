"""The local events adapter: the territory's own agenda, in a content file.

territory/demo/events.yml (GRU_EVENTS_FILE to change it) lists categories (with the words
citizens use for them) and events (the school holidays are the territory's:
core/school_holidays.py). An event has
a `when` that never goes stale in a demo: every week (« tous les samedis »), the n-th weekday
of the month (« le premier dimanche du mois »), every year between two days (a Christmas market
in December), a number of days from today, or fixed dates (a real agenda). Each search returns
the next occurrence of each event inside the window, earliest first.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Literal, Union

from pydantic import root_validator, validator

from core import clock
from core.content import KEY_PATTERN, ContentError, StrippedContentModel, content_path, load_content_file
from core.text import WEEKDAYS_FR, fold
from events.connector import PAGE_SIZE, Event, EventPage, EventQuery, looks_free

DEFAULT_EVENTS_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "events.yml"
EVENTS_LABEL = "agenda des événements"
# Where the demo page serves the images named in the file (`image: marche.png`).
DEFAULT_IMAGE_URL = "http://localhost:8080/images/events/"
SEARCH_DAYS = 400  # how far ahead an occurrence is looked for (a yearly event is always found)

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(png|jpe?g)$")


class EventsConfigError(ContentError):
    """The events file is missing or invalid; the message says where."""


def _clock(value: str) -> time:
    match = _TIME.match(value or "")
    if not match:
        raise ValueError(f"heure « {value} » invalide (format HH:MM, par exemple 20:30)")
    return time(int(match[1]), int(match[2]))


def _weekday(value: str) -> int:
    folded = fold(value)
    if folded not in WEEKDAYS_FR:
        raise ValueError(f"jour « {value} » inconnu (lundi, mardi… dimanche)")
    return WEEKDAYS_FR.index(folded)


class Category(StrippedContentModel):
    label: str  # plural, for sentences: « concerts », « marchés de Noël »
    words: List[str]  # what citizens write: « concert », « musique », « chorale »

    @validator("words")
    def _words(cls, value: List[str]) -> List[str]:
        if not value or any(not fold(w) for w in value):
            raise ValueError("au moins un mot, sans mot vide")
        return value


class When(StrippedContentModel):
    """Exactly one of: weekly, monthly, yearly_from/yearly_to, in_days, dates."""

    weekly: str | None = None  # « samedi »
    monthly: int | None = None  # 1..4 or -1 (the last), with `weekday`
    weekday: str | None = None
    yearly_from: str | None = None  # « 12-11 »: every day from 11 to 24 December
    yearly_to: str | None = None
    in_days: int | None = None  # the day `in_days` days from today (a demo « dans dix jours »)
    dates: List[date] = []
    start: str  # « 20:30 »
    end: str | None = None  # « 23:00 »

    @validator("start", "end")
    def _times(cls, value):
        if value is not None:
            _clock(value)
        return value

    @validator("weekly", "weekday")
    def _days(cls, value):
        if value is not None:
            _weekday(value)
        return value

    @validator("monthly")
    def _nth(cls, value):
        if value is not None and value not in (1, 2, 3, 4, -1):
            raise ValueError("1, 2, 3, 4 (le n-ième du mois) ou -1 (le dernier) est attendu")
        return value

    @validator("yearly_from", "yearly_to")
    def _month_day(cls, value):
        if value is not None and not _MONTH_DAY.match(value):
            raise ValueError(f"« {value} » : format MM-JJ attendu (par exemple 12-11)")
        return value

    @validator("in_days")
    def _in_days(cls, value):
        if value is not None and not 0 <= value <= 365:
            raise ValueError("un nombre de jours entre 0 et 365 est attendu")
        return value

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values):
        kinds = [
            values.get("weekly") is not None,
            values.get("monthly") is not None,
            values.get("yearly_from") is not None or values.get("yearly_to") is not None,
            values.get("in_days") is not None,
            bool(values.get("dates")),
        ]
        if sum(kinds) != 1:
            raise ValueError(
                "une seule récurrence est attendue : weekly, monthly (avec weekday), "
                "yearly_from et yearly_to, in_days ou dates"
            )
        if values.get("monthly") is not None and values.get("weekday") is None:
            raise ValueError("weekday : le jour est obligatoire avec monthly")
        if (values.get("yearly_from") is None) != (values.get("yearly_to") is None):
            raise ValueError("yearly_from et yearly_to vont ensemble")
        start, end = values["start"], values.get("end")
        if end is not None and _clock(end) <= _clock(start):
            raise ValueError("end : l'heure de fin doit suivre l'heure de début")
        return values

    def matches(self, day: date, today: date) -> bool:
        if self.weekly is not None:
            return day.weekday() == _weekday(self.weekly)
        if self.monthly is not None:
            if day.weekday() != _weekday(self.weekday):
                return False
            if self.monthly == -1:
                return (day + timedelta(days=7)).month != day.month
            return (day.day - 1) // 7 == self.monthly - 1
        if self.yearly_from is not None:
            key = f"{day.month:02d}-{day.day:02d}"
            low, high = self.yearly_from, self.yearly_to
            return low <= key <= high if low <= high else (key >= low or key <= high)
        if self.in_days is not None:
            return day == today + timedelta(days=self.in_days)
        return day in self.dates


class LocalEvent(StrippedContentModel):
    id: str
    title: str
    description: str = ""
    categories: List[str] = []
    audience: Literal["tous", "familles", "enfants"] = "tous"
    place: str
    address: str | None = None
    price: Union[float, str] = "Gratuit"  # a number of euros (0: free) or a text (« 8 € / 5 € réduit »)
    image: str | None = None  # a file name served by the demo page, or an https:// address
    link: str | None = None
    registration: str | None = None
    when: When

    @validator("id")
    def _id(cls, value):
        if not KEY_PATTERN.match(value):
            raise ValueError("identifiant en minuscules, chiffres et « _ » attendu")
        return value

    @validator("title")
    def _title(cls, value):
        if not value or len(value) > 80:
            raise ValueError("titre obligatoire, 80 caractères au plus")
        return value

    @validator("image")
    def _image(cls, value):
        if value is not None and not (value.startswith("https://") or _IMAGE_NAME.match(value)):
            raise ValueError("nom de fichier .png/.jpg (en minuscules) ou adresse https:// attendu")
        return value

    @validator("link", "registration")
    def _url(cls, value):
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("adresse web commençant par https:// attendue")
        return value

    @validator("price")
    def _price(cls, value):
        if isinstance(value, float) and value < 0:
            raise ValueError("un prix positif est attendu")
        return value

    @property
    def price_fr(self) -> str:
        if isinstance(self.price, str):
            return self.price
        if self.price == 0:
            return "Gratuit"
        amount = f"{self.price:.2f}".replace(".", ",").removesuffix(",00")
        return f"{amount} €"


class EventsFile(StrippedContentModel):
    agenda_url: str | None = None  # the collectivité's agenda page (« Plus d'infos » by default)
    categories: Dict[str, Category]
    events: List[LocalEvent]


def _check(model: EventsFile):
    seen = set()
    for index, event in enumerate(model.events):
        if event.id in seen:
            yield ("events", index, "id"), f"identifiant « {event.id} » en double"
        seen.add(event.id)
        for position, category in enumerate(event.categories):
            if category not in model.categories:
                yield ("events", index, "categories", position), f"catégorie « {category} » inconnue"
    for key in model.categories:
        if not KEY_PATTERN.match(key):
            yield ("categories", key), "clé en minuscules, chiffres et « _ » attendue"


def events_path() -> Path:
    return content_path("GRU_EVENTS_FILE", DEFAULT_EVENTS_FILE)


@lru_cache(maxsize=8)
def load_events_file(path: Path | None = None) -> EventsFile:
    """Load and validate the events file (cached per path)."""
    return load_content_file(
        path or events_path(), EventsFile, EVENTS_LABEL, error=EventsConfigError, check=_check
    )


def image_url(name: str | None, base: str | None = None) -> str | None:
    if not name:
        return None
    if name.startswith("https://"):
        return name
    base = base or os.environ.get("GRU_EVENTS_IMAGE_URL", "").strip() or DEFAULT_IMAGE_URL
    return base.rstrip("/") + "/" + name


def next_occurrence(event: LocalEvent, query: EventQuery, now: datetime) -> Event | None:
    """The first occurrence of `event` running at or after the window's start (`now` when the
    query has none or it has passed) and beginning before its end; None when there is none
    within SEARCH_DAYS."""
    tz = now.tzinfo
    start = max(query.start, now) if query.start else now  # a kept query is never in the past
    today = now.date()
    day = start.date()
    last = day + timedelta(days=SEARCH_DAYS)
    if query.end is not None:
        last = min(last, query.end.date())
    begin_t, end_t = _clock(event.when.start), _clock(event.when.end) if event.when.end else None
    while day <= last:
        if event.when.matches(day, today):
            begin = datetime.combine(day, begin_t, tzinfo=tz)
            end = datetime.combine(day, end_t, tzinfo=tz) if end_t else None
            if query.end is not None and begin > query.end:
                return None
            if (end or begin) >= start:
                return _event(event, begin, end)
        day += timedelta(days=1)
    return None


def _event(event: LocalEvent, begin: datetime, end: datetime | None) -> Event:
    price = event.price_fr
    return Event(
        uid=event.id,
        title=event.title,
        begin=begin,
        end=end,
        place=event.place,
        address=event.address,
        price=price,
        free=looks_free(price),
        for_children=event.audience in ("enfants", "familles"),
        categories=tuple(event.categories),
        image_url=image_url(event.image),
        link=event.link,
        registration=event.registration,
    )


def _wanted(event: LocalEvent, query: EventQuery) -> bool:
    if query.free_only and not looks_free(event.price_fr):
        return False
    if query.children and event.audience not in ("enfants", "familles"):
        return False
    if query.categories:  # the file's own categories; the words are for OpenAgenda's text search
        return any(c in event.categories for c in query.categories)
    if query.search:
        words = fold(f"{event.title} {event.description}")
        return any(re.search(rf"\b{re.escape(fold(w))}", words) for w in query.search)
    return True


@dataclass
class LocalEventsAdapter:
    """Events of the content file; `now` is the territory's clock unless a test gives one."""

    path: Path | None = None

    def matching(self, query: EventQuery, now: datetime | None = None) -> List[Event]:
        """Every matching event's next occurrence, earliest first (CPU only: call it in a thread)."""
        content = load_events_file(self.path)
        now = clock.local(now) if now is not None else clock.now()
        found = []
        for event in content.events:
            if not _wanted(event, query):
                continue
            occurrence = next_occurrence(event, query, now)
            if occurrence is not None:
                found.append(occurrence)
        return sorted(found, key=lambda e: (e.begin, e.title))

    async def search(self, query: EventQuery, size: int = PAGE_SIZE, cursor: str | None = None) -> EventPage:
        offset = int(cursor) if cursor and cursor.isdigit() and len(cursor) < 6 else 0
        found = await asyncio.to_thread(self.matching, query)  # a year of days per event: off the loop
        page = found[offset : offset + size]
        more = offset + size < len(found)
        return EventPage(page, str(offset + size) if more else None, len(found))
