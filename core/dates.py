"""Resolve what a citizen answers to « Quel jour vous conviendrait ? » into a :class:`When`.

Plain Python (no Rasa, no Duckling), Europe/Paris. The usual spoken and SMS forms are read with
regexes on a normalised text (lower case, no accents, punctuation folded, small typos fixed);
``dateparser`` is only the last resort for explicit dates written in an unusual way
("janvier 15"), always in French and day-first.

Choices made where French usage is ambiguous (the reply shows the resolved date, so the citizen
can correct it):

* A bare weekday or « ce mardi » is the next such day; today counts while it is before 17:00.
* « mardi prochain » / « mardi qui vient » is the next Tuesday *strictly after* today: said on a
  Monday it means tomorrow (some people would mean Tuesday of the following week).
  « mardi en huit » is one week after that.
* « lundi 7 »: the day number wins when the 7th is not a Monday.
* Hours 1 to 7 with no context (« à 2h ») are afternoon hours (13 h to 19 h): nobody books the
  town hall at 2 a.m. « du matin » or a morning context keeps them; « de l'après-midi », « du
  soir » or an afternoon/evening context adds 12 to any hour before noon.
* « dans N jours » with N < 7 is that one day; otherwise « dans N jours / semaines / mois » is the
  7-day range starting that far from today (N taken literally: « dans 15 jours » = today + 15).
* « lundi ou vendredi » is the whole range between the two days (a When cannot hold a set).
* Negated days (« pas le lundi », « sauf mardi ») are dropped, not turned into exclusions.
* Several times in one answer (« à 10h ou 11h »): the first one is the preferred time.
"""

from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from core.text import MONTHS_FR, WEEKDAYS_FR, clip, fold, format_time_fr

PARIS = ZoneInfo("Europe/Paris")
# Longest answer read: « plutôt la semaine prochaine, le mardi ou le jeudi en fin d'après-midi après
# 17 h 30 si possible » is about 100 characters; the rest of a longer text is not read.
MAX_DATE_CHARS = 200
SAME_DAY_CUTOFF = time(17, 0)
"""Before this time a weekday naming today means today; after it, the same day next week."""


MORNING = (time(0, 0), time(12, 0))
AFTERNOON = (time(12, 0), None)
LUNCH = (time(11, 30), time(14, 0))
LATE_AFTERNOON = (time(16, 0), None)
EVENING = (time(17, 0), None)
EARLY_MORNING = (None, time(10, 0))


@dataclass(frozen=True)
class When:
    start: date  # earliest acceptable day
    end: date  # latest acceptable day (== start for one day)
    time_from: time | None  # earliest time of day accepted (None = any)
    time_to: time | None  # latest time of day (exclusive, None = any)
    preferred_time: time | None  # "à 10h", "vers 14h30" -> that time; else None
    specific_day: bool  # True when the citizen named one day


class DateNotUnderstood(ValueError):
    """Nothing resembling a day or a time of day was found."""


class InvalidDate(ValueError):
    """The date or time does not exist: « le 31 février », « 30/02 », « le 32 », « 25h »."""


class DateInPast(ValueError):
    """The citizen named a day before today (« hier », « lundi dernier », « 3 janvier 2020 »)."""

    def __init__(self, day: date):
        super().__init__(f"date passée : {day.isoformat()}")
        self.day = day


# --------------------------------------------------------------------------- vocabulary

