"""The local events file: validation in French, recurrences that stay in the future whatever
the date (the clock frozen at several dates, 31 December included), filters and paging."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from core import clock
from events.connector import EventQuery
from events.local import DEFAULT_EVENTS_FILE, EventsConfigError, LocalEventsAdapter, load_events_file

PARIS = ZoneInfo("Europe/Paris")
FROZEN = [
    datetime(2026, 12, 1, 12, 0, tzinfo=PARIS),
    datetime(2026, 12, 24, 19, 30, tzinfo=PARIS),  # the Christmas market's last hour is over
    datetime(2026, 12, 31, 23, 30, tzinfo=PARIS),
    datetime(2027, 2, 28, 9, 0, tzinfo=PARIS),
    datetime(2027, 6, 21, 23, 0, tzinfo=PARIS),  # during the last hour of the Fête de la musique
    datetime(2028, 2, 29, 8, 0, tzinfo=PARIS),
]


@pytest.fixture(scope="module")
def content():
    return load_events_file(DEFAULT_EVENTS_FILE)


def upcoming(now: datetime, query: EventQuery | None = None):
    return LocalEventsAdapter(DEFAULT_EVENTS_FILE).matching(query or EventQuery(), now)


@pytest.mark.parametrize("now", FROZEN, ids=lambda n: n.date().isoformat())
def test_every_demo_event_has_a_next_occurrence_in_the_future(now, content):
    found = upcoming(now)
    assert {e.uid for e in found} == {e.id for e in content.events}
    for event in found:
        assert (event.end or event.begin) >= now, event
        assert event.begin <= now + timedelta(days=400)
    assert [e.begin for e in found] == sorted(e.begin for e in found)


@pytest.mark.parametrize("now", FROZEN, ids=lambda n: n.date().isoformat())
def test_there_is_always_something_in_the_next_fortnight(now):
    soon = [e for e in upcoming(now) if e.begin <= now + timedelta(days=14)]
    assert len(soon) >= 5


def test_weekly_market_is_every_saturday_morning():
    tuesday = datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)
    market = next(e for e in upcoming(tuesday) if e.uid == "marche_du_samedi")
    assert market.begin == datetime(2026, 12, 5, 8, 0, tzinfo=PARIS)
    assert market.end == datetime(2026, 12, 5, 13, 0, tzinfo=PARIS)
    during = datetime(2026, 12, 5, 10, 0, tzinfo=PARIS)  # a running market is still shown
    assert next(e for e in upcoming(during) if e.uid == "marche_du_samedi").begin.date() == date(2026, 12, 5)
    after = datetime(2026, 12, 5, 13, 30, tzinfo=PARIS)
    assert next(e for e in upcoming(after) if e.uid == "marche_du_samedi").begin.date() == date(2026, 12, 12)


@pytest.mark.parametrize(
    "now, expected",
    [
        (datetime(2026, 12, 1, 8, tzinfo=PARIS), date(2026, 12, 6)),  # first Sunday of December
        (datetime(2026, 12, 6, 13, tzinfo=PARIS), date(2027, 1, 3)),  # first Sunday of January
        (datetime(2026, 12, 31, 23, tzinfo=PARIS), date(2027, 1, 3)),
    ],
)
def test_first_sunday_of_the_month(now, expected):
    found = next(e for e in upcoming(now) if e.uid == "marche_producteurs")
    assert found.begin.date() == expected and found.begin.weekday() == 6 and found.begin.day <= 7


def test_last_sunday_of_the_month():
    found = next(e for e in upcoming(datetime(2026, 12, 1, tzinfo=PARIS)) if e.uid == "vide_grenier")
    assert found.begin.date() == date(2026, 12, 27)
    found = next(e for e in upcoming(datetime(2027, 2, 1, tzinfo=PARIS)) if e.uid == "vide_grenier")
    assert found.begin.date() == date(2027, 2, 28)


@pytest.mark.parametrize(
    "now, expected",
    [
        (datetime(2026, 11, 20, 9, tzinfo=PARIS), date(2026, 12, 11)),
        (datetime(2026, 12, 15, 9, tzinfo=PARIS), date(2026, 12, 15)),
        (datetime(2026, 12, 24, 20, tzinfo=PARIS), date(2027, 12, 11)),
        (datetime(2026, 12, 31, 12, tzinfo=PARIS), date(2027, 12, 11)),
    ],
)
def test_christmas_market_in_december_of_this_year_or_the_next(now, expected):
    found = next(e for e in upcoming(now) if e.uid == "marche_de_noel")
    assert found.begin.date() == expected


def test_dates_relative_to_today_move_with_the_clock():
    for now in FROZEN:
        found = next(e for e in upcoming(now) if e.uid == "concert_harmonie")
        assert found.begin.date() == now.date() + timedelta(days=10)
        assert found.price == "8 €" and not found.free
        assert found.image_url and found.image_url.endswith("/concert.png")


def test_window_filters_and_categories():
    now = datetime(2026, 12, 1, 12, tzinfo=PARIS)
    weekend = EventQuery(datetime(2026, 12, 5, tzinfo=PARIS), datetime(2026, 12, 6, 23, 59, tzinfo=PARIS))
    titles = {e.title for e in upcoming(now, weekend)}
    assert "Marché du samedi matin" in titles and "Marche nordique découverte" in titles
    assert all(datetime(2026, 12, 5, tzinfo=PARIS) <= e.begin for e in upcoming(now, weekend))
    children = upcoming(now, EventQuery(children=True))
    assert children and all(e.for_children for e in children)
    free = upcoming(now, EventQuery(free_only=True))
    assert free and all(e.free for e in free) and "Ciné-goûter" not in {e.title for e in free}
    concerts = upcoming(now, EventQuery(categories=("concert",)))
    assert {e.uid for e in concerts} == {"concert_harmonie", "soiree_jazz", "fete_de_la_musique"}


async def test_pages_of_five_with_a_cursor(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 1, 12, tzinfo=PARIS))
    adapter = LocalEventsAdapter(DEFAULT_EVENTS_FILE)
    seen, cursor, pages = [], None, 0
    while True:
        page = await adapter.search(EventQuery(), 5, cursor)
        pages += 1
        assert 0 < len(page.events) <= 5
        seen += [e.uid for e in page.events]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert pages == 4 and len(seen) == len(set(seen)) == page.total == 18
    forged = await adapter.search(EventQuery(), 5, "999999999")  # not a cursor of ours: the start
    assert [e.uid for e in forged.events] == seen[:5]


def write(tmp_path, change):
    raw = yaml.safe_load(DEFAULT_EVENTS_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "events.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda raw: raw["events"][0]["when"].update(monthly=2), "une seule récurrence"),
        (lambda raw: raw["events"][0]["when"].update(weekly="samdi"), "jour « samdi » inconnu"),
        (lambda raw: raw["events"][0]["when"].update(start="25:00"), "heure « 25:00 » invalide"),
        (lambda raw: raw["events"][0].update(categories=["jazzz"]), "catégorie « jazzz » inconnue"),
        (lambda raw: raw["events"][1].update(id=raw["events"][0]["id"]), "en double"),
        (lambda raw: raw["events"][0].update(image="Photo Marché.gif"), "nom de fichier .png/.jpg"),
        (lambda raw: raw["events"][0].update(prix=3), "champ inconnu"),
    ],
)
def test_mistakes_are_reported_in_french_with_the_line(tmp_path, change, message):
    path = write(tmp_path, change)
    with pytest.raises(EventsConfigError) as error:
        load_events_file(path)
    text = str(error.value)
    assert "agenda des événements" in text and message in text, text
    assert "ligne" in text, text
