"""action_events against rasa-sdk trackers: cards (interface 1: title, subtitle, image,
« Plus d'infos »), « D'autres événements » paging from the slots (never from the payload),
nothing found → the nearest events, the agenda down → the accueil's contact."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import events as action_module
from core import clock
from events.connector import EventPage, EventQuery, EventsUnavailable
from events.local import DEFAULT_EVENTS_FILE, LocalEventsAdapter
from tests.unit.responses import said

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)


def tracker(text, entities=(), slots=None, intent="events"):
    parse = {"intent": {"name": intent, "confidence": 0.95}, "entities": list(entities), "text": text}
    return Tracker("citizen-1", slots or {}, parse, [{"event": "user", "text": text, "parse_data": parse}],
                   False, None, {}, "action_listen")  # fmt: skip


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())
    monkeypatch.setattr(action_module, "connector", lambda: LocalEventsAdapter(DEFAULT_EVENTS_FILE))


async def run(tr):
    dispatcher = CollectingDispatcher()
    result = await action_module.ActionEvents().run(dispatcher, tr, {})
    slots = {e["name"]: e["value"] for e in result if e.get("event") == "slot"}
    return dispatcher.messages, slots


def elements(messages):
    return [element for m in messages for element in m.get("elements") or []]


async def test_weekend_events_as_cards_with_paging():
    messages, slots = await run(tracker("qu'est-ce qu'il y a ce week-end ?"))
    text = said(messages)
    assert text.startswith("Voici les événements entre le samedi 5 et le dimanche 6 décembre :"), text
    cards = elements(messages)
    assert 1 <= len(cards) <= 5
    market = next(c for c in cards if c["title"] == "Marché du samedi matin")
    assert market["subtitle"] == "samedi 5 décembre, 8 h – 13 h · Place de la Mairie · Gratuit"
    assert market["image_url"].endswith("/marche.png")
    assert market["buttons"][0] == {
        "type": "web_url",
        "url": "https://www.villebrune.example/agenda/marche",
        "title": "Plus d'infos",
    }
    assert all(len(c["title"]) <= 80 and len(c["subtitle"]) <= 80 for c in cards)
    assert slots["events_query"]["start"].startswith("2026-12-05")


async def test_more_events_come_from_the_slots_not_the_payload():
    messages, slots = await run(tracker("les prochains événements"))
    first = [c["title"] for c in elements(messages)]
    assert len(first) == 5 and "D'autres événements sont prévus." in said(messages)
    more = [{"entity": "choice", "value": "more"}]
    messages, slots2 = await run(tracker("/events", more, slots))
    second = [c["title"] for c in elements(messages)]
    assert len(second) == 5 and not set(first) & set(second)
    assert said(messages).startswith("Voici la suite de l'agenda")
    typed, _ = await run(tracker("d'autres evenements svp", (), slots2))  # typed instead of clicked
    third = [c["title"] for c in elements(typed)]
    assert third and not set(third) & set(first + second)


@pytest.mark.parametrize(
    "slots",
    [
        {},
        {"events_query": {"start": "not a date"}, "events_cursor": "5"},
        {"events_query": "DROP TABLE", "events_cursor": "5"},
        {"events_query": EventQuery().to_slot(), "events_cursor": "x" * 100_000},
        {"events_query": EventQuery().to_slot(), "events_cursor": None},
    ],
)
async def test_a_forged_or_stale_more_button_gets_a_clear_answer(slots):
    messages, result = await run(tracker("/events", [{"entity": "choice", "value": "more"}], slots))
    assert "Je vous ai montré tous les événements" in said(messages)
    assert not elements(messages) and result == {"events_cursor": None}


async def test_nothing_found_gives_the_nearest_events():
    messages, _ = await run(tracker("un vide grenier ce samedi ?"))
    text = said(messages)
    assert text.startswith(
        "Je n'ai rien trouvé pour les brocantes et vide-greniers le samedi 5 décembre. "
        "Voici les prochains événements :"
    ), text
    assert [c["title"] for c in elements(messages)] == ["Vide-grenier du dernier dimanche"]


async def test_nothing_found_keeps_the_filters_for_the_nearest_events():
    messages, _ = await run(tracker("spectacle gratuit pour les enfants samedi"))
    text = said(messages)
    assert "Voici les prochains événements gratuits pour les enfants :" in text, text
    assert elements(messages)


async def test_christmas_market_with_its_image():
    messages, _ = await run(
        tracker("c quand le marché de noel", [{"entity": "event_category", "value": "marche_noel"}])
    )
    (card,) = elements(messages)
    assert card["title"] == "Marché de Noël" and card["subtitle"].startswith(
        "vendredi 11 décembre, 10 h – 19 h"
    )
    assert card["image_url"].endswith("/marche-noel.png")


async def test_registration_link_and_the_agenda_as_fallback_link():
    messages, _ = await run(tracker("l'heure du conte"))
    tale = next(c for c in elements(messages) if c["title"] == "L'heure du conte")
    titles = [b["title"] for b in tale["buttons"]]
    assert titles == ["Plus d'infos", "S'inscrire"]
    assert tale["buttons"][0]["url"] == "https://www.villebrune.example/agenda" and "image_url" not in tale


class Down:
    async def search(self, query, size=5, cursor=None) -> EventPage:
        raise EventsUnavailable("unauthorized")


async def test_agenda_down_gives_the_accueil_contact(monkeypatch):
    monkeypatch.setattr(action_module, "connector", lambda: Down())
    messages, slots = await run(tracker("concerts ce week-end"))
    text = said(messages)
    assert text.startswith("L'agenda des événements ne répond pas pour le moment.")
    assert "Accueil de la mairie" in text and "01 " in text
    assert not elements(messages) and slots == {"events_cursor": None}


class Empty:
    async def search(self, query, size=5, cursor=None) -> EventPage:
        return EventPage([], None, 0)


async def test_an_empty_agenda_says_so(monkeypatch):
    monkeypatch.setattr(action_module, "connector", lambda: Empty())
    messages, _ = await run(tracker("quoi faire demain"))
    assert "L'agenda ne contient aucun événement à venir" in said(messages)
    assert "https://www.villebrune.example/agenda" in said(messages)


@pytest.mark.parametrize("text", ["🎉" * 500, "a" * 100_000, "<script>alert(1)</script>", "' OR 1=1 --"])
async def test_hostile_input_still_answers_in_french(text):
    messages, _ = await run(tracker(text))
    assert said(messages).startswith(("Voici", "Je n'ai rien trouvé")) and elements(messages)
