"""Which collection sector an address belongs to.

The geocoder (waste.geocoder) turns what a citizen types into the official street name
and a house number; this module only maps that pair to a sector of the waste file, and
says when the number is needed because the street is split between sectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from waste.config import WasteConfig


@dataclass(frozen=True)
class SectorMatch:
    sector: str | None  # None: unknown street, or a split street without a number
    needs_number: bool  # the street is split and no (usable) number was given: ask for it
    street: str | None = None  # the official name when the street is known

    @property
    def known_street(self) -> bool:
        return self.street is not None


def sector_for(config: WasteConfig, street_name: str, housenumber: int | None) -> SectorMatch:
    """The sector of `housenumber` in `street_name` (official name, or an exact alias).

    A street entirely in one sector needs no number. A number of 0 or less counts as no
    number; for "12 bis" the caller passes 12.
    """
    street = config.street(street_name)
    if street is None:
        return SectorMatch(None, False)
    if not street.is_split:
        return SectorMatch(street.sectors[0].sector, False, street.name)
    if housenumber is None or housenumber <= 0:
        return SectorMatch(None, True, street.name)
    return SectorMatch(street.sector_for(housenumber), False, street.name)
