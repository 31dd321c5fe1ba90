"""The agenda in the chat: « qu'est-ce qu'il y a ce week-end ? », « concerts gratuits »,
« pour les enfants pendant les vacances ».

The question is read by events.question (dates, school holidays, categories, « gratuit »,
« enfants »); the events come from the connector chosen by GRU_EVENTS_ADAPTER (events/).
Up to five events as cards, then « D'autres événements » (the button sends
`/events{"choice":"more"}`: the query and the cursor are kept in slots, never taken from the
payload). Nothing found: the nearest upcoming ones. The agenda down or refusing our key: a
French sentence with the accueil's contact. The texts are responses of domain/events.yml.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Dict, List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import entity_values, text_of
from actions.context import TERRITORY, pseudonym
from actions.replies import contact_values
from core import clock
from core.text import clip, fold_words
from events.cards import cards
from events.connector import (
    MAX_CURSOR,
    PAGE_SIZE,
    EventPage,
    EventQuery,
    EventsUnavailable,
    connector_from_env,
)
from events.local import load_events_file
from events.question import read_question

logger = logging.getLogger(__name__)

MORE = "more"  # the value of `choice` on « D'autres événements »


@functools.lru_cache(maxsize=1)
def connector():
    """The adapter of GRU_EVENTS_ADAPTER, made once per process (its HTTP session is shared)."""
    return connector_from_env()


def contact() -> Dict[str, str]:
    """The accueil's (the events topic's service) name, phone, e-mail, for the sorry messages."""
    return contact_values(TERRITORY, TERRITORY.service_for(None, topic="events"))


def agenda_link() -> str | None:
    return load_events_file().agenda_url or TERRITORY.links.get("events")


# « d'autres événements », « la suite », « encore » typed instead of clicked, after a page with more.
_MORE_TEXT = re.compile(
    r"^(?:(?:montrez|montre|donnez|voir|afficher)(?: moi| nous)? )?"
    r"(?:d autres?(?: evenements?)?|la suite(?: de l agenda)?|encore|plus|autres? evenements?|suivants?)"
    r"(?: svp| s il vous plait| merci)?$"
)


def asks_for_more(text: str, tracker) -> bool:
    return bool(tracker.get_slot("events_cursor")) and bool(_MORE_TEXT.match(fold_words(clip(text, 80))))


def without_dates(query: EventQuery) -> EventQuery:
    return EventQuery(None, None, query.categories, query.search, query.free_only, query.children)


def nearest_fr(query: EventQuery) -> str:
    """What the nearest events shown instead are, after « Voici les prochains événements »:
    « gratuits pour les enfants » kept from the question, or nothing."""
    return (" gratuits" if query.free_only else "") + (" pour les enfants" if query.children else "")


class ActionEvents(Action):
    def name(self) -> str:
        return "action_events"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        try:
            if MORE in entity_values(tracker, "choice") or asks_for_more(text_of(tracker), tracker):
                return await self.more(dispatcher, tracker)
            return await self.answer(dispatcher, tracker)
        except EventsUnavailable as exc:
            logger.warning(
                "events agenda unavailable (%s) in conversation %s", exc.kind, pseudonym(tracker.sender_id)
            )
            dispatcher.utter_message(response="utter_events_unavailable", **contact())
            return [SlotSet("events_cursor", None)]

    async def answer(self, dispatcher, tracker) -> List[EventType]:
        content = load_events_file()
        question = read_question(
            text_of(tracker), clock.now(), content, entity_values(tracker, "event_category")
        )
        query = question.query
        page = await connector().search(query, PAGE_SIZE)
        if page.events:
            dispatcher.utter_message(response="utter_events_found", what=question.what_fr)
            return self.show(dispatcher, query, page)
        shown_query = query
        if not query.is_open:
            relaxed = without_dates(query)
            if relaxed != query and not relaxed.is_open:
                page = await connector().search(relaxed, PAGE_SIZE)
                shown_query = relaxed
            if not page.events:
                shown_query = EventQuery()
                page = await connector().search(shown_query, PAGE_SIZE)
        if not page.events:
            dispatcher.utter_message(
                response="utter_events_agenda_empty", agenda_url=agenda_link() or "", **contact()
            )
            return [SlotSet("events_query", None), SlotSet("events_cursor", None)]
        dispatcher.utter_message(
            response="utter_events_none_found", what=question.what_fr, which=nearest_fr(shown_query)
        )
        return self.show(dispatcher, shown_query, page)

    async def more(self, dispatcher, tracker) -> List[EventType]:
        query = EventQuery.from_slot(tracker.get_slot("events_query"))
        cursor = tracker.get_slot("events_cursor")
        if query is None or not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR:
            dispatcher.utter_message(response="utter_events_no_more")
            return [SlotSet("events_cursor", None)]
        page = await connector().search(query, PAGE_SIZE, cursor)
        if not page.events:
            dispatcher.utter_message(response="utter_events_no_more")
            return [SlotSet("events_cursor", None)]
        dispatcher.utter_message(response="utter_events_next_page")
        return self.show(dispatcher, query, page)

    def show(self, dispatcher, query: EventQuery, page: EventPage) -> List[EventType]:
        dispatcher.utter_message(elements=cards(page.events, clock.today(), agenda_link()))
        if page.cursor:
            dispatcher.utter_message(response="utter_events_more")  # its button: /events{"choice":"more"}
        slots: List[Any] = [SlotSet("events_query", query.to_slot()), SlotSet("events_cursor", page.cursor)]
        return slots
