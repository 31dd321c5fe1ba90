"""The territory's clock: every "now" and "today" of the assistant, in the time zone of
the territory file (`timezone`, default Europe/Paris) — nothing else names a zone.

Tests pass their own `now`; production code asks here.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.territory import load_territory


def territory_tz() -> ZoneInfo:
    """The time zone of the configured territory (a commune in La Réunion is not in Paris)."""
    return load_territory().tz


def now() -> datetime:
    """The current time, aware, in the territory's time zone."""
    return datetime.now(territory_tz())


def today() -> date:
    return now().date()


def local(moment: datetime) -> datetime:
    """An aware moment in the territory's time zone; a naive one is taken as local already."""
    tz = territory_tz()
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
