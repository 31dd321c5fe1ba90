"""« Cette réponse vous a-t-elle aidé ? » at the end of a completed flow, at most once per
conversation, with « Oui » / « Non » and, after « Non », an optional comment.

- `action_ask_satisfaction` runs after the last action of a flow (the rules of
  data/rules/*.yml append it: booking, reminders, cancel and move, tracking, knowledge
  answer, waste, welfare, reports, alerts, transport, identity documents). It asks only when
  the answer it follows is a completed one (COMPLETIONS: the responses that end a flow with
  what the citizen asked for; a stop, a failure, « rien n'a été enregistré » are not), when
  that answer does not itself offer a choice (its buttons come first; on Messenger a new
  message would hide them), and when the question was never asked in this conversation
  (`satisfaction_asked` is kept across sessions). Otherwise it says nothing.
- « Oui » / « Non » are the intents `rate_helpful` / `rate_unhelpful` (buttons, or typed):
  they start `satisfaction_form`, whose validation records the rating (`satisfaction`) once,
  and only when the question was asked (a forged or late payload records nothing). « Non »
  asks for a comment (`satisfaction_comment`, free text, « Passer » skips it); a message that
  clearly asks for something else leaves the form and is answered (actions/forms.py).
- The statistics job reads these slots from the conversation store (analytics/sessions.py):
  the rating per topic, and the question rated unhelpful and the comment, masked, for the
  content team.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.common import confidence_of, intent_of, text_of
from actions.context import pseudonym
from actions.forms import (
    DIGRESSIONS,
    EXITS,
    OUTCOME_SLOT,
    SWITCH_CONFIDENCE,
    SWITCHES,
    FormDone,
    FormValidation,
    replay_latest_message,
    run_action,
)

logger = logging.getLogger(__name__)

ASKED_SLOT = "satisfaction_asked"  # the topic of the answer the question followed
RATING_SLOT = "satisfaction"  # yes | no
COMMENT_SLOT = "satisfaction_comment"
RATINGS = {"rate_helpful": "yes", "rate_unhelpful": "no"}
MAX_COMMENT = 500
# A comment is words: a short « non merci » or « c'est bon » is no comment, it skips.
MIN_COMMENT_WORDS = 4

# The responses that end a flow with what the citizen came for (prefixes) → the topic rated.
COMPLETIONS: Dict[str, str] = {
    "utter_booking_confirmed_": "appointments",
    "utter_reminder_set": "appointments",
    "utter_reminder_declined": "appointments",
    "utter_appointment_cancelled": "appointments",
    "utter_appointment_moved": "appointments",
    "utter_id_": "id_documents",
    "utter_tracking_status": "tracking",
    "utter_knowledge_answer": "knowledge",
    "utter_address_remembered": "waste",
    "utter_address_not_kept": "waste",
    "utter_sorting_answer": "waste",
    "utter_recycling_center": "waste",
    "utter_bulky_booked": "waste",
    "utter_welfare_answer": "welfare",
    "utter_report_saved": "reports",
    "utter_alerts_subscribed_": "alerts",
    "utter_transport_stop_times": "school_transport",
    "utter_transport_school_lines": "school_transport",
    "utter_transport_running": "school_transport",
    "utter_transport_not_running": "school_transport",
    "utter_transport_holidays": "school_transport",
    "utter_transport_registration": "school_transport",
}


def _this_turn(tracker: Tracker) -> List[Dict[str, Any]]:
    """The events since the citizen's latest message."""
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            return events[index + 1 :]
    return list(events)


def offers_a_choice(bot_event: Dict[str, Any]) -> bool:
    """A message with buttons or quick replies that answer it (links only are no choice), cards,
    or a channel's own message (a Messenger template, quick replies) sent as is."""
    data = bot_event.get("data") or {}
    buttons = (data.get("buttons") or []) + (data.get("quick_replies") or [])
    custom = data.get("custom")
    return (
        any(b.get("payload") for b in buttons if isinstance(b, dict))
        or bool(data.get("elements"))
        or (isinstance(custom, dict) and bool(custom.get("quick_replies") or custom.get("attachment")))
    )


def completed_topic(tracker: Tracker) -> str | None:
    """The topic of the completed answer this turn ended with; None when there is none, or when
    the turn's messages offer a choice."""
    said = [e for e in _this_turn(tracker) if e.get("event") == "bot"]
    if not said or any(offers_a_choice(e) for e in said):
        return None
    for event in reversed(said):
        response = (event.get("metadata") or {}).get("utter_action") or ""
        for prefix, topic in COMPLETIONS.items():
            if response.startswith(prefix):
                return topic
    return None


