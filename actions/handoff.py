"""« Parler à un agent »: a live hand-off when the service is open and one of its agents is on
duty (handoff/queue.py), else the service's contact.

A live hand-off puts the conversation in the service's queue, tells the citizen their place
and the expected wait, and pauses the conversation (ConversationPaused): Rasa keeps storing
the citizen's messages for the agent but predicts nothing until the agent closes the
hand-off from the console, or the citizen goes back to the assistant (channels/handoff.py).

With GRU_HANDOFF=chatwoot the agents answer in Chatwoot (handoff/chatwoot.py): the queue row is
written as with the console, and a Chatwoot conversation is opened for it. Chatwoot tells us
nothing of its agents per service, so the service's opening hours alone decide, and the
place and wait the citizen reads come from our own queue rows (every Chatwoot hand-off has
one, waiting until an agent's first reply), the wait counted for one agent: an upper bound
rather than a promise. If Chatwoot does not answer, the citizen gets the service's contact.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Dict, List

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType

from actions.common import intent_of, text_of
from actions.context import TERRITORY, latest_entity, pseudonym
from actions.forms import EXITS, FormDone, FormValidation
from actions.replies import contact_values
from core.db import session_scope
from core.topics import topic_label
from handoff import callbacks, chatwoot, queue
from handoff.callbacks import Contact, read_contact
from handoff.privacy import conversation_key
from staff.auth import agents_on_duty, utcnow

logger = logging.getLogger(__name__)


def live_handoff_enabled() -> bool:
    """GRU_HANDOFF: « live » (the built-in console, default), « chatwoot », or « off »."""
    return os.environ.get("GRU_HANDOFF", "live") != "off"


def place_fr(place: int) -> str:
    return "la prochaine personne" if place == 1 else f"en {place}e position"


def _join_if_staffed(
    conversation_id: str, channel: str, service: str, topic: str | None, staffed_elsewhere: bool = False
) -> tuple[queue.Position, bool] | None:
    """The place in the queue and whether the hand-off is new; None when nobody can answer.
    `staffed_elsewhere`: the agents work in Chatwoot, not in the console."""
    with session_scope(write=True) as session:
        now = utcnow()
        on_duty = agents_on_duty(session, service, now)
        already = queue.active_for(session, conversation_id) is not None
        if not already and (
            (on_duty == 0 and not staffed_elsewhere)
            or queue.recently_unanswered(session, conversation_id, now)
        ):
            return None
        position = queue.join(
            session,
            conversation_id=conversation_id,
            channel=channel,
            service=service,
            topic=topic,
            agents_on_duty=on_duty,
            now=now,
        )
        return position, not already


def _withdraw(request_id: int) -> None:
    with session_scope(write=True) as session:
        queue.withdraw(session, request_id)


def service_open(service_key: str) -> bool:
    return TERRITORY.status(service_key).open_now


async def join_queue(tracker: Any, service_key: str, topic: str | None) -> queue.Position | None:
    """The citizen's place in the service's queue, or None when no live hand-off is possible."""
    if not live_handoff_enabled() or not service_open(service_key):
        return None
    channel = tracker.get_latest_input_channel() or "rest"
    to_chatwoot = chatwoot.enabled()
    try:
        joined = await asyncio.to_thread(
            _join_if_staffed, tracker.sender_id, channel, service_key, topic, to_chatwoot
        )
    except Exception as exc:  # noqa: BLE001 - the citizen still gets the service's contact
        logger.error("hand-off queue unavailable: %s", type(exc).__name__)
        return None
    if joined is None:
        return None
    position, new = joined
    if to_chatwoot and new and not await _open_in_chatwoot(tracker, position, channel, service_key, topic):
        return None
    return position


async def _open_in_chatwoot(
    tracker: Any, position: queue.Position, channel: str, service_key: str, topic: str | None
) -> bool:
    """The Chatwoot conversation of a new hand-off; if Chatwoot does not answer, the queue row
    is withdrawn and the citizen gets the contact, as when nobody is on duty."""
    try:
        async with chatwoot.ChatwootClient(chatwoot.ChatwootConfig.from_env()) as client:
            await chatwoot.open_conversation(
                client,
                request_id=position.request_id,
                pseudonym=pseudonym(tracker.sender_id),
                service=service_key,
                service_name=TERRITORY.services[service_key].name,
                topic=topic,
                channel=channel,
                tracker=tracker.current_state(),
            )
        return True
    except (chatwoot.ChatwootUnavailable, ValueError) as exc:
        logger.error("hand-off %d not opened in chatwoot: %s", position.request_id, exc)
    try:
        await asyncio.to_thread(_withdraw, position.request_id)
    except Exception as exc:  # noqa: BLE001 - the sweep closes a row left behind
        logger.error("hand-off %d not withdrawn: %s", position.request_id, type(exc).__name__)
    return False


class ActionHumanHandoff(Action):
    """Hands the conversation to an agent of the right service, or gives its contact."""

    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        from actions.conversation import recent_topic  # the topic of the conversation so far

        topic = recent_topic(tracker.events)
        service_key = TERRITORY.service_for(key=latest_entity(tracker, "service"), topic=topic)
        position = await join_queue(tracker, service_key, topic)
        if position is None:
            dispatcher.utter_message(response="utter_human_handoff", **contact_values(TERRITORY, service_key))
            return []
        logger.info("hand-off queued conversation=%s service=%s", pseudonym(tracker.sender_id), service_key)
        values: Dict[str, Any] = {
            "service_name": TERRITORY.services[service_key].name,
            "place": place_fr(position.place),
            "wait": position.wait_minutes,
        }
        dispatcher.utter_message(response="utter_handoff_queued", **values)
        # The listen Rasa would have predicted next: a paused loop predicts nothing, and the
        # messages that come after (and the dialogue once resumed) must follow a listen.
        return [ConversationPaused(), ActionExecuted("action_listen")]


# ---- callback requests ---------------------------------------------------------------------------

CALLBACK_SLOTS = ("callback_contact", "callback_moment", "callback_consent")
MAX_MOMENT_CHARS = 200


class CallbackForm:
    form = "callback_form"
    topic = "default"
    restart_intent = "human_handoff"  # « Reprendre »: the hand-off answer asks again


class ValidateCallbackForm(CallbackForm, FormValidation):
    def is_answer(self, tracker, requested: str | None) -> bool:
        # A phone number or an e-mail, and a moment in free words, answer the question
        # whatever the NLU made of them (« demain après 14 h » is no opening-hours question).
        if intent_of(tracker) in EXITS:
            return False
        if requested == "callback_contact":
            return read_contact(text_of(tracker)) is not None
        return requested == "callback_moment"

    async def extract_callback_contact(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "callback_contact" or not self._answering(tracker):
            return {}
        contact = read_contact(text_of(tracker))
        if contact is None:
            return self.fail(dispatcher, tracker, "callback_contact", "utter_callback_contact_invalid")
        return self.filled(callback_contact=f"{contact.kind}:{contact.value}")

    async def extract_callback_moment(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "callback_moment" or not self._answering(tracker):
            return {}
        moment = " ".join((text_of(tracker) or "").split())
        if not moment or moment.startswith("/") or len(moment) > MAX_MOMENT_CHARS:
            return self.fail(dispatcher, tracker, "callback_moment", "utter_callback_moment_invalid")
        return self.filled(callback_moment=moment)

    async def extract_callback_consent(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "callback_consent" or not self._answering(tracker):
            return {}
        intent = intent_of(tracker)
        if intent in ("affirm", "deny"):
            return self.filled(callback_consent=intent == "affirm")
        return self.fail(dispatcher, tracker, "callback_consent", "utter_callback_consent_invalid")


def _store_callback(service: str, topic: str | None, contact: Contact, moment: str, sender_id: str) -> Any:
    with session_scope(write=True) as session:
        return callbacks.store(
            session,
            service=service,
            topic=topic,
            contact=contact,
            moment=moment,
            now=utcnow(),
            conversation=conversation_key(sender_id),  # a pseudonym, for « oubliez mes données »
        )


def _mark_sent(reference: str) -> None:
    with session_scope(write=True) as session:
        callbacks.mark_sent(session, reference, utcnow())


class ActionCallbackDone(CallbackForm, FormDone):
    """The end of callback_form: store the request, e-mail it to the service, give the reference."""

    slots = CALLBACK_SLOTS
    stopped_response = "utter_callback_stopped"

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        from actions.conversation import recent_topic

        topic = recent_topic(tracker.events)
        service_key = TERRITORY.service_for(topic=topic)
        service = TERRITORY.services[service_key]
        kind, _, value = str(tracker.get_slot("callback_contact") or "").partition(":")
        if tracker.get_slot("callback_consent") is not True or not value:
            dispatcher.utter_message(
                response="utter_callback_no_consent", service_name=service.name, phone=service.phone
            )
            return self.forget()
        moment = str(tracker.get_slot("callback_moment") or "dès que possible")
        request = await asyncio.to_thread(
            _store_callback, service_key, topic, Contact(kind, value), moment, tracker.sender_id
        )
        if await callbacks.send_to_service(request, service.email, service.name, topic_label(topic)):
            await asyncio.to_thread(_mark_sent, request.reference)
        logger.info("callback %d stored conversation=%s", request.id, pseudonym(tracker.sender_id))
        dispatcher.utter_message(
            response="utter_callback_saved",
            reference=request.reference,
            service_name=service.name,
            moment=moment,
        )
        return self.forget()
