"""Collection calendar: when each bin of a sector is collected, holidays applied.

Plain Python (no Rasa), computed from the waste file (waste.config) and the French public
holidays (core.holidays): there is no yearly calendar to type in, only the exceptions.

Order of the rules for one usual collection date of a stream in a sector:
1. an explicit exception for that date (moved, cancelled) wins;
2. else, on a public holiday, the stream's holiday rule: shift_next_day (the next day that
   is neither a Sunday nor a holiday), maintained, or cancelled;
3. else the collection takes place as usual.
Added collections (exceptions with `added: true`) come on top. Two collections of a stream
landing on the same day (a Monday shifted onto a Tuesday collection) count once. A season
bounds the usual dates: the last collection of the season, shifted by a holiday, still
takes place the day after.

Biweekly rules follow the parity of the ISO week number, as printed on the paper
calendars ("semaines paires"). In a year of 53 ISO weeks the odd rule therefore collects
in weeks 53 and 1 in a row and the even rule waits three weeks (2026-12-21 → 2027-01-11):
the commune evens that out with exceptions, the code does not guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Dict, Iterable, List

from core.holidays import holiday_name
from core.text import format_date_fr
from waste.config import MAX_MOVE_DAYS, CollectionException, WasteConfig

# How far around the asked period usual dates are looked at, so that a collection moved
# (exception) or shifted (holiday, then Sunday, then holiday…) into the period is found.
_MARGIN = timedelta(days=MAX_MOVE_DAYS + 7)
_HORIZON_DAYS = 800  # next_collections looks this far at most (seasonal or monthly rules)
_CHUNK_DAYS = 92


@dataclass(frozen=True)
class Collection:
    stream: str
    day: date
    shifted_from: date | None = None  # the usual date when the collection was moved
    note: str | None = None  # "décalée au lendemain (Noël)", "maintenue malgré le jour férié (…)"
    reason: str | None = field(default=None, compare=False)  # "Noël": the why, for texts


# ---- computing -----------------------------------------------------------------------------


def _moved_note(usual: date, day: date, reason: str | None) -> str:
    gap = (day - usual).days
    if gap == 1:
        text = "décalée au lendemain"
    elif gap == -1:
        text = "avancée à la veille"
    elif gap > 1:
        text = f"décalée au {format_date_fr(day)}"
    else:
        text = f"avancée au {format_date_fr(day)}"
    return f"{text} ({reason})" if reason else text


def _next_working_day(config: WasteConfig, day: date) -> date:
    """The day after `day`, skipping Sundays and public holidays."""
    day += timedelta(days=1)
    while day.weekday() == 6 or holiday_name(day, config.alsace_moselle):
        day += timedelta(days=1)
    return day


def _resolve(
    config: WasteConfig, stream: str, usual: date, exception: CollectionException | None
) -> Collection | None:
    """What becomes of the collection usually due on `usual` (None: it does not happen)."""
    holiday = holiday_name(usual, config.alsace_moselle)
    if exception is not None:
        reason = exception.reason or holiday
        if exception.cancelled:
            return None
        moved_to = exception.moved_to
        return Collection(stream, moved_to, usual, _moved_note(usual, moved_to, reason), reason)
    if holiday is None:
        return Collection(stream, usual)
    policy = config.holiday_rules.policy(stream)
    if policy == "cancelled":
        return None
    if policy == "maintained":
        return Collection(stream, usual, None, f"maintenue malgré le jour férié ({holiday})", holiday)
    day = _next_working_day(config, usual)
    return Collection(stream, day, usual, _moved_note(usual, day, holiday), holiday)


def _stream_collections(
    config: WasteConfig, sector: str, stream: str, first: date, last: date
) -> List[Collection]:
    rule = config.rule(sector, stream)
    exceptions = config.exceptions_for(sector, stream)
    overrides = {e.date: e for e in exceptions if not e.added}
    found: Dict[date, Collection] = {}

    def keep(collection: Collection) -> None:
        current = found.get(collection.day)
        if current is None or (current.shifted_from is not None and collection.shifted_from is None):
            found[collection.day] = collection  # a usual collection wins over a moved one

    if rule is not None and not rule.none:
        usual, end = first - _MARGIN, last + _MARGIN
        while usual <= end:
            if rule.occurs_on(usual):
                collection = _resolve(config, stream, usual, overrides.get(usual))
                if collection is not None:
                    keep(collection)
            usual += timedelta(days=1)
    for extra in exceptions:
        if extra.added:
            note = f"collecte supplémentaire ({extra.reason})" if extra.reason else "collecte supplémentaire"
            keep(Collection(stream, extra.date, None, note, extra.reason))
    return sorted((c for c in found.values() if first <= c.day <= last), key=lambda c: c.day)


def _stream_keys(config: WasteConfig, sector: str, streams: Iterable[str] | None) -> List[str]:
    if sector not in config.sectors:
        raise ValueError(f"secteur « {sector} » inconnu (définis : {', '.join(config.sectors)})")
    if streams is None:
        return list(config.streams)
    keys = list(streams)
    for key in keys:
        if key not in config.streams:
            raise ValueError(f"flux « {key} » inconnu (définis : {', '.join(config.streams)})")
    return keys


def next_collections(
    config: WasteConfig,
    sector: str,
    start: date,
    count: int = 2,
    streams: Iterable[str] | None = None,
) -> Dict[str, List[Collection]]:
    """For each stream (all of the file's, or `streams`), the next `count` collections on or
    after `start`, holidays and exceptions applied. A collection shifted from before `start`
    onto `start` or later is included; out of season, the first ones of the next season come.
    A stream the sector does not collect gets an empty list.
    """
    result = {}
    for stream in _stream_keys(config, sector, streams):
        found: List[Collection] = []
        rule = config.rule(sector, stream)
        has_extras = any(e.added for e in config.exceptions_for(sector, stream))
        if (rule is not None and not rule.none) or has_extras:
            first, horizon = start, start + timedelta(days=_HORIZON_DAYS)
            while len(found) < count and first <= horizon:
                last = min(first + timedelta(days=_CHUNK_DAYS - 1), horizon)
                found.extend(_stream_collections(config, sector, stream, first, last))
                first = last + timedelta(days=1)
        result[stream] = found[: max(count, 0)]
    return result


def collections_between(
    config: WasteConfig, sector: str, first: date, last: date, streams: Iterable[str] | None = None
) -> List[Collection]:
    """Every collection of the sector from `first` to `last` inclusive, by day then stream."""
    keys = _stream_keys(config, sector, streams)
    found = [c for stream in keys for c in _stream_collections(config, sector, stream, first, last)]
    return sorted(found, key=lambda c: (c.day, keys.index(c.stream)))


# ---- iCalendar -----------------------------------------------------------------------------


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping (§3.3.11)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    parts, current, size, limit = [], "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    month_end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return date(year, month, min(day.day, month_end.day))


def ics_period(config: WasteConfig, today: date) -> tuple[date, date]:
    """The default export period: from `today` to the same day `ics.months_ahead` months later."""
    return today, _add_months(today, config.ics.months_ahead)


def to_ics(
    config: WasteConfig,
    sector: str,
    address_label: str,
    first: date,
    last: date,
    stamp: datetime | None = None,
) -> str:
    """An iCalendar (RFC 5545) file of the sector's collections from `first` to `last`.

    One all-day event per collection. The UID is built from the stream, the usual date and
    the sector, so that re-importing after a change (a new exception) updates the event.
    `stamp` (DTSTAMP) defaults to now, in UTC.
    """
    if last < first:
        raise ValueError("la fin de la période précède son début")
    stamp = (stamp or datetime.now(timezone.utc)).astimezone(timezone.utc)
    name = config.ics.calendar_name.format(
        address=address_label, city=config.city, sector=config.sectors[sector].label
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{_escape(config.city)}//Assistant citoyen - collectes des déchets//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for collection in collections_between(config, sector, first, last):
        stream = config.streams[collection.stream]
        usual = collection.shifted_from or collection.day
        description = stream.put_out
        if collection.shifted_from is not None:
            description = f"Collecte du {format_date_fr(usual)} {collection.note}.\n{description}"
        elif collection.note:
            note = collection.note
            note = note[:1].upper() + note[1:] if note.startswith("collecte") else f"Collecte {note}"
            description = f"{note}.\n{description}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{collection.stream}-{usual.isoformat()}-{sector}@{config.ics.uid_domain}",
            f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}",
            f"DTSTART;VALUE=DATE:{collection.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{collection.day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape(stream.ics_summary)}",
            f"DESCRIPTION:{_escape(description)}",
            f"LOCATION:{_escape(address_label)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


# ---- French text ---------------------------------------------------------------------------


def _day_fr(day: date, today: date) -> str:
    """'mardi 1er décembre', with the year when it is not this year's."""
    return format_date_fr(day, today=today)


def _when_fr(day: date, today: date) -> str:
    if day == today:
        return f"aujourd'hui, {_day_fr(day, today)}"
    if day == today + timedelta(days=1):
        return f"demain, {_day_fr(day, today)}"
    return _day_fr(day, today)


def _collection_fr(collection: Collection, today: date) -> str:
    day, usual = collection.day, collection.shifted_from
    if usual is None:
        when = _when_fr(day, today)
        return f"{when}, {collection.note}" if collection.note else when
    verb = "décalée" if day > usual else "avancée"
    target = _when_fr(day, today)
    target = f"à {target}" if day in (today, today + timedelta(days=1)) else f"au {target}"
    reason = f" ({collection.reason})" if collection.reason else ""
    return f"collecte du {_day_fr(usual, today)} {verb} {target}{reason}"


def describe_collections_fr(
    config: WasteConfig,
    result: Dict[str, List[Collection]],
    today: date,
    sector: str | None = None,
) -> str:
    """One short French line per stream of `result` (from next_collections), e.g.
    'Bac jaune (emballages et papiers) : mardi 1er décembre, puis mardi 15 décembre.'

    With `sector`, a stream without collections gets the sector's note (where to take the
    glass…) and a seasonal stream out of season says so.
    """
    lines = []
    for stream, collections in result.items():
        label = config.streams[stream].label
        rule = config.rule(sector, stream) if sector else None
        if not collections:
            if sector is not None and (rule is None or rule.none):
                line = f"{label} : pas de collecte en porte-à-porte dans votre secteur."
            else:
                line = f"{label} : pas de collecte prévue dans les prochains mois."
        else:
            text = ", puis ".join(_collection_fr(c, today) for c in collections)
            season = rule.season if rule is not None else None
            first = min(collections[0].day, collections[0].shifted_from or collections[0].day)
            if season is not None and not all(
                season.contains(today + timedelta(days=n)) for n in range((first - today).days + 1)
            ):
                text = f"collecte de saison ({season.french()}), reprise {text}"
            line = f"{label} : {text}."
        if rule is not None and rule.note:
            line += f" {rule.note}"
        lines.append(line)
    return "\n".join(lines)