_WEEKDAY_NUM = {name: i for i, name in enumerate(WEEKDAYS_FR)}
_WEEKDAY_ABBR = {"lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6}
_MONTH_NUM = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
_MONTH_ABBR = {
    "janv": 1,
    "jan": 1,
    "fevr": 2,
    "fev": 2,
    "avr": 4,
    "juil": 7,
    "sept": 9,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_ALL_MONTHS = {**_MONTH_NUM, **_MONTH_ABBR}


def _alternation(words) -> str:
    """A regex alternation, longest words first so that « sept » wins over « sep »."""
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_WD = _alternation(WEEKDAYS_FR)
_WD_OR_ABBR = _alternation([*WEEKDAYS_FR, *_WEEKDAY_ABBR])
_MONTH = _alternation(_ALL_MONTHS)
_MONTH_FULL = _alternation(_MONTH_NUM)

NUMBER_WORDS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "dix sept": 17,
    "dix huit": 18,
    "dix neuf": 19,
    "vingt": 20,
    "vingt et un": 21,
    **{f"vingt {word}": 20 + n for word, n in (("deux", 2), ("trois", 3), ("quatre", 4), ("cinq", 5))},
    **{f"vingt {word}": 20 + n for word, n in (("six", 6), ("sept", 7), ("huit", 8), ("neuf", 9))},
    "trente": 30,
    "trente et un": 31,
}
_NUMBER = _alternation(NUMBER_WORDS)

_FUZZY_VOCABULARY = (
    *WEEKDAYS_FR,
    *_MONTH_NUM,
    "demain",
    "aujourdhui",
    "semaine",
    "prochain",
    "prochaine",
    "matin",
    "matinee",
    "soiree",
    "dernier",
    "derniere",
    "weekend",
    "possible",
    "journee",
)
_FUZZY_KEEP = frozenset({"martin", "martine", "marine", "manche", "marie", "demande", "aprem"})

# SMS spellings and synonyms rewritten to one canonical token, applied in this order.
_CANONICAL = (
    (r"\b(?:apres|apre|apr|ap|aprs) ?midi\b", "aprem"),
    (r"\bapre?m+e?s?\b", "aprem"),
    (r"\b(?:apres|apr) ?(?:demain|dmain|dem1|2main|dem)\b", "apresdemain"),
    (r"\b(?:dmain|dem1|2main|demin|dmin)\b", "demain"),
    (r"\b(?:aujourd ?hui|aujourdhui|aujourd|aujourdui|auj|aujd|ajd|ojd|oj)\b", "aujourdhui"),
    (r"\b(?:week ?end|wkend|wk)\b", "weekend"),
    (r"\b(ce|le|du) we\b", r"\1 weekend"),
    (r"\bmat1\b", "matin"),
    (r"\b(?:sem|smaine|semaines)\b", "semaine"),
    (r"\b(" + _WD + r"|semaine|mois|weekend) (?:pro|proch|prochaine|prochains|prochaines)\b", r"\1 prochain"),
)


# --------------------------------------------------------------------------- normalisation


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation folded to spaces, SMS forms and small typos fixed.

    « Mardi prochain à 10h30 ! » -> "mardi prochain a 10h30"; "03/12/26" and "10:30" are kept.
    """
    folded = fold(clip(text, MAX_DATE_CHARS))
    folded = re.sub(r"\ba-m\b|\bap-m\b", " aprem ", folded)
    folded = re.sub(r"(?<!\d)[./:]|[./:](?!\d)", " ", folded)
    folded = re.sub(r"-(?!\d)", " ", folded)
    folded = re.sub(r"[^a-z0-9/:.\- ]", " ", folded)
    folded = _squash(folded)
    folded = _canonical(_fix_typos(_canonical(folded)))
    return _squash(_rewrite_numbers(folded))


def _squash(text: str) -> str:
    """Collapse runs of spaces."""
    return re.sub(r"\s+", " ", text).strip()


def _canonical(text: str) -> str:
    """Rewrite SMS spellings and synonyms (« dmain », « aprèm », « semaine pro ») canonically."""
    for pattern, replacement in _CANONICAL:
        text = re.sub(pattern, replacement, text)
    return text


def _fix_typos(text: str) -> str:
    """Replace words close to a date word (« mercedi », « samdi », « janveir ») by that word."""
    words = []
    for word in text.split(" "):
        if len(word) >= 5 and word.isalpha() and word not in _FUZZY_KEEP:
            candidates = [v for v in _FUZZY_VOCABULARY if v[0] == word[0] and abs(len(v) - len(word)) <= 2]
            close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.82)
            word = close[0] if close else word
        words.append(word)
    return " ".join(words)


def _rewrite_numbers(text: str) -> str:
    """Digits for number words and ordinals; « 10 heures et demie » -> "10h30"."""
    unit = r"(?= (?:jours?|semaines?|mois|heures?|h)\b)"
    text = re.sub(r"\b" + _NUMBER + r"\b" + unit, lambda m: str(NUMBER_WORDS[m.group(0)]), text)
    text = re.sub(
        r"\b(dans|le|d ici|du|au|les) (" + _NUMBER + r")\b",
        lambda m: f"{m.group(1)} {NUMBER_WORDS[m.group(2)]}",
        text,
    )
    not_a_day = r"(?! (?:creneau|rendez|rdv|dispo|disponib|date|moment|horaire|jour|semaine|heure|place))"
    text = re.sub(r"\bpremiere?\b" + not_a_day, "1", text)
    text = re.sub(r"\b(\d{1,2}) ?(?:er|ere|eme)\b", r"\1", text)
    text = re.sub(r"\bmidi et demie?\b", "12h30", text)
    text = re.sub(r"\bmidi et quart\b", "12h15", text)
    text = re.sub(r"\b(\d{1,2}) ?(?:h|heures?) et demie?\b", r"\1h30", text)
    text = re.sub(r"\b(\d{1,2}) ?(?:h|heures?) et quart\b", r"\1h15", text)
    return re.sub(
        r"\b(\d{1,2}) ?(?:h|heures?) moins (?:le )?quart\b", lambda m: f"{int(m.group(1)) - 1}h45", text
    )


# --------------------------------------------------------------------------- scanning state


@dataclass(frozen=True)
class _Span:
    start: date
    end: date
    specific: bool
    weekday: bool = False  # a bare weekday, may be moved a week to stay close to its siblings


@dataclass(frozen=True)
class _Clock:
    """A time as written, before the afternoon rule is applied."""

    hour: int
    minute: int
    meridiem: str | None = None  # "am", "pm" from « du matin », « de l'après-midi », « du soir »
    fixed: bool = False  # midi, minuit, computed times: never shifted


@dataclass
class _Scan:
    """The normalised text being consumed, and what has been found in it so far."""

    text: str
    now: datetime
    horizon_days: int
    spans: list[_Span] = field(default_factory=list)
    past: list[date] = field(default_factory=list)
    week: tuple[date, _Span] | None = None  # Monday of a named week, and that week's span
    flexible: bool = False
    today_hint: bool = False  # « ce soir », « ce matin »
    windows: list[tuple[time | None, time | None]] = field(default_factory=list)
    time_from: list[_Clock] = field(default_factory=list)
    time_to: list[_Clock] = field(default_factory=list)
    preferred: list[_Clock] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.date()

    def take(self, pattern: str) -> list[re.Match]:
        """Every match of `pattern`, blanked out of the text so later rules don't see it again."""
        matches = list(re.finditer(pattern, self.text))
        if matches:  # one pass over the text (rebuilding it per match was quadratic)
            pieces, position = [], 0
            for match in matches:
                pieces.append(self.text[position : match.start()])
                position = match.end()
            pieces.append(self.text[position:])
            self.text = _squash(" ".join(pieces))
        return matches


# --------------------------------------------------------------------------- times of day

_SUFFIX = r"(?: (?:du matin|du soir|de l aprem|d aprem|de la matinee|de la soiree))?"
_CLOCK_DIGITS = r"\b(?:\d{1,2} ?(?:heures?\b|h(?![a-z]))(?: ?\d{2}\b(?! " + _MONTH + r"\b))?|\d{1,2}:\d{2}\b)"
_CLOCK = r"(?:" + _CLOCK_DIGITS + r"|\bmidi\b|\bminuit\b)"
_CLOCK_LOOSE = (
    r"(?:"
    + _CLOCK
    + r"|\b\d{1,2}\b(?![/:.\-]\d| ?(?:er\b|jours?\b|semaines?\b|mois\b|ans?\b|"
    + _MONTH
    + r"\b)))"
)
_H = "(" + _CLOCK + _SUFFIX + ")"
_HL = "(" + _CLOCK_LOOSE + _SUFFIX + ")"
_HD = "(" + _CLOCK_DIGITS + _SUFFIX + ")"  # a bare « midi » is a part of the day, not a time


def _clock(raw: str) -> _Clock:
    """Read « 10h30 », « 14 heures », « 9 », « midi », « 2h de l'aprem » into a _Clock."""
    if raw.startswith("midi"):
        return _Clock(12, 0, fixed=True)
    if raw.startswith("minuit"):
        return _Clock(0, 0, fixed=True)
    hour, minute = re.match(r"(\d{1,2})(?: ?(?:heures?|h|:) ?(\d{2}))?", raw).groups()
    meridiem = "am" if "matin" in raw else "pm" if ("soir" in raw or "aprem" in raw) else None
    return _Clock(int(hour), int(minute or 0), meridiem)


def _scan_times(scan: _Scan) -> None:
    """Explicit times: ranges, « après 15h », « avant 11h », « à 10h », « dans 2 heures »."""
    for _ in scan.take(r"\bentre midi et (?:deux|2|2h|14h|14 heures|2 heures)\b"):
        scan.windows.append(LUNCH)
    for match in scan.take(r"\bdans (\d{1,2}) ?(?:heures?|h)\b"):
        moment = scan.now + timedelta(hours=int(match.group(1)))
        scan.spans.append(_Span(moment.date(), moment.date(), True))
        scan.preferred.append(_Clock(moment.hour, moment.minute, fixed=True))
    ranges = (
        r"\b(?:entre|de|des) " + _HL + r" ?(?:et|a|-|jusqu a) ?" + _HL,
        _H + r" ?(?:-|a) ?" + _H,
        r"\b(\d{1,2})-" + _H,
    )
    for pattern in ranges:
        for match in scan.take(pattern):
            scan.time_from.append(_clock(match.group(1)))
            scan.time_to.append(_clock(match.group(2)))
    bounds = (
        (r"\bpas avant " + _HL, scan.time_from),
        (r"\b(?:pas apres|pas plus tard que) " + _HL, scan.time_to),
        (r"\b(?:a partir (?:de|d)|apres|des|plus tard que|au plus tot a) ?" + _HL, scan.time_from),
        (r"\b(?:avant|jusqu a|au plus tard(?: a| vers)?) ?" + _HL, scan.time_to),
        (r"\b(?:a|vers|pour|aux alentours de|autour de|environ) " + _HL, scan.preferred),
        (_HD, scan.preferred),
    )
    for pattern, found in bounds:
        found.extend(_clock(match.group(1)) for match in scan.take(pattern))


_PARTS_OF_DAY = (
    (r"\b(?:en )?fin (?:de l |d |de )?aprem\b", LATE_AFTERNOON),
    (r"\b(?:en )?debut (?:de l |d |de )?aprem\b", (time(12, 0), time(15, 0))),
    (r"\b(?:en )?fin de (?:la )?matin(?:ee)?\b", (time(10, 0), time(12, 0))),
    (
        r"\b(?:tres )?tot le matin\b|\bde bon matin\b|\b(?:en )?debut de (?:la )?(?:matinee|matin|journee)\b"
        r"|\b(?:a|des|pour|vers|de) l ouverture\b|\b(?:a )?la premiere heure\b|\bouverture\b",
        EARLY_MORNING,
    ),
    (r"\b(?:en )?fin de (?:la )?journee\b", LATE_AFTERNOON),
    (r"\b(?:(?P<today>ce|cet|cette) )?(?:soiree|soir)s?\b", EVENING),
    (r"\b(?:(?P<today>ce|cet|cette) )?aprem\b", AFTERNOON),
    (r"\b(?:(?P<today>ce|cet|cette) )?matin(?:ee)?s?\b", MORNING),
    (r"\bpause (?:dej|dejeuner|de midi|meridienne)\b|\bheure du dejeuner\b|\bmidi\b", LUNCH),
)


def _scan_parts_of_day(scan: _Scan) -> None:
    """« le matin », « aprem », « en soirée », « entre midi et deux », « à l'ouverture »."""
    for pattern, window in _PARTS_OF_DAY:
        for match in scan.take(pattern):
            scan.windows.append(window)
            if "today" in match.re.groupindex and match.group("today"):
                scan.today_hint = True


def _resolve_clock(clock: _Clock, context: str | None) -> time:
    """Apply the afternoon rule (see module docstring) and check the time exists."""
    hour = clock.hour
    if not clock.fixed and hour < 12:
        if clock.meridiem == "pm" or (clock.meridiem is None and context == "pm"):
            hour += 12
        elif clock.meridiem is None and context is None and 1 <= hour <= 7:
            hour += 12
    if hour > 23 or clock.minute > 59:
        raise InvalidDate(f"heure inexistante : {clock.hour}h{clock.minute:02d}")
    return time(hour, clock.minute)


def _context(windows: list[tuple[time | None, time | None]]) -> str | None:
    """Return "am" when every part of day named is in the morning, "pm" when all are after noon."""
    if windows and all(lo is not None and lo >= time(12) for lo, _ in windows):
        return "pm"
    if windows and all(hi is not None and hi <= time(12) for _, hi in windows):
        return "am"
    return None


def _resolve_times(scan: _Scan) -> tuple[time | None, time | None, time | None] | None:
    """(time_from, time_to, preferred_time), or None when no time of day was mentioned."""
    if not (scan.windows or scan.time_from or scan.time_to or scan.preferred):
        return None
    context = _context(scan.windows)
    low, high = None, None
    if scan.windows:
        lows = [lo for lo, _ in scan.windows]
        highs = [hi for _, hi in scan.windows]
        low = None if None in lows else min(lows)
        high = None if None in highs else max(highs)
    explicit_low = max((_resolve_clock(c, context) for c in scan.time_from), default=None)
    explicit_high = min((_resolve_clock(c, context) for c in scan.time_to), default=None)
    merged_low = max((t for t in (low, explicit_low) if t is not None), default=None)
    merged_high = min((t for t in (high, explicit_high) if t is not None), default=None)
    if merged_low is not None and merged_high is not None and merged_low >= merged_high:
        merged_low, merged_high = explicit_low, explicit_high  # the explicit times win
    preferred = _resolve_clock(scan.preferred[0], context) if scan.preferred else None
    return merged_low, merged_high, preferred


# --------------------------------------------------------------------------- calendar helpers


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    """(year, month) moved by `months`."""
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _year(raw: str | None) -> int | None:
    """« 2027 » -> 2027, « 27 » -> 2027, None -> None."""
    if raw is None:
        return None
    return int(raw) + 2000 if len(raw) == 2 else int(raw)


def _month_of(word: str) -> int:
    return _ALL_MONTHS[word]


def _day_of_month(today: date, day: int) -> date:
    """« le 3 »: this month if not past, else the next month that has that day."""
    if not 1 <= day <= 31:
        raise InvalidDate(f"jour inexistant : {day}")
    year, month = today.year, today.month
    while day > _last_day(year, month) or date(year, month, day) < today:
        year, month = _add_months(year, month, 1)
    return date(year, month, day)


def _day_month(today: date, day: int, month: int, year: int | None) -> date:
    """« 3 décembre [2026] »: without a year, the next such day (next year once past)."""
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise InvalidDate(f"date inexistante : {day}/{month}")
    if year is not None:
        try:
            found = date(year, month, day)
        except ValueError as error:
            raise InvalidDate(f"date inexistante : {day}/{month}/{year}") from error
        if found < today:
            raise DateInPast(found)
        return found
    if day > _last_day(2024, month):  # 2024 is a leap year: 29 February exists
        raise InvalidDate(f"date inexistante : {day}/{month}")
    for candidate_year in range(today.year, today.year + 9):
        if day <= _last_day(candidate_year, month) and date(candidate_year, month, day) >= today:
            return date(candidate_year, month, day)
    raise InvalidDate(f"date inexistante : {day}/{month}")  # pragma: no cover - unreachable


def _next_weekday(scan: _Scan, weekday: int, strictly_after: bool) -> date:
    """The next `weekday`; today counts unless `strictly_after` or it is past the cutoff."""
    delta = (weekday - scan.today.weekday()) % 7
    if delta == 0 and (strictly_after or scan.now.time() >= SAME_DAY_CUTOFF):
        delta = 7
    return scan.today + timedelta(days=delta)


def _month_span(today: date, month: int, year: int | None, part: str) -> _Span:
    """A month or part of it: « janvier » (all), « début » 1-10, « mi » 10-20, « fin » 20-end."""
    explicit = year is not None
    year = year if explicit else today.year
    first, last = _month_part(year, month, part)
    if not explicit and last < today:
        first, last = _month_part(year + 1, month, part)
    if last < today:
        raise DateInPast(first)
    return _Span(max(first, today), last, False)


def _month_part(year: int, month: int, part: str) -> tuple[date, date]:
    """First and last day of a part of a month."""
    last = _last_day(year, month)
    first_day, last_day = {"debut": (1, 10), "mi": (10, 20), "milieu": (10, 20), "fin": (20, last)}.get(
        part, (1, last)
    )
    return date(year, month, first_day), date(year, month, last_day)


# --------------------------------------------------------------------------- days

_BOUND_BEFORE = re.compile(
    r"\b(?P<kw>d ici|pas avant|avant|au plus tard|jusqu|a partir|des|apres)(?: (?:a|au|de|du|d|le|la|ce))* ?$"
)


def _add(scan: _Scan, match: re.Match, span: _Span) -> None:
    """Record a day span, widened when preceded by « avant », « d'ici », « à partir de »…"""
    bound = _BOUND_BEFORE.search(match.string[: match.start()])
    if bound is None:
        scan.spans.append(span)
        return
    keyword, today, horizon = bound.group("kw"), scan.today, timedelta(days=scan.horizon_days)
    if keyword == "avant":
        span = _Span(today, max(today, span.start - timedelta(days=1)), False)
    elif keyword in ("d ici", "au plus tard", "jusqu"):
        span = _Span(today, span.end, False)
    elif keyword == "apres":
        span = _Span(span.end + timedelta(days=1), span.end + timedelta(days=1) + horizon, False)
    else:
        span = _Span(span.start, span.start + horizon, False)
    scan.spans.append(span)


def _one_day(scan: _Scan, match: re.Match, day: date) -> None:
    _add(scan, match, _Span(day, day, True))


def _scan_past(scan: _Scan) -> None:
    """« hier », « avant-hier », « lundi dernier », « la semaine dernière », « le mois dernier »."""
    today = scan.today
    for _ in scan.take(r"\bavant ?hier\b"):
        scan.past.append(today - timedelta(days=2))
    for _ in scan.take(r"\bhier\b"):
        scan.past.append(today - timedelta(days=1))
    for _ in scan.take(r"\b(?:la )?semaine (?:derniere|passee)\b"):
        scan.past.append(_monday(today) - timedelta(days=7))
    for _ in scan.take(r"\b(?:le )?mois (?:dernier|passe)\b"):
        scan.past.append(date(*_add_months(today.year, today.month, -1), 1))
    for match in scan.take(r"\b(" + _WD + r")s? (?:dernier|derniere|passe)\b"):
        delta = (today.weekday() - _WEEKDAY_NUM[match.group(1)]) % 7 or 7
        scan.past.append(today - timedelta(days=delta))


def _scan_date_ranges(scan: _Scan) -> None:
    """« du 10 au 15 décembre », « entre le 3 et le 5 », « la semaine du 7 décembre »."""
    today = scan.today
    pattern = (
        r"\b(?:du|entre le) (\d{1,2})(?: (" + _MONTH + r"))? (?:au|et le) (\d{1,2})"
        r"(?: (" + _MONTH + r"))?(?: (\d{4}))?\b"
    )
    for match in scan.take(pattern):
        scan.spans.append(_day_range(today, *match.groups()))
    pattern = r"\b(?:la )?semaine du (?:" + _WD + r" )?(\d{1,2})(?: (" + _MONTH + r")(?: (\d{4}))?)?\b"
    for match in scan.take(pattern):
        day = _loose_date(today, match.group(1), match.group(2), match.group(3))
        _set_week(scan, match, _monday(day))


def _scan_explicit_dates(scan: _Scan) -> None:
    """« 03/12/26 », « 2027-01-15 », « le 3 décembre », « janvier 15 », « lundi 7 », « le 3 »."""
    today = scan.today
    pattern = r"(?<![\d/.\-])\b(?:" + _WD + r" )?(\d{1,2})([/.\-])(\d{1,2})(?:\2(\d{4}|\d{2}))?\b(?![/.\-]\d)"
    for match in scan.take(pattern):
        day, _, month, year = match.groups()
        _one_day(scan, match, _day_month(today, int(day), int(month), _year(year)))
    for match in scan.take(r"\b(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})\b"):
        year, month, day = match.groups()
        _one_day(scan, match, _day_month(today, int(day), int(month), int(year)))
    pattern = r"\b(?:" + _WD + r" )?(?:le )?(\d{1,2}) (?:de )?(" + _MONTH + r")(?: (\d{4}))?\b"
    for match in scan.take(pattern):
        day, month, year = match.groups()
        _one_day(scan, match, _day_month(today, int(day), _month_of(month), _year(year)))
    for match in scan.take(r"\b(" + _MONTH_FULL + r") (\d{1,2})\b(?: (\d{4})\b)?"):
        month, day, year = match.groups()
        _one_day(scan, match, _day_month(today, int(day), _MONTH_NUM[month], _year(year)))
    for match in scan.take(r"\b" + _WD_OR_ABBR + r"s? (?:le )?(\d{1,2})\b"):
        _one_day(scan, match, _day_of_month(today, int(match.group(1))))
    for match in scan.take(r"\b(?:le|du|au) (\d{1,2})\b"):
        _one_day(scan, match, _day_of_month(today, int(match.group(1))))


def _loose_date(today: date, day: str, month: str | None, year: str | None) -> date:
    """A day number with an optional month and year."""
    if month is None:
        return _day_of_month(today, int(day))
    return _day_month(today, int(day), _month_of(month), _year(year))


def _day_range(
    today: date, first: str, first_month: str | None, last: str, last_month: str | None, year: str | None
) -> _Span:
    """« du 10 au 15 [décembre] », « entre le 28 novembre et le 3 décembre »."""
    end_month = last_month or first_month
    if end_month is None:
        start = _day_of_month(today, int(first))
        year_, month = (
            (start.year, start.month) if int(last) >= int(first) else _add_months(start.year, start.month, 1)
        )
        end = _day_month(today, int(last), month, year_)
        return _Span(start, end, False)
    end = _day_month(today, int(last), _month_of(end_month), _year(year))
    if first_month is None:
        year_, month = (
            (end.year, end.month) if int(first) <= int(last) else _add_months(end.year, end.month, -1)
        )
    else:
        month = _month_of(first_month)
        year_ = end.year if month <= end.month else end.year - 1
    try:
        start = date(year_, month, int(first))
    except ValueError as error:
        raise InvalidDate(f"date inexistante : {first}/{month}") from error
    if end < start:
        raise InvalidDate("fin avant le début")
    return _Span(max(start, today), end, False)


def _set_week(scan: _Scan, match: re.Match, monday: date, start: date | None = None) -> None:
    """Record a named week; a weekday named with it (« mardi de la semaine prochaine ») uses it."""
    if start is None:
        span = _Span(max(monday, scan.today), monday + timedelta(days=6), False)
    else:
        span = _Span(start, start + timedelta(days=6), False)
    if span.end < scan.today:
        raise DateInPast(monday)
    _add(scan, match, span)
    scan.week = (monday, scan.spans[-1])


def _scan_relative_days(scan: _Scan) -> None:
    """« aujourd'hui », « demain », « après-demain », « dans 2 semaines », « d'ici 10 jours »."""
    today = scan.today
    for match in scan.take(r"\baujourdhui\b|\bce jour\b"):
        _one_day(scan, match, today)
    for match in scan.take(r"\bdemain\b"):
        _one_day(scan, match, today + timedelta(days=1))
    for match in scan.take(r"\bapresdemain\b"):
        _one_day(scan, match, today + timedelta(days=2))
    within = r"\b(?:dans les|d ici|sous|les) (\d{1,3})(?: prochains?| prochaines?)? (jours?|semaines?)\b"
    for match in scan.take(within):
        days = int(match.group(1)) * (7 if match.group(2).startswith("semaine") else 1)
        scan.spans.append(_Span(today, today + timedelta(days=days), False))
    for match in scan.take(r"\bdans (\d{1,3}) (jours?|semaines?|mois)\b"):
        _in_some_time(scan, match, int(match.group(1)), match.group(2))


def _in_some_time(scan: _Scan, match: re.Match, count: int, unit: str) -> None:
    """« dans 3 jours » (that day), « dans 2 semaines » / « dans 15 jours » / « dans 2 mois » (7 days)."""
    today = scan.today
    if unit.startswith("mois"):
        year, month = _add_months(today.year, today.month, count)
        start = date(year, month, min(today.day, _last_day(year, month)))
    else:
        start = today + timedelta(days=count * (7 if unit.startswith("semaine") else 1))
    if unit.startswith("jour") and count < 7:
        _one_day(scan, match, start)
    elif unit.startswith("semaine"):
        _set_week(scan, match, _monday(start), start)
    else:
        _add(scan, match, _Span(start, start + timedelta(days=6), False))


def _scan_weeks_and_months(scan: _Scan) -> None:
    """« cette semaine », « semaine prochaine », « ce week-end », « début janvier », « mois prochain »."""
    today, monday = scan.today, _monday(scan.today)
    pattern = r"\b(debut|milieu|fin) de (?:la )?semaine( prochain| qui vient| suivante)?\b"
    for match in scan.take(pattern):
        week = monday + timedelta(days=7 if match.group(2) else 0)
        first, last = {"debut": (0, 2), "milieu": (1, 3), "fin": (3, 6)}[match.group(1)]
        span = _Span(week + timedelta(days=first), week + timedelta(days=last), False)
        if span.end < today:
            span = _Span(span.start + timedelta(days=7), span.end + timedelta(days=7), False)
        _add(scan, match, _Span(max(span.start, today), span.end, False))
    for match in scan.take(r"\b(?:la )?semaine (?:prochain|qui vient|d apres|suivante)\b"):
        _set_week(scan, match, monday + timedelta(days=7))
    for match in scan.take(r"\b(?:cette|dans la) semaine(?: ci)?\b"):
        _set_week(scan, match, monday)
    for match in scan.take(r"\bweekend( prochain| qui vient)?\b"):
        saturday = monday + timedelta(days=5)
        if match.group(1) and today >= saturday:
            saturday += timedelta(days=7)
        _add(scan, match, _Span(max(saturday, today), saturday + timedelta(days=1), False))
    _scan_months(scan)


def _scan_months(scan: _Scan) -> None:
    """« début janvier », « mi-mars 2027 », « fin du mois », « le mois prochain », « en février »."""
    today = scan.today
    pattern = (
        r"\b(debut|mi|milieu|fin|courant) (?:de |du |d )?(?:mois (?:de |d )?)?("
        + _MONTH
        + r")(?: (\d{4}))?\b"
    )
    for match in scan.take(pattern):
        part, month, year = match.groups()
        _add(scan, match, _month_span(today, _month_of(month), _year(year), part))
    for match in scan.take(r"\b(debut|mi|milieu|fin|courant) (?:de |du |d )?(?:ce )?mois( prochain)?\b"):
        year, month = _add_months(today.year, today.month, 1 if match.group(2) else 0)
        if not match.group(2) and _month_part(year, month, match.group(1))[1] < today:
            year, month = _add_months(year, month, 1)
        _add(scan, match, _month_span(today, month, year, match.group(1)))
    for match in scan.take(r"\bmois (?:prochain|suivant|d apres|qui vient)\b"):
        year, month = _add_months(today.year, today.month, 1)
        _add(scan, match, _month_span(today, month, year, "all"))
    for match in scan.take(r"\bce mois(?: ci)?\b|\bdans le mois\b"):
        _add(scan, match, _month_span(today, today.month, today.year, "all"))
    for match in scan.take(r"\b(" + _MONTH_FULL + r")(?: (\d{4}))?\b"):
        _add(scan, match, _month_span(today, _MONTH_NUM[match.group(1)], _year(match.group(2)), "all"))


def _scan_weekdays(scan: _Scan) -> None:
    """« mardi », « ce mardi », « mardi prochain », « mardi qui vient », « mardi en huit »."""
    pattern = r"\b(?:(ce|cette) )?(" + _WD + r")s?(?: (prochain|qui vient|suivant|en huit))?\b"
    for match in scan.take(pattern):
        weekday, modifier = _WEEKDAY_NUM[match.group(2)], match.group(3)
        if scan.week is not None and modifier is None:
            _weekday_in_week(scan, match, weekday)
            continue
        # « mardi prochain » said on a Monday is tomorrow: French usage is ambiguous, we take the
        # next occurrence strictly after today (the reply shows the date, the citizen can correct it).
        day = _next_weekday(scan, weekday, strictly_after=modifier is not None)
        if modifier == "en huit":
            day += timedelta(days=7)
        _add(scan, match, _Span(day, day, True, weekday=modifier is None))


def _weekday_in_week(scan: _Scan, match: re.Match, weekday: int) -> None:
    """« mardi de la semaine prochaine »: the named week's Tuesday instead of the whole week."""
    monday, week_span = scan.week
    day = monday + timedelta(days=weekday)
    if day < scan.today:
        raise DateInPast(day)
    if week_span in scan.spans:
        scan.spans.remove(week_span)
    _one_day(scan, match, day)


def _scan_fallbacks(scan: _Scan, original: str) -> None:
    """A bare number (« 15 ») is a day of the month; otherwise ask dateparser for explicit dates."""
    if scan.spans or scan.past:
        return
    bare = re.fullmatch(r"(?:le )?(\d{1,2})", scan.text)
    if bare:
        day = _day_of_month(scan.today, int(bare.group(1)))
        scan.spans.append(_Span(day, day, True))
        return
    # No date has nine digits in a row, and dateparser is superlinear on long runs of them.
    if re.search(r"\d|\b" + _MONTH + r"\b", scan.text) and not re.search(r"\d{9}", original):
        day = _dateparser_day(original, scan.now)
        if day is not None:
            scan.spans.append(_Span(day, day, True))


def _dateparser_day(text: str, now: datetime) -> date | None:
    """Last resort for explicit dates (« janvier 15 »): dateparser in French, day first."""
    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "REQUIRE_PARTS": ["day", "month"],
    }
    parsed = dateparser.parse(text, languages=["fr"], settings=settings)
    if parsed is None:
        return None
    day, today = parsed.date(), now.date()
    if day < today and not re.search(r"\b\d{4}\b", text):
        day = _day_month(today, day.day, day.month, None)
    if day < today:
        raise DateInPast(day)
    return day


