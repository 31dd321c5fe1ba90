"""Recycling centres (déchetteries) and bulky waste (encombrants): seasonal hours, status, rules.

Plain Python (no Rasa): loaded from a YAML file that content teams edit
(territory/demo/recycling_center.yml by default, GRU_RECYCLING_FILE to change it),
validated once with French messages naming the faulty field. The texts for citizens are
short, polite and under 900 characters (Messenger); the loader refuses a file whose
lists would make a message longer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, List, Literal, Tuple
from zoneinfo import ZoneInfo

from pydantic import root_validator, validator

from core.content import (
    KEY_PATTERN,
    PHONE_PATTERN,
    ContentModel,
    checked_timezone,
    content_path,
    load_content_file,
)
from core.holidays import holiday_name
from core.territory import (
    WEEKDAYS,
    WEEKDAYS_FR,
    Interval,
    TerritoryConfigError,
    check_latitude,
    check_longitude,
    format_date_fr,
    format_intervals_fr,
    format_time_fr,
    parse_week_hours,
)
from core.text import join_fr

DEFAULT_RECYCLING_FILE = (
    Path(__file__).resolve().parent.parent / "territory" / "demo" / "recycling_center.yml"
)

MAX_MESSAGE = 900  # characters, Messenger
LOOKAHEAD_DAYS = 14  # how far the next opening and upcoming exceptions are searched
CLOSING_SOON_MINUTES = 30  # "Attention, elle ferme dans 20 minutes."
MAX_REASON = 120  # characters of a closure reason (it is quoted in sentences)

Season = Literal["summer", "winter"]
DayKind = Literal["holiday", "closure", "weekly"]
SEASON_FR = {"summer": "été", "winter": "hiver"}
WEEKLY_REASON = "jour de fermeture habituel"

_REF_YEAR = 2001  # not a leap year: "02-29" is refused, a season boundary exists every year
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_ZIP = re.compile(r"^\d{5}$")


class RecyclingConfigError(TerritoryConfigError):
    """The recycling-centre file is missing or invalid; the message says where."""


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day of the year without the year ("04-01"), for season boundaries."""

    month: int
    day: int

    @classmethod
    def parse(cls, value: object) -> MonthDay:
        text = str(value).strip()
        match = _MONTH_DAY.match(text)
        if match:
            month, day = int(match[1]), int(match[2])
            try:
                date(_REF_YEAR, month, day)
            except ValueError:
                pass
            else:
                return cls(month, day)
        raise ValueError(
            f"date « {text} » invalide (format attendu MM-JJ, par exemple « 04-01 », sans 29 février)"
        )

    @classmethod
    def of(cls, day: date) -> MonthDay:
        return cls(day.month, day.day)

    def shifted(self, days: int) -> MonthDay:
        return MonthDay.of(date(_REF_YEAR, self.month, self.day) + timedelta(days=days))

    def french(self) -> str:
        """MonthDay(4, 1) -> '1er avril'."""
        return format_date_fr(date(_REF_YEAR, self.month, self.day), with_weekday=False)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


def _day_intervals(value: object) -> List[Interval]:
    """["09:00-12:00", …] -> sorted intervals, with the French errors of parse_week_hours."""
    if not isinstance(value, list):
        raise ValueError("une liste de plages « HH:MM-HH:MM » est attendue")
    return parse_week_hours({"monday": [str(v) for v in value]})["monday"]


def _not_blank(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"« {field} » ne peut pas être vide")
    return value


class Material(ContentModel):
    name: str
    note: str | None = None

    @validator("name")
    def _name(cls, value: str) -> str:
        return _not_blank(value, "name")

    @validator("note")
    def _note(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    def french(self) -> str:
        return f"{self.name} ({self.note})" if self.note else self.name


def _materials(value: List[Material], field: str, required: bool = True) -> List[Material]:
    if required and not value:
        raise ValueError(f"« {field} » doit lister au moins une matière")
    names = [m.name.casefold() for m in value]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"« {name} » figure deux fois dans « {field} »")
    return value


