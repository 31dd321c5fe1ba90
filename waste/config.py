"""Waste collection configuration: streams, sectors, holiday rules and streets.

A YAML file that content teams edit (territory/demo/waste.yml by default, GRU_WASTE_FILE
to change it), validated once at start with French messages naming the faulty field, so
that a typo in a weekday or a street split is reported to the editor instead of giving a
citizen the wrong collection day. The calendar logic itself lives in `waste.calendar`.
"""

from __future__ import annotations

import re
import string
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

from pydantic import PrivateAttr, root_validator, validator

from core.content import KEY_PATTERN, NOT_A_FILE, ContentModel, content_path, load_content_file, parse_content
from core.territory import TerritoryConfigError
from core.text import MONTHS_FR, WEEKDAYS, WEEKDAYS_FR

DEFAULT_WASTE_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "waste.yml"

# The collection streams are a contract with the NLU (entity `waste_type`); bulky waste
# (encombrants) is booked, not collected on a calendar, so it is not a stream here.
KNOWN_STREAMS = ("ordures_menageres", "recyclables", "verre", "dechets_verts")
HOLIDAY_POLICIES = ("shift_next_day", "maintained", "cancelled")
PARITIES = ("even", "odd")
NUMBER_KINDS = ("all", "odd", "even")
ICS_PLACEHOLDERS = ("address", "city", "sector")
# An exception may move a collection at most this far; the calendar looks this far around
# the asked period so that a moved or shifted collection is never missed.
MAX_MOVE_DAYS = 14

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_POSTCODE = re.compile(r"^\d{5}$")
_CITYCODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class WasteConfigError(TerritoryConfigError):
    """The waste file is missing or invalid; the message says where."""


def _weekday(value: object) -> str:
    text = str(value).strip().lower()
    if text in WEEKDAYS:
        return text
    if text in WEEKDAYS_FR:
        english = WEEKDAYS[WEEKDAYS_FR.index(text)]
        raise ValueError(f"jour « {value} » : écrivez le jour en anglais (« {english} »)")
    raise ValueError(f"jour « {value} » inconnu (attendu : {', '.join(WEEKDAYS)})")


def _weekdays(value: object) -> List[str]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError("au moins un jour est attendu")
    days = [_weekday(v) for v in values]
    if len(set(days)) != len(days):
        raise ValueError("un même jour est répété")
    return days


def _known_keys(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"un dictionnaire est attendu ({what} → règles)")
    for key in value:
        if key not in KNOWN_STREAMS:
            raise ValueError(f"flux « {key} » inconnu (attendu : {', '.join(KNOWN_STREAMS)})")
    return value


class Stream(ContentModel):
    label: str  # "Bac jaune (emballages et papiers)": starts the citizen's answer line
    container: str  # "bac à couvercle jaune"
    put_out: str  # when and how to put the container out

    @property
    def ics_summary(self) -> str:
        return f"Collecte {self.label[:1].lower()}{self.label[1:]}"


class Season(ContentModel):
    """Collection only between two month-days, inclusive; from > to wraps over New Year."""

    from_: str
    to: str

    class Config:
        fields = {"from_": "from"}

    @validator("from_", "to", pre=True)
    def _month_day(cls, value: object) -> str:
        text = str(value).strip()
        match = _MONTH_DAY.match(text)
        if not match:
            raise ValueError(f'« {value} » invalide (format attendu MM-JJ, par exemple "03-15")')
        try:
            date(2000, int(match.group(1)), int(match.group(2)))  # 2000: 02-29 allowed
        except ValueError as exc:
            raise ValueError(f"« {value} » n'est pas une date du calendrier (MM-JJ)") from exc
        return text

    def contains(self, day: date) -> bool:
        key = f"{day.month:02d}-{day.day:02d}"
        if self.from_ <= self.to:
            return self.from_ <= key <= self.to
        return key >= self.from_ or key <= self.to

    def french(self) -> str:
        """'du 15 mars au 30 novembre'."""

        def one(text: str) -> str:
            month, day = (int(part) for part in text.split("-"))
            return f"{'1er' if day == 1 else day} {MONTHS_FR[month - 1]}"

        return f"du {one(self.from_)} au {one(self.to)}"


