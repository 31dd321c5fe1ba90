"""School transport content: the school year, the schools served and the registration to the
service. The school holidays (and the zone) are the territory's (core/school_holidays.py).

A YAML file the content team edits (territory/demo/transport.yml, GRU_TRANSPORT_FILE to
change it), validated at start-up with French messages. The timetables themselves are in
the GTFS feed (transport.feed); this file and the territory's school holidays say *why*
there is no bus on a day (« vacances d'hiver ») and how to register a child.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Iterable, List, Tuple

from pydantic import Field, HttpUrl, root_validator, validator

from core.content import KEY_PATTERN, ContentModel, content_path, load_content_file
from core.school_holidays import SchoolHolidayPeriod
from core.territory import TerritoryConfigError, load_territory
from transport.feed import FeedError, load_feed

DEFAULT_TRANSPORT_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "transport.yml"


class TransportConfigError(TerritoryConfigError):
    """The school transport file is missing or invalid; the message says where."""


def not_before(start_field: str, message: str):
    """A validator's body: the date is not before the field `start_field` (French `message`)."""

    def check(cls, value: date, values: dict) -> date:
        start = values.get(start_field)
        if start and value < start:
            raise ValueError(message)
        return value

    return check


class School(ContentModel):
    key: str
    name: str  # « Collège Jean Moulin »
    stop_ids: List[str] = Field(
        ..., min_items=1
    )  # the feed's stops that serve the school (stops.txt stop_id)
    aliases: List[str] = []  # other ways citizens name it: « jean moulin », « le collège »

    @validator("key")
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError(f"clé « {value} » invalide (minuscules, chiffres et _ : college_jean_moulin)")
        return value


class Registration(ContentModel):
    opens: date
    closes: date
    price: str  # « 25 € par enfant et par an… »
    url: HttpUrl
    documents: List[str] = Field(..., min_items=1)
    how: str  # one or two sentences: where and how to register
    late: str = ""  # what happens after the closing date

    _order = validator("closes", allow_reuse=True)(
        not_before("opens", "la clôture des inscriptions est avant leur ouverture")
    )


class TransportConfig(ContentModel):
    school_year: str  # « 2026-2027 »
    service: str  # the territory service in charge (territory.yml services)
    schools: List[School]
    registration: Registration

    @root_validator(pre=True)
    def _moved(cls, values: dict) -> dict:
        # Files written before the holidays moved to the territory file: say where they went.
        for old in ("zone", "holidays"):
            if old in values:
                raise ValueError(
                    f"« {old} » : les vacances scolaires et la zone sont maintenant dans le fichier"
                    " du territoire (territory.yml, rubrique school_holidays) ; retirez-les d'ici"
                )
        return values

    @validator("schools")
    def _unique(cls, value: List[School]) -> List[School]:
        keys = [school.key for school in value]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"école « {duplicates[0]} » définie deux fois")
        return value

    @property
    def zone(self) -> str | None:
        holidays = load_territory().school_holidays
        return holidays.zone if holidays else None

    def holiday_on(self, day: date) -> SchoolHolidayPeriod | None:
        """The school holidays of the territory's zone that include `day`, if any."""
        holidays = load_territory().school_holidays
        return holidays.on(day) if holidays else None

    def zone_holidays(self) -> List[SchoolHolidayPeriod]:
        holidays = load_territory().school_holidays
        return holidays.of_zone() if holidays else []

    def school(self, key: str) -> School | None:
        return next((s for s in self.schools if s.key == key), None)


def _check(config: TransportConfig) -> Iterable[Tuple[tuple, str]]:
    if config.service not in load_territory().services:
        yield ("service",), f"service « {config.service} » absent du fichier du territoire"
    try:
        feed = load_feed()
    except FeedError:  # reported on its own, with the feed's file and line
        return
    for i, school in enumerate(config.schools):
        for j, stop_id in enumerate(school.stop_ids):
            if stop_id not in feed.stops:
                yield ("schools", i, "stop_ids", j), f"arrêt « {stop_id} » absent du flux GTFS (stops.txt)"


TRANSPORT_LABEL = "transport scolaire"


def transport_path() -> Path:
    return content_path("GRU_TRANSPORT_FILE", DEFAULT_TRANSPORT_FILE)


@lru_cache(maxsize=4)
def load_transport_config(path: Path | None = None) -> TransportConfig:
    """Load and validate the school transport file (cached per path)."""
    return load_content_file(
        path or transport_path(), TransportConfig, TRANSPORT_LABEL, error=TransportConfigError, check=_check
    )