class ActionAskSatisfaction(Action):
    def name(self) -> str:
        return "action_ask_satisfaction"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if tracker.get_slot(ASKED_SLOT):
            return []
        topic = completed_topic(tracker)
        if topic is None:
            return []
        dispatcher.utter_message(response="utter_ask_satisfaction")
        return [SlotSet(ASKED_SLOT, topic)]


class ValidateSatisfactionForm(FormValidation):
    form = "satisfaction_form"
    restart_intent = "rate_unhelpful"
    working_slots = (RATING_SLOT,)
    # « non merci », « merci », « au revoir » skip the comment (a longer sentence is a comment).
    extra_exits = {"deny": "stopped", "thank": "stopped", "goodbye": "stopped", "affirm": "stopped"}

    def is_answer(self, tracker: Tracker, requested: str | None) -> bool:
        """A sentence of a few words is the comment even when read as « non » or « merci »
        (« non, il manque les horaires du samedi »); « stop », an agent, a question in the
        middle keep their meaning."""
        if requested != COMMENT_SLOT or intent_of(tracker) in EXITS or intent_of(tracker) in DIGRESSIONS:
            return False
        return len(text_of(tracker).split()) >= MIN_COMMENT_WORDS

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        """The comment after a « Non » recorded in this turn; nothing otherwise. Before the
        rating is read (the form starts) the comment's extraction must run: it reads the rating."""
        if tracker.get_slot("requested_slot") == COMMENT_SLOT:
            return domain_slots
        rated_now = any(
            e.get("event") == "slot" and e.get("name") == RATING_SLOT for e in _this_turn(tracker)
        )
        if rated_now:
            return domain_slots if tracker.get_slot(RATING_SLOT) == "no" else []
        return domain_slots if self._may_rate(tracker) else []

    @staticmethod
    def _may_rate(tracker: Tracker) -> bool:
        """A rating, the question asked, none given yet."""
        return (
            intent_of(tracker) in RATINGS
            and bool(tracker.get_slot(ASKED_SLOT))
            and not tracker.get_slot(RATING_SLOT)
        )

    async def extract_satisfaction_comment(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None:  # the form starts: the rating, once, if the question was asked
            if not self._may_rate(tracker):
                return {}
            rating = RATINGS[intent_of(tracker)]
            logger.info("satisfaction %s (conversation %s)", rating, pseudonym(tracker.sender_id))
            return {RATING_SLOT: rating}
        if requested != COMMENT_SLOT:
            return {}
        text = " ".join(text_of(tracker).split())
        if not text:  # a button of an older message
            return self.fail(dispatcher, tracker, COMMENT_SLOT)
        if intent_of(tracker) in SWITCHES and confidence_of(tracker) >= SWITCH_CONFIDENCE:
            return {}  # another request: the form ends and it is answered (actions/forms.py)
        # Anything else is the comment, a question too: it is what the answer lacked.
        return self.filled(**{COMMENT_SLOT: text[:MAX_COMMENT]})


class ActionSatisfactionDone(FormDone):
    """Thanks for the rating (and the comment); the rating itself stays in the slot."""

    form = "satisfaction_form"
    slots = (COMMENT_SLOT,)
    stopped_response = "utter_satisfaction_thanks"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        outcome = tracker.get_slot(OUTCOME_SLOT)
        if outcome == "switched":  # another request instead of a comment: answer it, say nothing
            return self.forget() + replay_latest_message(tracker)
        if outcome == "handoff":
            return self.forget() + await run_action("action_human_handoff", dispatcher, tracker, domain)
        if outcome == "failed":
            dispatcher.utter_message(response="utter_satisfaction_thanks")
            return self.forget()
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        if tracker.get_slot(COMMENT_SLOT):
            dispatcher.utter_message(response="utter_satisfaction_comment_thanks")
        elif any(e.get("event") == "slot" and e.get("name") == RATING_SLOT for e in _this_turn(tracker)):
            dispatcher.utter_message(response="utter_satisfaction_thanks")
        else:  # a second click, or a rating never asked for: nothing recorded
            dispatcher.utter_message(response="utter_satisfaction_already")
        return self.forget()