class Monthly(ContentModel):
    weekday: str
    nth: int  # 1..4, or -1 for the last one of the month

    _weekday = validator("weekday", pre=True, allow_reuse=True)(_weekday)

    @validator("nth")
    def _nth(cls, value: int) -> int:
        if value not in (1, 2, 3, 4, -1):
            raise ValueError("« nth » doit valoir 1, 2, 3, 4 ou -1 (le dernier du mois)")
        return value


class CollectionRule(ContentModel):
    """One stream in one sector: exactly one of weekly, biweekly, monthly or none."""

    weekly: List[str] | None = None
    biweekly: List[str] | None = None
    parity: str | None = None  # ISO week number parity, with biweekly only
    monthly: Monthly | None = None
    none: bool = False  # no door-to-door collection (say where to go in `note`)
    season: Season | None = None
    note: str | None = None

    _days = validator("weekly", "biweekly", pre=True, allow_reuse=True)(_weekdays)

    @validator("parity")
    def _parity(cls, value: str | None) -> str | None:
        if value is not None and value not in PARITIES:
            raise ValueError(
                f"« parity » doit valoir even (semaines paires) ou odd (impaires), pas « {value} »"
            )
        return value

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: dict) -> dict:
        kinds = [k for k in ("weekly", "biweekly", "monthly") if values.get(k)]
        kinds += ["none"] if values.get("none") else []
        if len(kinds) != 1:
            found = ", ".join(kinds) or "aucune"
            raise ValueError(
                f"une seule fréquence est attendue parmi weekly, biweekly, monthly ou none (trouvé : {found})"
            )
        if kinds == ["biweekly"] and values.get("parity") is None:
            raise ValueError(
                "« biweekly » demande « parity: even » ou « parity: odd » (numéro de semaine ISO)"
            )
        if kinds != ["biweekly"] and values.get("parity") is not None:
            raise ValueError("« parity » ne s'emploie qu'avec « biweekly »")
        if kinds == ["none"] and values.get("season") is not None:
            raise ValueError("« season » n'a pas de sens avec « none »")
        return values

    def occurs_on(self, day: date) -> bool:
        """Whether the regular schedule (holidays not applied) has a collection on `day`."""
        if self.none or (self.season is not None and not self.season.contains(day)):
            return False
        weekday = WEEKDAYS[day.weekday()]
        if self.weekly:
            return weekday in self.weekly
        if self.biweekly:
            return weekday in self.biweekly and day.isocalendar()[1] % 2 == (self.parity == "odd")
        if self.monthly and weekday == self.monthly.weekday:
            if self.monthly.nth == -1:
                return (day + timedelta(days=7)).month != day.month
            return (day.day - 1) // 7 + 1 == self.monthly.nth
        return False


class Sector(ContentModel):
    label: str
    description: str | None = None
    collections: Dict[str, CollectionRule]

    @validator("collections", pre=True)
    def _collections(cls, value: object) -> dict:
        value = _known_keys(value, "flux")
        if "ordures_menageres" not in value:
            raise ValueError("la règle « ordures_menageres » est obligatoire pour chaque secteur")
        return {key: {"none": True} if rule == "none" else rule for key, rule in value.items()}


class CollectionException(ContentModel):
    """An explicit override for one date: moved, cancelled, or an added collection."""

    date: date
    stream: str
    moved_to: date | None = None
    cancelled: bool = False
    added: bool = False
    sectors: List[str] | None = None  # default: every sector collecting `stream` that day
    reason: str | None = None  # shown to citizens; default: the holiday's name, if any

    @root_validator(skip_on_failure=True)
    def _one_action(cls, values: dict) -> dict:
        actions = [k for k in ("moved_to", "cancelled", "added") if values.get(k)]
        if len(actions) != 1:
            raise ValueError(
                "une exception demande exactement un de « moved_to », « cancelled: true », « added: true »"
            )
        moved_to = values.get("moved_to")
        if moved_to is not None:
            gap = abs((moved_to - values["date"]).days)
            if gap == 0 or gap > MAX_MOVE_DAYS:
                raise ValueError(
                    f"« moved_to » doit être un autre jour, à {MAX_MOVE_DAYS} jours au plus de « date »"
                )
        if values.get("added") and not values.get("sectors"):
            raise ValueError("une collecte ajoutée (« added: true ») doit préciser ses « sectors »")
        return values


