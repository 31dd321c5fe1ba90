"""Booking configuration: the meeting points (sites) where identity documents are taken.

A YAML file that content teams edit (territory/demo/booking.yml by default,
GRU_BOOKING_FILE to change it), validated at start with French messages naming
the faulty field. It is the source of truth for sites and their weekly hours;
`booking.seed` copies it into the booking database, where agents add extra
openings and closures (booking.cli).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from pydantic import root_validator, validator

from booking.models import SERVICES
from core.content import ContentModel, content_path, load_content_file
from core.territory import (
    Interval,
    TerritoryConfigError,
    check_latitude,
    check_longitude,
    parse_week_hours,
)

DEMO = Path(__file__).resolve().parent.parent / "territory" / "demo"
DEFAULT_BOOKING_FILE = DEMO / "booking.yml"
DEFAULT_BULKY_BOOKING_FILE = DEMO / "bulky_waste_booking.yml"
_SITE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class SiteConfig(ContentModel):
    id: str
    name: str
    address: str
    zip_code: str
    city: str
    latitude: float
    longitude: float
    stations: int
    phone: str | None = None
    website: str | None = None
    city_logo: str | None = None
    hours: Dict[str, List[Interval]]

    @validator("id")
    def _id(cls, value: str) -> str:
        if not _SITE_ID.match(value):
            raise ValueError(f"identifiant de site « {value} » invalide (minuscules, chiffres, tirets)")
        return value

    @validator("stations")
    def _stations(cls, value: int) -> int:
        if not 1 <= value <= 20:
            raise ValueError("« stations » (nombre de stations biométriques) doit être entre 1 et 20")
        return value

    _lat = validator("latitude", allow_reuse=True)(check_latitude)
    _lon = validator("longitude", allow_reuse=True)(check_longitude)

    @validator("hours", pre=True)
    def _hours(cls, value: object) -> Dict[str, List[Interval]]:
        if not value:
            raise ValueError("« hours » doit associer au moins un jour (monday…sunday) à des plages")
        return parse_week_hours(value)


class ClosureConfig(ContentModel):
    date: date
    reason: str
    sites: List[str] | None = None


class BookingLimits(ContentModel):
    """Most ACTIVE appointments (future, not cancelled) of one service a citizen may hold, so
    that a script cannot fill the booking window: per conversation (channel + sender id), per
    surname at one site (folded: « Lefèvre » = « LEFEVRE »), per pick-up address (bulky waste).
    A pre-application number holds one appointment at most in any case."""

    per_sender: int = 3
    per_surname_and_site: int = 3
    per_address: int = 1

    @validator("per_sender", "per_surname_and_site", "per_address")
    def _limit(cls, value: int) -> int:
        if not 1 <= value <= 50:
            raise ValueError("une limite de rendez-vous doit être entre 1 et 50")
        return value


class ReminderSettings(ContentModel):
    """Reminders before an appointment (booking/reminders.py): how many hours before, and the
    channels offered. GRU_REMINDERS_HOURS (« 48,24 », « 24 », « off ») overrides the hours."""

    hours_before: List[int] = [48, 24]
    channels: List[str] = ["email", "sms", "messenger"]

    @validator("hours_before")
    def _hours_before(cls, value: List[int]) -> List[int]:
        if any(not 1 <= hours <= 168 for hours in value) or len(set(value)) != len(value):
            raise ValueError("« hours_before » : des nombres d'heures différents, entre 1 et 168")
        return sorted(value, reverse=True)

    @validator("channels")
    def _channels(cls, value: List[str]) -> List[str]:
        unknown = set(value) - {"email", "sms", "messenger"}
        if unknown:
            raise ValueError(
                f"« channels » : email, sms ou messenger ; inconnu : {', '.join(sorted(unknown))}"
            )
        return value


BACKENDS = ("local", "chrono")
_AGENDA_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class BackendSettings(ContentModel):
    """Which agenda holds the slots (booking/connector.py): ``local`` (the hours of this file, the
    assistant's database) or ``chrono`` (the collectivité's Publik Chrono; its address and keys come
    from the environment, GRU_CHRONO_*). GRU_BOOKING_BACKEND overrides ``kind``."""

    kind: str = "local"
    # site id -> slug of its Chrono agenda of kind « meetings » (default: the site id)
    chrono_agendas: Dict[str, str] = {}

    @validator("kind")
    def _kind(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"« kind » doit valoir {' ou '.join(BACKENDS)}")
        return value

    @validator("chrono_agendas")
    def _agendas(cls, value: Dict[str, str]) -> Dict[str, str]:
        for site, slug in value.items():
            if not _AGENDA_SLUG.match(str(slug)):
                raise ValueError(f"agenda Chrono du site « {site} » invalide : « {slug} »")
        return value


class BookingConfig(ContentModel):
    # identity: CNI/passport appointments; bulky_waste: encombrants pick-up rounds
    service: str = "identity"
    minutes_per_document: int = 15
    slot_step_minutes: int = 15
    booking_window_days: int = 60
    min_notice_minutes: int = 60
    max_people: int = 5
    limits: BookingLimits = BookingLimits()
    reminders: ReminderSettings = ReminderSettings()
    backend: BackendSettings = BackendSettings()
    sites: List[SiteConfig]
    closures: List[ClosureConfig] = []

    @validator("minutes_per_document", "slot_step_minutes")
    def _minutes(cls, value: int) -> int:
        if not 5 <= value <= 480 or 60 % value and value % 15:
            raise ValueError("durée en minutes invalide (entre 5 et 480, diviseur de 60 ou multiple de 15)")
        return value

    @validator("service")
    def _service(cls, value: str) -> str:
        if value not in SERVICES:
            raise ValueError(f"« service » doit valoir {' ou '.join(SERVICES)}")
        return value

    @validator("booking_window_days")
    def _window(cls, value: int) -> int:
        if not 1 <= value <= 366:
            raise ValueError("« booking_window_days » doit être entre 1 et 366")
        return value

    @validator("max_people")
    def _people(cls, value: int) -> int:
        if not 1 <= value <= 10:
            raise ValueError("« max_people » doit être entre 1 et 10")
        return value

    @root_validator(skip_on_failure=True)
    def _references(cls, values: dict) -> dict:
        if not values["sites"]:
            raise ValueError("au moins un site est nécessaire")
        ids = [site.id for site in values["sites"]]
        if len(set(ids)) != len(ids):
            raise ValueError("deux sites ont le même identifiant")
        if values["minutes_per_document"] % values["slot_step_minutes"]:
            raise ValueError("« minutes_per_document » doit être un multiple de « slot_step_minutes »")
        for site in values["backend"].chrono_agendas if "backend" in values else ():
            if site not in ids:
                raise ValueError(f"backend.chrono_agendas : site « {site} » non défini")
        for closure in values.get("closures", []):
            for site in closure.sites or []:
                if site not in ids:
                    raise ValueError(f"fermeture du {closure.date} : site « {site} » non défini")
        return values

    def site(self, site_id: str) -> SiteConfig:
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(site_id)


BOOKING_LABEL = "rendez-vous cartes d'identité et passeports"
BULKY_BOOKING_LABEL = "rendez-vous encombrants"


class BookingConfigError(TerritoryConfigError):
    """A booking file is missing or invalid; the message says where."""


def booking_path() -> Path:
    return content_path("GRU_BOOKING_FILE", DEFAULT_BOOKING_FILE)


def bulky_booking_path() -> Path:
    return content_path("GRU_BULKY_BOOKING_FILE", DEFAULT_BULKY_BOOKING_FILE)


def _bulky_service(config: BookingConfig) -> Iterable[Tuple[tuple, str]]:
    if config.service != "bulky_waste":
        yield ("service",), "« service » doit valoir bulky_waste"


def load_bulky_booking_config(path: Path | None = None) -> BookingConfig:
    return _load_bulky(Path(path) if path else bulky_booking_path())


@lru_cache(maxsize=4)
def _load_bulky(path: Path) -> BookingConfig:
    return load_content_file(
        path, BookingConfig, BULKY_BOOKING_LABEL, error=BookingConfigError, check=_bulky_service
    )


@lru_cache(maxsize=4)
def load_booking_config(path: Path | None = None) -> BookingConfig:
    return load_content_file(path or booking_path(), BookingConfig, BOOKING_LABEL, error=BookingConfigError)