# --------------------------------------------------------------------------- putting it together

_FLEXIBLE = (
    r"\b(?:au plus (?:vite|tot)|le plus (?:tot|vite|rapidement)(?: possible)?|des que possible"
    r"|(?:aussitot|dans les meilleurs delais|dans les plus brefs delais) que possible|asap|dqp"
    r"|des que vous pouvez|n ?importe (?:quand|quel jour|lequel)|peu (?:importe|m importe)"
    r"|quand vous (?:voulez|pouvez|souhaitez)|comme vous (?:voulez|pouvez|souhaitez)"
    r"|(?:pas|aucune|sans) (?:de )?preference|indifferent|(?:ca )?m est egal|c est egal"
    r"|(?:le )?premier (?:creneau|rendez vous|rdv|disponible|dispo)(?: disponible)?"
    r"|(?:la )?premiere (?:date|disponibilite|dispo|place)(?: disponible)?|tout de suite|des maintenant"
    r"|rapidement|a tout moment|pas de contrainte|(?:je suis )?dispo(?:nible)? tout le temps)\b"
)
_NEGATION = (
    r"\b(?:surtout pas|pas|sauf|hors|excepte|jamais)(?: le| les| ce| la| l| en| de)? (?:"
    + _WD
    + r"s?|matin(?:ee)?s?|aprem|soir(?:ee)?s?|weekend|demain|aujourdhui)\b"
)