class HolidayRules(ContentModel):
    """What happens when a collection day is a public holiday, stream by stream."""

    ordures_menageres: str | None = None
    recyclables: str | None = None
    verre: str | None = None
    dechets_verts: str | None = None
    exceptions: List[CollectionException] = []

    @root_validator(pre=True)
    def _keys(cls, values: dict) -> dict:
        for key in values:
            if key != "exceptions" and key not in KNOWN_STREAMS:
                raise ValueError(
                    f"flux « {key} » inconnu (attendu : {', '.join(KNOWN_STREAMS)}, ou « exceptions »)"
                )
        return values

    @validator(*KNOWN_STREAMS)
    def _policy(cls, value: str | None) -> str | None:
        if value is not None and value not in HOLIDAY_POLICIES:
            raise ValueError(f"règle « {value} » inconnue (attendu : {', '.join(HOLIDAY_POLICIES)})")
        return value

    def policy(self, stream: str) -> str:
        return getattr(self, stream)


class StreetPart(ContentModel):
    sector: str
    numbers: str = "all"
    from_: int = 1
    to: int | None = None  # empty: up to the end of the street

    class Config:
        fields = {"from_": "from"}

    @validator("numbers")
    def _numbers(cls, value: str) -> str:
        if value not in NUMBER_KINDS:
            raise ValueError(f"« numbers » doit valoir all, odd (impairs) ou even (pairs), pas « {value} »")
        return value

    @root_validator(skip_on_failure=True)
    def _range(cls, values: dict) -> dict:
        if values["from_"] < 1:
            raise ValueError("« from » doit être un numéro à partir de 1")
        if values["to"] is not None and values["to"] < values["from_"]:
            raise ValueError("« to » doit être supérieur ou égal à « from »")
        return values

    def matches(self, number: int) -> bool:
        if self.numbers != "all" and (number % 2 == 1) != (self.numbers == "odd"):
            return False
        return self.from_ <= number and (self.to is None or number <= self.to)


def _parities(numbers: str) -> set:
    return {"odd", "even"} if numbers == "all" else {numbers}


class Street(ContentModel):
    name: str  # official name, as the geocoder returns it ("Avenue Jean Jaurès")
    aliases: List[str] = []
    sectors: List[StreetPart]

    @validator("sectors", pre=True)
    def _sectors(cls, value: object) -> object:
        if isinstance(value, str):
            return [{"sector": value}]
        if isinstance(value, list) and not value:
            raise ValueError("au moins un secteur est attendu")
        return value

    @root_validator(skip_on_failure=True)
    def _split(cls, values: dict) -> dict:
        parts: List[StreetPart] = values["sectors"]
        name = values["name"]
        for i, first in enumerate(parts):
            for j in range(i + 1, len(parts)):
                clash = _first_common_number(first, parts[j])
                if clash is not None:
                    raise ValueError(
                        f"« {name} » : les parties sectors.{i} et sectors.{j} se chevauchent "
                        f"(le numéro {clash} serait dans deux secteurs)"
                    )
        for parity in ("odd", "even"):
            gap = _first_uncovered(parts, parity)
            if gap is not None:
                kind = "impair" if parity == "odd" else "pair"
                raise ValueError(
                    f"« {name} » : le numéro {gap} ({kind}) n'est rattaché à aucun secteur dans « sectors » "
                    "(laissez « to » vide sur la dernière partie)"
                )
        return values

    @property
    def is_split(self) -> bool:
        return len({part.sector for part in self.sectors}) > 1

    def sector_for(self, number: int) -> str:
        for part in self.sectors:
            if part.matches(number):
                return part.sector
        raise LookupError(number)  # cannot happen: coverage is validated