class SeasonHours(ContentModel):
    from_: MonthDay | None = None
    to: MonthDay | None = None
    hours: Dict[str, List[Interval]]

    class Config:
        fields = {"from_": "from"}

    @validator("from_", "to", pre=True)
    def _month_day(cls, value: object) -> MonthDay | None:
        return None if value is None else MonthDay.parse(value)

    @validator("hours", pre=True)
    def _hours(cls, value: object) -> Dict[str, List[Interval]]:
        if not value:
            raise ValueError("« hours » doit associer au moins un jour (monday…sunday) à des plages")
        return parse_week_hours(value)


class Seasons(ContentModel):
    summer: SeasonHours
    winter: SeasonHours

    @root_validator(skip_on_failure=True)
    def _dates(cls, values: dict) -> dict:
        summer, winter = values["summer"], values["winter"]
        if summer.from_ is None or summer.to is None:
            raise ValueError("summer : « from » et « to » (MM-JJ) sont obligatoires")
        if summer.to.shifted(1) == summer.from_:
            raise ValueError("summer couvre toute l'année : il ne reste aucun jour pour winter")
        expected = (summer.to.shifted(1), summer.from_.shifted(-1))
        given = (winter.from_, winter.to)
        if given != (None, None) and given != expected:
            raise ValueError(
                f"winter : « from » et « to » doivent compléter l'été (from « {expected[0]} », "
                f"to « {expected[1]} »), ou être omis"
            )
        return values

    def season_for(self, day: date) -> Season:
        start, end, today = self.summer.from_, self.summer.to, MonthDay.of(day)
        inside = start <= today <= end if start <= end else (today >= start or today <= end)
        return "summer" if inside else "winter"

    def span(self, season: Season) -> Tuple[MonthDay, MonthDay]:
        """First and last day of a season ("04-01", "09-30")."""
        start, end = self.summer.from_, self.summer.to
        return (start, end) if season == "summer" else (end.shifted(1), start.shifted(-1))

    def hours(self, season: Season) -> Dict[str, List[Interval]]:
        return (self.summer if season == "summer" else self.winter).hours


class CenterClosure(ContentModel):
    from_: date
    to: date | None = None
    reason: str
    hours: List[Interval] | None = None

    class Config:
        fields = {"from_": "from"}

    @validator("reason")
    def _reason(cls, value: str) -> str:
        value = _not_blank(value, "reason")
        if len(value) > MAX_REASON:
            raise ValueError(f"« reason » trop long ({len(value)} caractères, {MAX_REASON} au maximum)")
        return value

    @validator("hours", pre=True)
    def _hours(cls, value: object) -> List[Interval] | None:
        return None if value is None else _day_intervals(value)

    @root_validator(skip_on_failure=True)
    def _order(cls, values: dict) -> dict:
        if values["to"] is None:
            values["to"] = values["from_"]
        if values["to"] < values["from_"]:
            raise ValueError("« to » doit être le même jour ou après « from »")
        return values

    def applies(self, day: date) -> bool:
        return self.from_ <= day <= self.to


class Access(ContentModel):
    conditions: List[str]
    how_to_get_badge: str

    @validator("conditions")
    def _conditions(cls, value: List[str]) -> List[str]:
        value = [c.strip() for c in value if c.strip()]
        if not value:
            raise ValueError("« conditions » doit contenir au moins une condition d'accès")
        return value

    @validator("how_to_get_badge")
    def _badge(cls, value: str) -> str:
        return _not_blank(value, "how_to_get_badge")