def _paris(now: datetime) -> datetime:
    """`now` as Europe/Paris local time; a naive datetime is taken as already local."""
    if now.tzinfo is None:
        return now.replace(tzinfo=PARIS)
    return now.astimezone(PARIS)


def _gather_days(scan: _Scan) -> _Span | None:
    """The single day or range of days named, or None when no day was named."""
    spans = scan.spans
    if not spans:
        if scan.past:
            raise DateInPast(scan.past[0])
        if scan.today_hint:
            return _Span(scan.today, scan.today, True)
        return None
    if len(spans) == 1:
        return spans[0]
    days = _closest_weekdays(spans) if all(s.weekday for s in spans) else spans
    return _Span(min(s.start for s in days), max(s.end for s in days), False)


def _closest_weekdays(spans: list[_Span]) -> list[_Span]:
    """« samedi ou dimanche » said on a Sunday: move the earliest day a week on while it tightens."""
    days = sorted(s.start for s in spans)
    while True:
        moved = sorted([*days[1:], days[0] + timedelta(days=7)])
        if moved[-1] - moved[0] >= days[-1] - days[0]:
            break
        days = moved
    return [_Span(day, day, True, True) for day in days]


def parse_when(text: str, now: datetime, horizon_days: int = 60) -> When:
    """Resolve a French answer to « Quel jour vous conviendrait ? ».

    Raises DateNotUnderstood (no day nor time found), InvalidDate (« le 31 février ») or
    DateInPast (« hier »). A day further than `horizon_days` still parses: the caller decides.
    A time of day alone, or « au plus vite », means any day from today to today + `horizon_days`.
    """
    text = clip(text, MAX_DATE_CHARS)  # normalize and dateparser read the same clipped text
    now = _paris(now)
    scan = _Scan(normalize(text), now, horizon_days)
    _scan_times(scan)
    for _ in scan.take(_FLEXIBLE):
        scan.flexible = True
    scan.take(_NEGATION)
    _scan_parts_of_day(scan)
    _scan_past(scan)
    _scan_date_ranges(scan)
    _scan_explicit_dates(scan)
    _scan_relative_days(scan)
    _scan_weeks_and_months(scan)
    _scan_weekdays(scan)
    _scan_fallbacks(scan, text)
    days = _gather_days(scan)
    times = _resolve_times(scan)
    if days is None and times is None and not scan.flexible:
        raise DateNotUnderstood(text)
    if days is None:
        days = _Span(scan.today, scan.today + timedelta(days=horizon_days), False)
    time_from, time_to, preferred = times or (None, None, None)
    return When(days.start, days.end, time_from, time_to, preferred, days.specific)