def _first_common_number(a: StreetPart, b: StreetPart) -> int | None:
    low = max(a.from_, b.from_)
    highs = [h for h in (a.to, b.to) if h is not None]
    high = min(highs) if highs else None
    for parity in _parities(a.numbers) & _parities(b.numbers):
        number = low if (low % 2 == 1) == (parity == "odd") else low + 1
        if high is None or number <= high:
            return number
    return None


def _first_uncovered(parts: List[StreetPart], parity: str) -> int | None:
    """The first number of `parity` that no part covers, or None when all are covered."""
    number = 1 if parity == "odd" else 2
    for part in sorted((p for p in parts if parity in _parities(p.numbers)), key=lambda p: p.from_):
        if part.from_ > number:
            return number
        if part.to is None:
            return None
        after = part.to + 1
        if (after % 2 == 1) != (parity == "odd"):
            after += 1
        number = max(number, after)
    return number


class IcsSettings(ContentModel):
    months_ahead: int = 3
    calendar_name: str = "Collectes des déchets – {address}"
    uid_domain: str = "villebrune.example"

    @validator("months_ahead")
    def _months(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise ValueError("« months_ahead » doit être entre 1 et 12")
        return value

    @validator("calendar_name")
    def _template(cls, value: str) -> str:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"modèle « {value} » mal formé (accolades)") from exc
        for field in fields:
            if field not in ICS_PLACEHOLDERS:
                allowed = ", ".join(f"{{{p}}}" for p in ICS_PLACEHOLDERS)
                raise ValueError(f"variable « {{{field}}} » inconnue dans le modèle (possibles : {allowed})")
        return value

    @validator("uid_domain")
    def _domain(cls, value: str) -> str:
        if not _DOMAIN.match(value):
            raise ValueError(f"nom de domaine « {value} » invalide")
        return value


class WasteConfig(ContentModel):
    city: str
    postcode: str
    citycode: str  # INSEE code, used to restrict the geocoder to the commune
    alsace_moselle: bool = False  # Vendredi saint and Saint-Étienne are holidays too
    streams: Dict[str, Stream]
    sectors: Dict[str, Sector]
    holiday_rules: HolidayRules
    streets: List[Street]
    ics: IcsSettings = IcsSettings()
    _street_index: Dict[str, Street] | None = PrivateAttr(default=None)

    @validator("postcode")
    def _postcode(cls, value: str) -> str:
        if not _POSTCODE.match(value):
            raise ValueError(f"code postal « {value} » invalide (5 chiffres)")
        return value

    @validator("citycode")
    def _citycode(cls, value: str) -> str:
        if not _CITYCODE.match(value):
            raise ValueError(f"code INSEE « {value} » invalide (5 caractères, ex. 45999 ou 2A004)")
        return value

    @validator("streams", pre=True)
    def _streams(cls, value: object) -> dict:
        value = _known_keys(value, "flux")
        if "ordures_menageres" not in value:
            raise ValueError("le flux « ordures_menageres » est obligatoire")
        return value

    @validator("sectors")
    def _sector_keys(cls, value: Dict[str, Sector]) -> Dict[str, Sector]:
        if not value:
            raise ValueError("au moins un secteur est nécessaire")
        for key in value:
            if not KEY_PATTERN.match(key):
                raise ValueError(f"identifiant de secteur « {key} » invalide (minuscules, chiffres, _)")
        return value

    @validator("streets")
    def _unique_streets(cls, value: List[Street]) -> List[Street]:
        seen: Dict[str, str] = {}
        for street in value:
            for name in [street.name, *street.aliases]:
                if name in seen:
                    raise ValueError(
                        f"le nom « {name} » est donné à deux rues (« {seen[name]} », « {street.name} »)"
                    )
                seen[name] = street.name
        return value

    @root_validator(skip_on_failure=True)
    def _references(cls, values: dict) -> dict:
        errors = list(_reference_errors(values))
        if errors:
            raise ValueError("\n".join(errors))
        return values

    # ---- queries -----------------------------------------------------------------

    def rule(self, sector: str, stream: str) -> CollectionRule | None:
        """The sector's rule for a stream (None: the stream is not collected there)."""
        return self.sectors[sector].collections.get(stream)

    def street(self, name: str) -> Street | None:
        """The street whose official name (or, failing that, an alias) is exactly `name`."""
        if self._street_index is None:
            index = {alias: street for street in self.streets for alias in street.aliases}
            index.update((street.name, street) for street in self.streets)  # official names win
            self._street_index = index
        return self._street_index.get(" ".join(name.split()))

    def exceptions_for(self, sector: str, stream: str) -> List[CollectionException]:
        return [
            e
            for e in self.holiday_rules.exceptions
            if e.stream == stream and (e.sectors is None or sector in e.sectors)
        ]


