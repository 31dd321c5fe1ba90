"""The core conversation: session start, low-confidence fallback, hand-off, opening hours
and the topics the chat cannot complete yet.

Actions stay thin: read the tracker, take values from the territory (actions/replies.py),
speak with the responses of domain/core.yml.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet

from actions.alerts import welcome_alerts
from actions.common import intent_of, text_of
from actions.context import TERRITORY, latest_entity, pseudonym
from actions.replies import (
    INTENT_TOPICS,
    TOPIC_SUBJECTS,
    coming_closures,
    contact_values,
    fallback_reply,
    opening_hours_values,
    other_service_buttons,
    topic_contact_values,
    topic_link,
)
from actions.welfare import warn_if_danger
from core.privacy import load_privacy
from reports.config import load_reports_config, match_danger

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"


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
    """Starts a session, keeps the few carried slots, sets the territory's name for the texts and
    the address of the privacy notice (territory/demo/privacy.yml) for the welcome."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events += [
            SlotSet(key, value)
            for key, value in tracker.current_slot_values().items()
            if value is not None and key in CARRIED_SLOTS
        ]
        events.append(SlotSet("territory_of", TERRITORY.of_name))
        events.append(SlotSet("privacy_url", load_privacy().notice.url))  # linked from the welcome
        # Crisis alerts (alerts/notices.py): the active ones are told when a visit starts.
        await welcome_alerts(dispatcher)
        events.append(ActionExecuted("action_listen"))
        return events


class ActionHandleFallback(Action):
    """Low NLU confidence: suggest the likely topics, then offer a human contact."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        # A danger in the street (gas smell, fallen line, flooding) gets the emergency numbers
        # whatever the NLU made of it (reports/config.py), and nothing else.
        danger = match_danger(load_reports_config(), text_of(tracker))
        if danger is not None:
            dispatcher.utter_message(response="utter_report_danger", advice=danger.advice)
            dispatcher.utter_message(response="utter_report_danger_after")
            return []
        # A message the NLU did not understand may still be a call for help.
        warn_if_danger(dispatcher, tracker)
        ranking = tracker.latest_message.get("intent_ranking") or []
        misses = consecutive_fallbacks(tracker.events)
        response, buttons = fallback_reply(ranking, misses)
        # Operators see that fallbacks happen and how often, never what was written.
        logger.info("fallback conversation=%s consecutive=%d", pseudonym(tracker.sender_id), misses)
        contact = contact_values(TERRITORY, TERRITORY.default_service) if misses >= 2 else {}
        dispatcher.utter_message(response=response, buttons=buttons, **contact)
        return []


# action_human_handoff: actions/handoff.py (live hand-off to an agent, else the contact).


class ActionOpeningHours(Action):
    """Hours of the requested service (default: the town hall's front desk), then the days
    of the coming two weeks when it departs from its usual week."""

    def name(self) -> str:
        return "action_opening_hours"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        service_key = TERRITORY.service_for(key=latest_entity(tracker, "service"))
        now = TERRITORY.now()
        dispatcher.utter_message(
            response="utter_opening_hours",
            buttons=other_service_buttons(TERRITORY, service_key),
            **opening_hours_values(TERRITORY, service_key, now),
        )
        for closure in coming_closures(TERRITORY, service_key, now.date()):
            response = "utter_reduced_hours" if closure.hours else "utter_closed_day"
            dispatcher.utter_message(
                response=response, day=closure.day, hours=closure.hours, reason=closure.reason
            )
        return [SlotSet("service", service_key)]


class ActionTopicContact(Action):
    """Procedures the chat cannot complete yet: the right service and how to reach it."""

    def name(self) -> str:
        return "action_topic_contact"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        intent = intent_of(tracker)
        if intent not in TOPIC_SUBJECTS:
            dispatcher.utter_message(response="utter_help")
            return []
        link = topic_link(TERRITORY, intent)
        dispatcher.utter_message(response="utter_topic_contact", **topic_contact_values(TERRITORY, intent))
        if link:
            dispatcher.utter_message(response="utter_topic_link", link=link)
        return []
