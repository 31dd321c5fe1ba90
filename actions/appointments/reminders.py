"""The optional reminder step after a booking: « Par e-mail », « Par SMS », « Non merci ».

After the confirmation (book.py), the citizen is offered a reminder on the channels the
commune configured (booking/reminders.py: SMTP, SMS gateway). A button (or « je veux un rappel
par sms » typed later) starts `reminder_form`: the channel, then the address, asked with the
consent sentence, checked (e-mail syntax, French mobile 06/07/+33 6/+33 7) and stored with the
appointment (its retention purge erases it). Messenger bookings need nothing: the reminder
comes in the conversation. The address is never logged, nor said back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments.context import TOPIC, own_appointments
from actions.common import button, channel_of, entity_values, intent_of, text_of
from actions.core import pseudonym
from actions.forms import OUTCOME_SLOT, FormDone, FormValidation, guarded
from alerts.subscriptions import normalise_email
from booking import engine
from booking.reminders import channels_configured, hours_before, set_contact, when_before_fr
from core.sms import french_mobile
from core.text import fold

logger = logging.getLogger(__name__)

REQUEST_INTENT = "reminder_request"
CHANNEL_LABELS = {"email": "Par e-mail", "sms": "Par SMS"}
WHERE = {"email": "par e-mail", "sms": "par SMS"}
MAX_CONTACT_INPUT = 300
REMINDER_SLOTS = ("reminder_channel", "reminder_contact")


def offered_channels() -> List[str]:
    """E-mail and SMS when configured (the environment of the action server)."""
    return [c for c in channels_configured() if c in CHANNEL_LABELS]


def reminder_buttons() -> List[Dict[str, str]]:
    buttons = [button(CHANNEL_LABELS[c], REQUEST_INTENT, choice=c) for c in offered_channels()]
    return buttons + [button("Non merci", REQUEST_INTENT, choice="none")]


def offer_reminder(
    dispatcher: CollectingDispatcher, tracker: Tracker, appt: engine.AppointmentView
) -> List[EventType]:
    """Said after a booking's confirmation: the Messenger note, or the optional step's buttons."""
    if appt.reason == "ENCOMBRANTS":
        return []
    configured = channels_configured()
    when_before = when_before_fr(hours_before()) if configured else ""
    if channel_of(tracker) == "facebook":
        if "messenger" in configured:
            dispatcher.utter_message(response="utter_reminder_messenger", when_before=when_before)
        return []
    if not offered_channels():
        return []
    dispatcher.utter_message(response="utter_reminder_offer", buttons=reminder_buttons())
    return [SlotSet("reminder_reference", appt.reference)]


def email_in(text: str) -> str | None:
    """The first e-mail address in the text (the same check as the alerts' addresses)."""
    return next((e for e in map(normalise_email, text[:MAX_CONTACT_INPUT].split()) if e), None)


def mobile_in(text: str) -> str | None:
    text = text[:MAX_CONTACT_INPUT]
    return french_mobile(text.split(":")[-1].strip()) or french_mobile(text.split(" au ")[-1].strip())


class ActionAskReminderChannel(Action):
    def name(self) -> str:
        return "action_ask_reminder_channel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_reminder_channel", buttons=reminder_buttons())
        return []


class ValidateReminderForm(FormValidation):
    form = "reminder_form"
    topic = TOPIC
    restart_intent = REQUEST_INTENT
    working_slots = ("reminder_reference",)

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if tracker.get_slot("reminder_channel") == "none":
            return []  # « Non merci »: nothing to ask, nothing stored
        return domain_slots

    def is_answer(self, tracker: Tracker, requested: str | None) -> bool:
        # an e-mail address or a phone number is an answer whatever the NLU made of it
        if requested == "reminder_contact":
            text = text_of(tracker)
            return "@" in text or sum(c.isdigit() for c in text) >= 8
        return super().is_answer(tracker, requested)

    @staticmethod
    def _channel(tracker: Tracker) -> str | None:
        choice = next(iter(entity_values(tracker, "choice")), None)
        if choice in ("email", "sms", "none"):
            return choice
        words = fold(text_of(tracker))
        if "mail" in words or "courriel" in words or "@" in words:
            return "email"
        if any(w in words for w in ("sms", "texto", "portable", "telephone", "mobile")):
            return "sms"
        if words.strip(" .!") in ("non", "non merci", "pas besoin", "aucun", "non c'est bon"):
            return "none"
        return None

    async def extract_reminder_channel(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        starting = requested is None and intent_of(tracker) == REQUEST_INTENT
        if not starting and requested != "reminder_channel":
            return {}
        channel = self._channel(tracker)
        if channel is None:
            if starting:
                return {}  # asked next
            return self.fail(dispatcher, tracker, "reminder_channel", "utter_reminder_channel_unknown")
        if channel != "none" and channel not in offered_channels():
            dispatcher.utter_message(response="utter_reminder_unavailable")
            return {OUTCOME_SLOT: "blocked"}
        found = {"email": email_in, "sms": mobile_in}.get(channel, lambda _: None)(text_of(tracker))
        return self.filled(reminder_channel=channel, **({"reminder_contact": found} if found else {}))

    async def extract_reminder_contact(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "reminder_contact":
            return {}
        channel = tracker.get_slot("reminder_channel")
        text = tracker.latest_message.get("text") or ""
        contact = None
        if len(text) <= MAX_CONTACT_INPUT:
            contact = email_in(text) if channel == "email" else mobile_in(text)
        if contact is None:
            return self.fail(dispatcher, tracker, "reminder_contact", f"utter_reminder_{channel}_invalid")
        return self.filled(reminder_contact=contact)


class ActionReminderDone(FormDone):
    """Stores the address with the appointment, or says why not."""

    form = "reminder_form"
    topic = TOPIC
    restart_intent = REQUEST_INTENT
    slots = REMINDER_SLOTS
    stopped_response = "utter_reminder_stopped"

    @guarded(TOPIC)
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        channel = tracker.get_slot("reminder_channel")
        if channel not in WHERE:
            dispatcher.utter_message(response="utter_reminder_declined")
            return self.forget()
        upcoming = await asyncio.to_thread(own_appointments, tracker)
        wanted = tracker.get_slot("reminder_reference")
        appt = next((a for a in upcoming if a.reference == wanted), None) or next(
            (a for a in reversed(upcoming) if a.reason != "ENCOMBRANTS"), None
        )
        sender = (channel_of(tracker), tracker.sender_id)
        stored = appt is not None and await asyncio.to_thread(
            set_contact, appt.reference, channel, tracker.get_slot("reminder_contact"), sender=sender
        )
        if not stored:
            dispatcher.utter_message(response="utter_reminder_no_appointment")
            return self.forget()
        logger.info("reminder address stored (conversation %s, %s)", pseudonym(tracker.sender_id), channel)
        dispatcher.utter_message(
            response="utter_reminder_set",
            where=WHERE[channel],
            when_before=when_before_fr(hours_before()),
            reference=appt.reference,
        )
        return self.forget()
