"""French text in one place: folding for comparisons, and one style for dates and times.

Folding is what lets « Lœuillet » match « Loeuillet », « N’Diaye » (a phone's
typographic apostrophe) match « N'Diaye », and « Jean‑Jaurès » match « jean jaures ».
Every module that compares what a citizen typed with a name, a street, an item or a
keyword folds both sides with these functions, so they all agree.

Dates and times follow the French typographic convention (« 8 h 30 », « 14 h »,
« mardi 1er décembre »), the same in every answer.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from typing import Iterable

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

# Characters that NFKD does not decompose but that French names and words contain, and the
# typographic variants phones and word processors insert for the apostrophe and the hyphen.
_TRANSLATION = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ẞ": "SS",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "´": "'",
        "′": "'",
        "‛": "'",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "\u00a0": " ",
        "\u202f": " ",
    }
)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def plain(text: str | None) -> str:
    """Accents removed, ligatures expanded, apostrophes and hyphens made plain; case kept.

    « Lœuillet » → « Loeuillet », « N’Diaye » → « N'Diaye », « Nguyễn » → « Nguyen ».
    """
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_TRANSLATION))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str | None) -> str:
    """Lower case, plain letters (see `plain`), single spaces: the form to compare texts."""
    return " ".join(plain(text).lower().split())


def fold_words(text: str | None, keep: str = "") -> str:
    """`fold`, then every character other than a-z, 0-9 and `keep` becomes a space.

    « Pré-demande ? » → « pre demande »; keep="%" keeps « 80 % » readable.
    """
    pattern = _NON_WORD if not keep else re.compile(f"[^a-z0-9{re.escape(keep)}]+")
    return " ".join(pattern.sub(" ", fold(text)).split())


def fold_key(text: str | None) -> str:
    """Letters and digits only: « Le Gall », « le-gall » and « LEGALL » all give « legall »."""
    return "".join(c for c in fold(text) if c.isalnum())


def join_fr(items: Iterable[str]) -> str:
    """« a », « a et b », « a, b et c »."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def format_time_fr(value: time) -> str:
    """08:30 → « 8 h 30 », 14:00 → « 14 h » (French typographic convention)."""
    return f"{value.hour} h" if value.minute == 0 else f"{value.hour} h {value.minute:02d}"


def format_date_fr(day: date, with_weekday: bool = True, today: date | None = None) -> str:
    """date(2026, 12, 1) → « mardi 1er décembre »; the year is added when `today` is
    given and the day falls in another year."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number} {MONTHS_FR[day.month - 1]}"
    if today is not None and day.year != today.year:
        text += f" {day.year}"
    return f"{WEEKDAYS_FR[day.weekday()]} {text}" if with_weekday else text


WEEKDAYS_SHORT_FR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MONTHS_SHORT_FR = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def format_short_date_fr(day: date) -> str:
    """« mar. 8 janv. » — for buttons (Messenger cuts their titles at 20 characters)."""
    return f"{WEEKDAYS_SHORT_FR[day.weekday()]} {day.day} {MONTHS_SHORT_FR[day.month - 1]}"


# « le premier », « le 2e », « la troisième » as citizens point at offered choices (folded).
ORDINALS_FR = {
    "premier": 0,
    "premiere": 0,
    "1er": 0,
    "1ere": 0,
    "1": 0,
    "deuxieme": 1,
    "2e": 1,
    "2eme": 1,
    "2": 1,
    "second": 1,
    "seconde": 1,
    "troisieme": 2,
    "3e": 2,
    "3eme": 2,
    "3": 2,
    "quatrieme": 3,
    "4e": 3,
    "4eme": 3,
    "4": 3,
}


def clip(text: object, limit: int) -> str:
    """The first `limit` characters of a citizen's text ("" for anything that is not a string).

    Every parser of free text clips its input first, at a documented maximum that real
    answers never reach, so that a hostile message (20 000 commas, thousands of words)
    costs the same as a normal one.
    """
    return text[:limit] if isinstance(text, str) else ""