# --------------------------------------------------------------------------- French description


def format_day_fr(day: date, today: date, with_month: bool = True) -> str:
    """« mardi 1er décembre », with the year when it is not the current one."""
    text = f"{WEEKDAYS_FR[day.weekday()]} {'1er' if day.day == 1 else day.day}"
    if with_month:
        text += f" {MONTHS_FR[day.month - 1]}"
        if day.year != today.year:
            text += f" {day.year}"
    return text


def _describe_days(w: When, today: date) -> str:
    """« mardi 1er décembre », « la semaine du 7 décembre », « en janvier », « dès que possible »."""
    if w.start == w.end:
        return format_day_fr(w.start, today)
    if w.start == today and (w.end - w.start).days >= 28:
        return "dès que possible"
    if w.start.weekday() == 0 and w.end == w.start + timedelta(days=6):
        return "la semaine du " + format_day_fr(w.start, today).split(" ", 1)[1]
    if w.start.day == 1 and w.end == date(w.end.year, w.end.month, _last_day(w.end.year, w.end.month)):
        if (w.start.year, w.start.month) == (w.end.year, w.end.month):
            year = f" {w.start.year}" if w.start.year != today.year else ""
            return f"en {MONTHS_FR[w.start.month - 1]}{year}"
    if w.start == today:
        return f"d'ici le {format_day_fr(w.end, today)}"
    same_month = (w.start.year, w.start.month) == (w.end.year, w.end.month)
    return f"entre le {format_day_fr(w.start, today, not same_month)} et le {format_day_fr(w.end, today)}"


def _describe_times(w: When) -> str:
    """« à 10 h », « le matin », « après 12 h », « avant 11 h », « entre 14 h et 16 h », or ""."""
    if w.preferred_time is not None:
        return f"à {format_time_fr(w.preferred_time)}"
    low = None if w.time_from == time(0, 0) else w.time_from
    if low is None and w.time_to == time(12, 0):
        return "le matin"
    if low is not None and w.time_to is not None:
        return f"entre {format_time_fr(low)} et {format_time_fr(w.time_to)}"
    if low is not None:
        return f"après {format_time_fr(low)}"
    if w.time_to is not None:
        return f"avant {format_time_fr(w.time_to)}"
    return ""


def describe_when_fr(w: When, today: date) -> str:
    """A short French description for the reply: « mardi 1er décembre après 12 h »,
    « la semaine du 7 décembre », « dès que possible, le matin »."""
    days, times = _describe_days(w, today), _describe_times(w)
    if not times:
        return days
    return f"{days} {times}" if w.specific_day else f"{days}, {times}"