def _reference_errors(values: dict) -> List[str]:
    streams, sectors, rules = values["streams"], values["sectors"], values["holiday_rules"]
    errors = []
    for key, sector in sectors.items():
        for stream in sector.collections:
            if stream not in streams:
                errors.append(f"sectors.{key}.collections.{stream} : flux « {stream} » absent de « streams »")
    for stream in streams:
        if rules.policy(stream) is None:
            policies = ", ".join(HOLIDAY_POLICIES)
            errors.append(f"holiday_rules.{stream} : règle de jour férié manquante ({policies})")
    for i, exception in enumerate(rules.exceptions):
        where = f"holiday_rules.exceptions.{i}"
        for j, earlier in enumerate(rules.exceptions[:i]):
            same_day = (earlier.date, earlier.stream) == (exception.date, exception.stream)
            if same_day and (
                earlier.sectors is None
                or exception.sectors is None
                or set(earlier.sectors) & set(exception.sectors)
            ):
                errors.append(
                    f"{where} : même date, même flux et mêmes secteurs que holiday_rules.exceptions.{j}"
                )
        if exception.stream not in streams:
            errors.append(
                f"{where}.stream : flux « {exception.stream} » inconnu (définis : {', '.join(streams)})"
            )
            continue
        unknown = [s for s in exception.sectors or [] if s not in sectors]
        if unknown:
            errors.append(
                f"{where}.sectors : secteur « {unknown[0]} » inconnu (définis : {', '.join(sectors)})"
            )
            continue
        if not exception.added:
            targets = exception.sectors or list(sectors)
            if not any(
                (rule := sectors[s].collections.get(exception.stream)) and rule.occurs_on(exception.date)
                for s in targets
            ):
                errors.append(
                    f"{where}.date : aucune collecte « {exception.stream} » n'est prévue le "
                    f"{exception.date.isoformat()} (vérifiez la date, le flux et les secteurs)"
                )
    for i, street in enumerate(values["streets"]):
        for j, part in enumerate(street.sectors):
            if part.sector not in sectors:
                errors.append(
                    f"streets.{i}.sectors.{j}.sector : « {street.name} » pointe vers le secteur "
                    f"« {part.sector} » inconnu (définis : {', '.join(sectors)})"
                )
    return errors


# ---- loading -------------------------------------------------------------------------------

WASTE_LABEL = "collecte des déchets"


def parse_waste_config(raw: object, source: object = NOT_A_FILE) -> WasteConfig:
    """Validate an already-read mapping (tests, tools); `source` names it in messages."""
    return parse_content(raw, WasteConfig, WASTE_LABEL, source, error=WasteConfigError)


def waste_path() -> Path:
    return content_path("GRU_WASTE_FILE", DEFAULT_WASTE_FILE)


@lru_cache(maxsize=4)
def load_waste_config(path: Path | None = None) -> WasteConfig:
    """Load and validate the waste file (cached per path)."""
    return load_content_file(path or waste_path(), WasteConfig, WASTE_LABEL, error=WasteConfigError)
