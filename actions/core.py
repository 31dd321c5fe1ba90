"""Conversation glue for the core flows: session start, fallback, hand-off, hours.

Actions stay thin: read the tracker, ask actions.replies / core.territory for
the answer, speak. Nothing here does I/O besides the territory file read at start.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import (
    INTENT_TOPICS,
    TOPIC_SUBJECTS,
    button,
    fallback_reply,
    handoff_text,
    opening_hours_text,
    other_service_buttons,
    topic_contact_text,
)
from core.territory import Territory, load_territory

logger = logging.getLogger(__name__)

# Validated once at import: the action server refuses to start on a bad file.
TERRITORY: Territory = load_territory()

FALLBACK_INTENT = "nlu_fallback"


# Salted so that a short id (a phone-like Messenger PSID) cannot be found back by brute force.
# Set GRU_LOG_SALT to keep pseudonyms stable across restarts; otherwise one salt per process.
_LOG_SALT = (os.environ.get("GRU_LOG_SALT") or secrets.token_hex(16)).encode("utf-8")


def pseudonym(sender_id: str) -> str:
    """A short, non-reversible id for logs: conversations can be followed, not identified."""
    return hmac.new(_LOG_SALT, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    """The value of an entity in the latest user message only (not an old slot)."""
    value = next(tracker.get_latest_entity_values(entity), None)
    return str(value) if value is not None else None


def consecutive_fallbacks(events: List[Dict[str, Any]]) -> int:
    """How many of the latest user messages in a row the NLU could not classify."""
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") != FALLBACK_INTENT:
            break
        count += 1
    return count


def recent_topic(events: List[Dict[str, Any]]) -> str | None:
    """The topic of the latest user message that had one (for the right contact)."""
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in INTENT_TOPICS:
            return INTENT_TOPICS[intent]
    return None


# Slots a new session keeps (after 60 minutes of silence). Half-filled forms and
# addresses are not kept: a citizen coming back starts afresh, and an address is
# remembered across sessions only with consent (stored by actions/waste.py).
CARRIED_SLOTS = ("service",)


class ActionSessionStart(Action):
    """Starts a session, keeps the few carried slots, sets the territory's name for the texts."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events += [
            SlotSet(key, value)
            for key, value in tracker.current_slot_values().items()
            if value is not None and key in CARRIED_SLOTS
        ]
        events.append(SlotSet("territory_of", TERRITORY.of_name))
        events.append(ActionExecuted("action_listen"))
        return events


def warn_if_danger(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Emergency numbers first, whenever the message speaks of danger (violence, suicide…)."""
    from welfare.eligibility import detect_danger

    lines = detect_danger(tracker.latest_message.get("text") or "")
    if lines:
        logger.info("emergency lines given conversation=%s", pseudonym(tracker.sender_id))
        dispatcher.utter_message(
            text="Si vous ou quelqu'un est en danger, appelez sans attendre :\n"
            + "\n".join(f"• {line.number} : {line.name} ({line.when})" for line in lines)
        )


class ActionHandleFallback(Action):
    """Low NLU confidence: suggest the likely topics, then offer a human contact."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        warn_if_danger(
            dispatcher, tracker
        )  # a message the NLU did not understand may still be a call for help
        ranking = tracker.latest_message.get("intent_ranking") or []
        misses = consecutive_fallbacks(tracker.events)
        text, buttons = fallback_reply(TERRITORY, ranking, misses)
        # Operators see that fallbacks happen and how often, never what was written.
        logger.info("fallback conversation=%s consecutive=%d", pseudonym(tracker.sender_id), misses)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionHumanHandoff(Action):
    """Gives the contact of the service that fits the conversation."""

    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        service_key = TERRITORY.service_for(
            key=latest_entity(tracker, "service"), topic=recent_topic(tracker.events)
        )
        dispatcher.utter_message(
            text=handoff_text(TERRITORY, service_key),
            buttons=[
                button("Horaires des autres services", "/opening_hours"),
                button("Voir les sujets", "/help"),
            ],
        )
        return []


class ActionOpeningHours(Action):
    """Hours of the requested service (default: the town hall's front desk)."""

    def name(self) -> str:
        return "action_opening_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        service_key = TERRITORY.service_for(key=latest_entity(tracker, "service"))
        dispatcher.utter_message(
            text=opening_hours_text(TERRITORY, service_key),
            buttons=other_service_buttons(TERRITORY, service_key),
        )
        return [SlotSet("service", service_key)]


class ActionTopicContact(Action):
    """Procedures the chat cannot complete yet: the right service and how to reach it."""

    def name(self) -> str:
        return "action_topic_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in TOPIC_SUBJECTS:
            dispatcher.utter_message(response="utter_help")
            return []
        dispatcher.utter_message(
            text=topic_contact_text(TERRITORY, intent),
            buttons=[button("Voir les sujets", "/help")],
        )
        return []
