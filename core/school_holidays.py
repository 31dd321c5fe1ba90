"""School holidays (vacances scolaires) of the territory: one list, read by the events
(« pendant les vacances de Noël ») and by school transport (« pas de car : vacances d'hiver »).

Held in the territory file (`school_holidays:`) because they belong to the territory's
academic zone, not to one service. The official calendar is fixed each year by the Minister
of Education (https://www.education.gouv.fr/calendrier-scolaire-100148); periods list the
zones they apply to, so a file can hold all three zones and a département that straddles
zones changes one letter.
"""

from __future__ import annotations

from datetime import date
from typing import List

from pydantic import validator

from core.content import KEY_PATTERN, StrippedContentModel

ZONES = ("A", "B", "C")


def checked_zone(value: object) -> str:
    zone = str(value).strip().upper()
    if zone not in ZONES:
        raise ValueError(f"zone « {value} » inconnue (attendu : A, B ou C)")
    return zone


class SchoolHolidayPeriod(StrippedContentModel):
    """From the first day without classes (`start`, a Saturday) to the last one (`end`, a
    Sunday) inclusive; classes resume the day after `end`."""

    key: str  # toussaint | noel | hiver | printemps | ascension | ete
    name: str  # « Vacances de Noël »
    zones: List[str]
    start: date
    end: date
    words: List[str] = []  # how citizens name them: « noel », « fevrier »

    _zones = validator("zones", each_item=True, allow_reuse=True)(checked_zone)

    @validator("key")
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError(f"clé « {value} » invalide (minuscules, chiffres et _ : noel)")
        return value

    @validator("end")
    def _order(cls, value: date, values: dict) -> date:
        start = values.get("start")
        if start and value < start:
            raise ValueError("la fin des vacances précède leur début")
        return value

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def lower_name(self) -> str:
        """« vacances de Noël », for the middle of a sentence."""
        return self.name[:1].lower() + self.name[1:]


class SchoolHolidays(StrippedContentModel):
    zone: str  # the territory's zone: A, B or C
    source: str  # where the dates were read (education.gouv.fr)
    periods: List[SchoolHolidayPeriod]

    _zone = validator("zone", allow_reuse=True)(checked_zone)

    def of_zone(self) -> List[SchoolHolidayPeriod]:
        """The periods of the territory's zone, in date order."""
        return sorted((p for p in self.periods if self.zone in p.zones), key=lambda p: p.start)

    def on(self, day: date) -> SchoolHolidayPeriod | None:
        """The school holidays of the territory's zone that include `day`, if any."""
        return next((p for p in self.of_zone() if p.contains(day)), None)