class RecyclingCenter(ContentModel):
    id: str
    name: str
    the_name: str
    feminine: bool | None = None
    timezone: str = "Europe/Paris"
    alsace_moselle: bool = False
    address: str
    zip_code: str
    city: str
    latitude: float
    longitude: float
    phone: str
    url: str | None = None
    seasons: Seasons
    closed_on_holidays: bool = True
    closures: List[CenterClosure] = []
    accepted: List[Material]
    refused: List[Material] = []
    access: Access

    @validator("id")
    def _id(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError(f"identifiant de déchetterie « {value} » invalide (minuscules, chiffres, _)")
        return value

    @validator("the_name")
    def _the_name(cls, value: str) -> str:
        if not value.startswith(("la ", "le ", "l'", "l’")):
            raise ValueError(
                "« the_name » doit commencer par « la », « le » ou « l' » (« la déchetterie de … »)"
            )
        return value

    @validator("timezone")
    def _timezone(cls, value: str) -> str:
        return checked_timezone(value)

    @validator("zip_code", pre=True)
    def _zip(cls, value: object) -> str:
        if not _ZIP.match(str(value)):
            raise ValueError(f"code postal « {value} » invalide (5 chiffres)")
        return str(value)

    _lat = validator("latitude", allow_reuse=True)(check_latitude)
    _lon = validator("longitude", allow_reuse=True)(check_longitude)

    @validator("phone")
    def _phone(cls, value: str) -> str:
        if not PHONE_PATTERN.match(value):
            raise ValueError(f"numéro de téléphone « {value} » invalide")
        return value

    @validator("accepted")
    def _accepted(cls, value: List[Material]) -> List[Material]:
        return _materials(value, "accepted")

    @validator("refused")
    def _refused(cls, value: List[Material]) -> List[Material]:
        return _materials(value, "refused", required=False)

    @root_validator(skip_on_failure=True)
    def _consistency(cls, values: dict) -> dict:
        if values["feminine"] is None:
            if values["the_name"].startswith("la "):
                values["feminine"] = True
            elif values["the_name"].startswith("le "):
                values["feminine"] = False
            else:
                raise ValueError(
                    "feminine : true ou false est nécessaire quand « the_name » commence par « l' »"
                )
        accepted = {m.name.casefold() for m in values["accepted"]}
        for material in values["refused"]:
            if material.name.casefold() in accepted:
                raise ValueError(f"refused : « {material.name} » figure aussi dans « accepted »")
        return values

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class BulkyWaste(ContentModel):
    how_it_works: str
    booking: str
    accepted: List[Material]
    refused: List[Material] = []
    limits: List[str] = []
    alternatives: List[str] = []

    @validator("how_it_works", "booking")
    def _text(cls, value: str, field) -> str:
        return _not_blank(value, field.name)

    @validator("accepted")
    def _accepted(cls, value: List[Material]) -> List[Material]:
        return _materials(value, "accepted")

    @validator("refused")
    def _refused(cls, value: List[Material]) -> List[Material]:
        return _materials(value, "refused", required=False)

    @validator("limits", "alternatives")
    def _sentences(cls, value: List[str]) -> List[str]:
        return [s.strip() for s in value if s.strip()]


class RecyclingConfig(ContentModel):
    centers: List[RecyclingCenter]
    bulky_waste: BulkyWaste

    @validator("centers")
    def _centers(cls, value: List[RecyclingCenter]) -> List[RecyclingCenter]:
        if not value:
            raise ValueError("au moins une déchetterie est nécessaire")
        ids = [center.id for center in value]
        for center_id in ids:
            if ids.count(center_id) > 1:
                raise ValueError(f"deux déchetteries ont l'identifiant « {center_id} »")
        return value

    def center(self, center_id: str | None = None) -> RecyclingCenter:
        """The centre `center_id`, or the first one of the file when no id is given."""
        if center_id is None:
            return self.centers[0]
        for center in self.centers:
            if center.id == center_id:
                return center
        raise KeyError(center_id)


# ---- status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CenterDay:
    """A centre's opening on one day, holidays and closures applied."""

    day: date
    season: Season
    intervals: Tuple[Interval, ...]
    reason: str | None = None  # holiday name, closure reason, or WEEKLY_REASON
    kind: DayKind | None = None  # None: a usual opening day


@dataclass(frozen=True)
class CenterStatus:
    at: datetime  # the moment asked about, in the centre's timezone
    today: CenterDay
    open_now: bool
    closes_at: time | None = None  # when open
    next_opening: datetime | None = None  # when closed, within LOOKAHEAD_DAYS

    @property
    def reason(self) -> str | None:
        """Why today is not a usual day: holiday name, closure reason or usual closing day."""
        return self.today.reason

    @property
    def season(self) -> Season:
        return self.today.season


def _local(center: RecyclingCenter, at: datetime | None) -> datetime:
    """`at` in the centre's timezone (naive = already local); now when None."""
    if at is None:
        return datetime.now(center.tz)
    return at.replace(tzinfo=center.tz) if at.tzinfo is None else at.astimezone(center.tz)


def _local_day(center: RecyclingCenter, day: date | datetime | None) -> date:
    if day is None or isinstance(day, datetime):
        return _local(center, day).date()
    return day


def season_for(center: RecyclingCenter, day: date) -> Season:
    """Which hours apply on `day`: "summer" or "winter" (season boundaries inclusive)."""
    return center.seasons.season_for(day)


def center_day(center: RecyclingCenter, day: date) -> CenterDay:
    """Opening intervals on `day`: public holiday, then exceptional closure, then the season's week."""
    season = season_for(center, day)
    if center.closed_on_holidays:
        holiday = holiday_name(day, center.alsace_moselle)
        if holiday:
            return CenterDay(day, season, (), holiday, "holiday")
    for closure in center.closures:
        if closure.applies(day):
            return CenterDay(day, season, tuple(closure.hours or ()), closure.reason, "closure")
    regular = center.seasons.hours(season).get(WEEKDAYS[day.weekday()], [])
    if not regular:
        return CenterDay(day, season, (), WEEKLY_REASON, "weekly")
    return CenterDay(day, season, tuple(regular))


def center_status(center: RecyclingCenter, at: datetime | None = None) -> CenterStatus:
    """Open at `at` (default now, Europe/Paris unless the centre says otherwise)? Until when, or
    when does it open next (within LOOKAHEAD_DAYS)."""
    at = _local(center, at)
    today = center_day(center, at.date())
    for interval in today.intervals:
        if interval.start <= at.time() < interval.end:
            return CenterStatus(at, today, True, closes_at=interval.end)
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = at.date() + timedelta(days=offset)
        schedule = today if offset == 0 else center_day(center, day)
        for interval in schedule.intervals:
            if offset > 0 or interval.start > at.time():
                opening = datetime.combine(day, interval.start, tzinfo=center.tz)
                return CenterStatus(at, today, False, next_opening=opening)
    return CenterStatus(at, today, False)


# ---- French texts --------------------------------------------------------------------------


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _e(center: RecyclingCenter) -> str:
    return "e" if center.feminine else ""


def _pronoun(center: RecyclingCenter) -> str:
    return "elle" if center.feminine else "il"


def _when_fr(moment: datetime, today: date) -> str:
    """'aujourd'hui à 14h', 'demain, samedi 26 décembre, à 9h' or 'lundi 28 décembre à 14h'."""
    hour = format_time_fr(moment.time())
    if moment.date() == today:
        return f"aujourd'hui à {hour}"
    if moment.date() == today + timedelta(days=1):
        return f"demain, {format_date_fr(moment.date())}, à {hour}"
    return f"{format_date_fr(moment.date())} à {hour}"


def _weekly_closure_fr(center: RecyclingCenter, day: CenterDay) -> str:
    """'le mardi', or 'le lundi en hiver' when the other season opens that weekday."""
    weekday = WEEKDAYS[day.day.weekday()]
    other: Season = "winter" if day.season == "summer" else "summer"
    text = f"le {WEEKDAYS_FR[day.day.weekday()]}"
    if center.seasons.hours(other).get(weekday):
        text += f" en {SEASON_FR[day.season]}"
    return text


def describe_center_fr(center: RecyclingCenter, at: datetime | None = None) -> str:
    """Open or closed at `at`, until when or the next opening, and why when today is special."""
    status = center_status(center, at)
    today, the, e = status.today, _capitalized(center.the_name), _e(center)
    changed = f"Horaires modifiés aujourd'hui : {today.reason}." if today.kind == "closure" else None
    if status.open_now:
        parts = [f"{the} est ouvert{e} jusqu'à {format_time_fr(status.closes_at)}."]
        closing = datetime.combine(today.day, status.closes_at)
        left = math.ceil((closing - status.at.replace(tzinfo=None)).total_seconds() / 60)
        if left <= CLOSING_SOON_MINUTES:
            unit = "minute" if left == 1 else "minutes"
            parts.append(f"Attention, {_pronoun(center)} ferme dans {left} {unit}.")
        return " ".join(parts + [changed] if changed else parts)
    if not today.intervals:
        if today.kind == "holiday":
            parts = [f"{the} est fermé{e} aujourd'hui ({today.reason}, jour férié)."]
        elif today.kind == "closure":
            parts = [f"{the} est fermé{e} aujourd'hui ({today.reason})."]
        else:
            parts = [f"{the} est fermé{e} {_weekly_closure_fr(center, today)}."]
    else:
        later_today = status.next_opening is not None and status.next_opening.date() == today.day
        when = "en ce moment" if later_today else "pour aujourd'hui"
        parts = [f"{the} est fermé{e} {when}."]
        if changed:
            parts.append(changed)
    if status.next_opening is None:
        parts.append(
            f"Aucune ouverture n'est prévue dans les {LOOKAHEAD_DAYS} prochains jours. "
            f"Renseignements au {center.phone}."
        )
    else:
        parts.append(f"Prochaine ouverture : {_when_fr(status.next_opening, today.day)}.")
    return " ".join(parts)


def _upcoming_fr(center: RecyclingCenter, start: date) -> List[str]:
    """Departures from the usual week within LOOKAHEAD_DAYS of `start`, one short sentence each."""
    notes: List[str] = []
    season = season_for(center, start)
    pending: List[CenterDay] = []  # consecutive days of the same full closure

    def flush() -> None:
        if not pending:
            return
        first, last = pending[0], pending[-1]
        end = last.day
        if first.kind == "closure":  # the whole closure, even beyond the window
            end = max(c.to for c in center.closures if c.applies(last.day) and c.reason == last.reason)
        reason = f"{first.reason}, jour férié" if first.kind == "holiday" else first.reason
        if first.day == end:
            notes.append(f"Fermé{_e(center)} {format_date_fr(first.day)} ({reason}).")
        else:
            span = f"du {format_date_fr(first.day)} au {format_date_fr(end)}"
            notes.append(f"Fermé{_e(center)} {span} ({reason}).")
        pending.clear()

    for offset in range(LOOKAHEAD_DAYS + 1):
        day = start + timedelta(days=offset)
        schedule = center_day(center, day)
        if schedule.season != season:
            flush()
            notes.append(f"Horaires d'{SEASON_FR[schedule.season]} à partir du {format_date_fr(day)}.")
            season = schedule.season
        if schedule.kind not in ("holiday", "closure"):
            flush()
            continue
        if schedule.intervals:  # reduced hours
            flush()
            hours = format_intervals_fr(list(schedule.intervals))
            notes.append(f"{_capitalized(format_date_fr(day))} : {hours} ({schedule.reason}).")
            continue
        previous = pending[-1] if pending else None
        if previous and previous.reason == schedule.reason and previous.day == day - timedelta(days=1):
            pending.append(schedule)  # the same closure goes on, even over a usual closing day
            continue
        flush()
        if center.seasons.hours(schedule.season).get(WEEKDAYS[day.weekday()]):
            pending.append(schedule)  # nothing to say when the centre would be closed anyway
    flush()
    return notes


def week_hours_fr(
    center: RecyclingCenter, day: date | datetime | None = None, limit: int = MAX_MESSAGE
) -> str:
    """The hours of the season of `day` (default today), its dates, usual closing days and the
    exceptions of the next LOOKAHEAD_DAYS days, as many as fit in `limit` characters (lower it
    to send this text after another one in the same message)."""
    day = _local_day(center, day)
    season = season_for(center, day)
    start, end = center.seasons.span(season)
    hours = center.seasons.hours(season)
    lines = [f"Horaires d'{SEASON_FR[season]} de {center.the_name} (du {start.french()} au {end.french()}) :"]
    closed = []
    for key, label in zip(WEEKDAYS, WEEKDAYS_FR, strict=True):
        if hours.get(key):
            lines.append(f"• {label} : {format_intervals_fr(hours[key])}")
        else:
            closed.append(f"le {label}")
    if center.closed_on_holidays:
        closed.append("les jours fériés")
    if closed:
        lines.append(f"Fermé{_e(center)} {join_fr(closed)}.")
    text = "\n".join(lines)
    for note in _upcoming_fr(center, day):
        if len(text) + 1 + len(note) > limit:
            break
        text += "\n" + note
    return text


def materials_fr(center: RecyclingCenter) -> str:
    """What the centre accepts and refuses, in two sentences."""
    the, pronoun = _capitalized(center.the_name), _capitalized(_pronoun(center))
    lines = [f"{the} accepte : {', '.join(m.french() for m in center.accepted)}."]
    if center.refused:
        lines.append(f"{pronoun} refuse : {', '.join(m.french() for m in center.refused)}.")
    lines.append(f"En cas de doute, appelez le {center.phone}.")
    return "\n".join(lines)


def access_fr(center: RecyclingCenter) -> str:
    """Access conditions, the badge and the address."""
    lines = [f"Pour accéder à {center.the_name} :"]
    lines += [f"• {condition}" for condition in center.access.conditions]
    lines.append(center.access.how_to_get_badge)
    lines.append(f"Adresse : {center.address}, {center.zip_code} {center.city}.")
    return "\n".join(lines)


def bulky_waste_fr(config: RecyclingConfig, booking: str | None = None) -> str:
    """How bulky-waste pick-up works. `booking` replaces the file's booking sentence (e.g. once
    the appointment can be taken in the conversation)."""
    bulky = config.bulky_waste
    lines = [f"{bulky.how_it_works} {booking or bulky.booking}"]
    lines.append(f"Objets acceptés : {', '.join(m.french() for m in bulky.accepted)}.")
    if bulky.refused:
        lines.append(f"Objets refusés : {', '.join(m.french() for m in bulky.refused)}.")
    lines += [f"• {limit}" for limit in bulky.limits]
    lines += bulky.alternatives
    return "\n".join(lines)


# ---- loading -------------------------------------------------------------------------------

RECYCLING_LABEL = "déchetteries et encombrants"


def _too_long(config: RecyclingConfig) -> Iterator[Tuple[tuple, str]]:
    """Lists that make a citizen message longer than MAX_MESSAGE."""
    texts = []
    for index, center in enumerate(config.centers):
        where = ("centers", index)
        texts.append((where + ("accepted",), "accepted et refused", materials_fr(center)))
        texts.append((where + ("access",), "access", access_fr(center)))
        for season in ("summer", "winter"):
            start, _ = center.seasons.span(season)
            first_day = date(_REF_YEAR, start.month, start.day)
            texts.append((where + ("seasons", season), "horaires", week_hours_fr(center, first_day)))
    texts.append((("bulky_waste",), "bulky_waste", bulky_waste_fr(config)))
    for loc, what, text in texts:
        if len(text) > MAX_MESSAGE:
            yield (
                loc,
                (
                    f"texte trop long pour un message ({len(text)} caractères, {MAX_MESSAGE} au maximum) : "
                    f"raccourcissez les listes ou les notes ({what})"
                ),
            )


def recycling_path() -> Path:
    return content_path("GRU_RECYCLING_FILE", DEFAULT_RECYCLING_FILE)


def load_recycling_config(path: Path | str | None = None) -> RecyclingConfig:
    """Load and validate the recycling-centre file: `path`, else GRU_RECYCLING_FILE, else the demo
    file (cached per resolved path, so changing the variable is taken into account)."""
    return _load(Path(path) if path else recycling_path())


@lru_cache(maxsize=8)
def _load(path: Path) -> RecyclingConfig:
    return load_content_file(
        path, RecyclingConfig, RECYCLING_LABEL, error=RecyclingConfigError, check=_too_long
    )
