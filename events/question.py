"""Reading a citizen's question about events into an :class:`EventQuery` and a French phrase
naming what was asked (« les concerts gratuits ce week-end »), for the answers.

The dates are core.dates' (« ce week-end », « demain soir », « samedi 12 », « du 5 au 10
décembre »); « pendant les vacances (de Noël) » uses the school holidays of the events file;
categories are the file's words (« concert », « marché de Noël », « vide-grenier »), longest
first, so that « marché de Noël » is not also « marché »; « gratuit » and « pour les enfants »
are filters. Plain Python: the action calls `read_question` with the territory's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Iterable, List, Tuple

from core.dates import DateInPast, DateNotUnderstood, InvalidDate, describe_when_fr, format_day_fr, parse_when
from core.school_holidays import SchoolHolidayPeriod
from core.territory import load_territory
from core.text import clip, fold_words
from events.connector import EventQuery
from events.local import EventsFile

MAX_QUESTION = 300  # characters read: a question about events is shorter

_FREE = re.compile(
    r"\b(gratuit|gratuits|gratuite|gratuites|gratos|gratis|sans payer|entree libre|pas payant|pas payante)\b"
)
_CHILDREN = re.compile(
    r"\b(enfant|enfants|gamin|gamins|gosse|gosses|petits|mome|momes|famille|familles|en famille|jeune public|"
    r"bambin|bambins|ado|ados|adolescent|adolescents|bebe|bebes|kids|loulou|loulous|marmot|marmots)\b"
)
# « des concerts demain » : without its accent « dès » (from) would be read in « des » (some).
_ARTICLE_DES = re.compile(r"\bdes\b")
_HOLIDAYS = re.compile(r"\bvacances\b|\bvacs\b|\bvac\b|\bconges scolaires\b")


@dataclass(frozen=True)
class Question:
    query: EventQuery
    what_fr: str  # « les concerts gratuits ce week-end »
    period: str | None = None  # the school holidays asked about (their key)


def _categories(folded: str, content: EventsFile) -> Tuple[List[str], List[str], str]:
    """Category keys and the words found, longest words first; the text without them."""
    words = sorted(
        ((fold_words(word), key) for key, category in content.categories.items() for word in category.words),
        key=lambda pair: -len(pair[0]),
    )
    keys, found = [], []
    for word, key in words:
        pattern = rf"\b{re.escape(word)}\b"
        if word and re.search(pattern, folded):
            folded = re.sub(pattern, " ", folded)
            if key not in keys:
                keys.append(key)
                found.append(word)
    return keys, found, folded


def _period(folded: str, today: date) -> SchoolHolidayPeriod | None:
    holidays = load_territory().school_holidays
    if not _HOLIDAYS.search(folded) or holidays is None:
        return None
    periods = holidays.of_zone()
    named = [
        p for p in periods if any(re.search(rf"\b{re.escape(fold_words(w))}\b", folded) for w in p.words)
    ]
    candidates = named or periods
    coming = [p for p in candidates if p.end >= today]
    return coming[0] if coming else (candidates[-1] if candidates else None)


def _aware(day: date, moment: time, now: datetime) -> datetime:
    return datetime.combine(day, moment, tzinfo=now.tzinfo)


def _window(text: str, now: datetime) -> Tuple[datetime | None, datetime | None, str]:
    try:
        when = parse_when(text, now)
    except (DateNotUnderstood, InvalidDate, DateInPast):
        return None, None, ""
    if not when.specific_day and when.start == now.date() and (when.end - when.start).days >= 28:
        return None, None, ""  # « à 20 h », « au plus vite »: no day named
    start = _aware(when.start, when.time_from or time(0, 0), now)
    end = _aware(when.end, when.time_to or time(23, 59, 59), now)
    start = max(start, now) if start.date() == now.date() else start
    described = describe_when_fr(when, now.date())
    return start, end, ("le " + described if when.specific_day and when.start == when.end else described)


def _period_fr(period: SchoolHolidayPeriod, today: date) -> str:
    article = "les" if period.lower_name.startswith("vacances") else "le"  # « le pont de l'Ascension »
    return (
        f"pendant {article} {period.lower_name} (du {format_day_fr(period.start, today)} "
        f"au {format_day_fr(period.end, today)})"
    )


def read_question(
    text: str, now: datetime, content: EventsFile, entity_categories: Iterable[str] = ()
) -> Question:
    """The query a question asks (a text of any length, an emoji, nothing: then the next events)."""
    text = clip(text, MAX_QUESTION)
    folded = fold_words(text)
    keys, words, rest = _categories(folded, content)
    for value in entity_categories:
        if value in content.categories and value not in keys:
            keys.append(value)
            words.append(fold_words(content.categories[value].words[0]))
    free = bool(_FREE.search(folded))
    children = bool(_CHILDREN.search(folded))
    today = now.date()
    period = _period(folded, today)
    if period is not None:
        start = max(_aware(period.start, time(0, 0), now), now)
        end = _aware(period.end, time(23, 59, 59), now)
        when_fr = _period_fr(period, today)
    else:
        start, end, when_fr = _window(_ARTICLE_DES.sub("les", rest), now)
    query = EventQuery(start, end, tuple(keys), tuple(words), free, children)
    return Question(query, describe_fr(query, content, when_fr), period.key if period else None)


def describe_fr(query: EventQuery, content: EventsFile, when_fr: str = "") -> str:
    """« les concerts ou spectacles gratuits pour les enfants ce week-end »."""
    if query.is_open:
        return "les prochains événements"
    labels = [content.categories[key].label for key in query.categories if key in content.categories]
    what = "les " + (" ou ".join(labels) if labels else "événements")
    if query.free_only:
        what += " gratuits"
    if query.children:
        what += " pour les enfants"
    return " ".join(part for part in (what, when_fr) if part)
