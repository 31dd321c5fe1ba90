"""French public holidays (jours fériés), computed — no calendar file to keep up to date.

Metropolitan France list (Code du travail, art. L3133-1). Alsace-Moselle extras
(Vendredi saint, Saint-Étienne) are opt-in because they only apply there.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_holidays(year: int, alsace_moselle: bool = False) -> dict[date, str]:
    """Return {date: French name} for the public holidays of `year`."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "jour de l'An",
        easter + timedelta(days=1): "lundi de Pâques",
        date(year, 5, 1): "fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "lundi de Pentecôte",
        date(year, 7, 14): "fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }
    if alsace_moselle:
        days[easter - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint-Étienne"
    return days


def holiday_name(day: date, alsace_moselle: bool = False) -> str | None:
    """The holiday's name if `day` is a French public holiday, else None."""
    return french_holidays(day.year, alsace_moselle).get(day)
