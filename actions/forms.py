"""One form framework for every form of the assistant.

Every form reads the whole message (custom slot mappings, `extract_<slot>` methods),
and every form treats the same things the same way, here and only here:

- **A way out** — « stop », « je veux parler à quelqu'un » (and what a form adds, e.g.
  « annuler » while booking) set the outcome slot `form_outcome`; `required_slots` then
  returns nothing, Rasa ends the form and the form's *submit rule* runs its done action,
  which says what happened (Rasa-native: no rule per way out and per form).
- **A question in the middle** (help, opening hours, identity documents, « vous êtes un
  robot ? ») is answered, then the form asks its question again. Rasa rules cannot match
  a set of intents, so doing this with rules takes one rule per form and per question —
  that is how 45 copies came about and drifted. The answers are listed once, in
  `DIGRESSIONS`; adding one touches that table only.
- **Another flow** asked for with confidence, while the answer could not be read
  (« en fait je voudrais les jours de collecte »), ends this form (outcome `switched`);
  its done action hands the citizen's message back to the dialogue (as Rasa's own
  two-stage fallback does once the intent is known), so the rule of that flow starts it.
- **Failures are counted per question** (`form_failures`). The third unusable answer in a
  row ends the form with a way out (outcome `failed`): the service's phone, a hand-off
  button and « Reprendre », which starts the form again at the same question with the
  answers already given. A question is never asked a fourth time in a row.

A form is a `FormValidation` subclass (extraction) plus a `FormDone` subclass (what
to say when it ends); both name the form. Texts are responses of domain/forms.yml.
"""

from __future__ import annotations

import functools
import inspect
import logging
from abc import ABC, abstractmethod
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet, UserUttered
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from rasa_sdk.utils import all_subclasses
from sqlalchemy.exc import SQLAlchemyError

from actions.common import button, confidence_of, intent_of, is_name_answer
from actions.core import TERRITORY, pseudonym
from booking.connector import BookingUnavailable

logger = logging.getLogger(__name__)
# rasa-sdk warns for every slot without a validate_<slot> method: extraction validates here.
logging.getLogger("rasa_sdk.forms").setLevel(logging.ERROR)

MAX_FAILURES = 3
OUTCOME_SLOT = "form_outcome"  # stopped | handoff | failed | switched
FAILURES_SLOT = "form_failures"
SWITCH_SLOT = "form_switch"  # the intent of the flow asked for
FRAMEWORK_SLOTS = (OUTCOME_SLOT, FAILURES_SLOT, SWITCH_SLOT)

# Ways out of any form: intent → outcome.
EXITS = {"stop": "stopped", "human_handoff": "handoff"}

# Questions answered in the middle of any form, which then asks its question again:
# intent → a response name (utter_…) or the name of an action of this server.
DIGRESSIONS = {
    "help": "utter_help",
    "bot_challenge": "utter_iamabot",
    "opening_hours": "action_opening_hours",
    "id_documents_info": "action_id_documents_info",
    "events": "action_events",
}

# Other flows a citizen may switch to from any form: intent → the action its rule starts.
# Only when the NLU is sure and the answer could not be read.
SWITCHES = {
    "book_appointment": "booking_form",
    "cancel_appointment": "cancel_form",
    "reschedule_appointment": "reschedule_form",
    "list_appointments": "action_list_appointments",
    "waste_collection_day": "waste_form",
    "bulky_waste": "action_bulky_waste_info",
    "recycling_center": "action_recycling_center",
    "welfare_guidance": "welfare_form",
    "request_status": "tracking_form",
    "subsidy_status": "tracking_form",
    "delete_my_data": "action_delete_my_data",
    "alerts_subscribe": "alerts_form",
    "alerts_unsubscribe": "action_alerts_unsubscribe",
    "report_problem": "report_form",
    "school_transport": "transport_form",
}
SWITCH_CONFIDENCE = 0.8


def digression_of(tracker: Tracker) -> str | None:
    intent = intent_of(tracker)
    return intent if intent in DIGRESSIONS else None


async def answer_digression(
    intent: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> None:
    """Answer a question asked mid-form with the same words as outside a form."""
    answer = DIGRESSIONS[intent]
    if answer.startswith("utter_"):
        dispatcher.utter_message(response=answer)
        return
    await run_action(answer, dispatcher, tracker, domain)


_ACTIONS: Dict[str, type] = {}  # action name → class, found once (again if a module came later)


def _action_class(name: str) -> type:
    if name not in _ACTIONS:
        _ACTIONS.clear()
        for cls in all_subclasses(Action):  # as rasa-sdk's executor finds them
            if inspect.isabstract(cls):
                continue
            try:
                _ACTIONS[cls().name()] = cls
            except (TypeError, NotImplementedError):  # parameterised or unnamed classes
                continue
    if name not in _ACTIONS:
        raise LookupError(f"no action named {name}")
    return _ACTIONS[name]


async def run_action(
    name: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> List[EventType]:
    """Run another action of this server in-process (its messages go to `dispatcher`)."""
    return await _action_class(name)().run(dispatcher, tracker, domain)


def service_phone(topic: str) -> str:
    return TERRITORY.services[TERRITORY.service_for(topic=topic)].phone


# ---- the application database may be down: say it, never crash -----------------------------


def agenda_down(dispatcher, tracker: Tracker, action: str, exc: BookingUnavailable, topic: str) -> None:
    """The appointments agenda (Publik Chrono, booking/connector.py) does not answer: say so kindly,
    nothing was changed, with the service's phone and a hand-off."""
    logger.warning("booking agenda unavailable in %s (%s, conversation %s)", action, exc.kind,
                   pseudonym(tracker.sender_id))  # fmt: skip
    dispatcher.utter_message(
        response="utter_booking_agenda_down",
        phone=service_phone(topic),
        buttons=[button("Parler à un agent", "human_handoff")],
    )


def guarded(topic: str = "appointments"):
    """Wrap an action's run(): a database or agenda failure becomes a French message and a log line."""

    def decorate(run: Callable[..., Awaitable[List[EventType]]]):
        @functools.wraps(run)
        async def wrapper(self, dispatcher, tracker, domain):
            try:
                return await run(self, dispatcher, tracker, domain)
            except BookingUnavailable as exc:
                agenda_down(dispatcher, tracker, self.name(), exc, topic)
                return []
            except (SQLAlchemyError, OSError):
                logger.exception("application database unavailable in %s (conversation %s)", self.name(),
                                 pseudonym(tracker.sender_id))  # fmt: skip
                dispatcher.utter_message(
                    response="utter_database_down",
                    phone=service_phone(topic),
                    buttons=[button("Parler à un agent", "human_handoff")],
                )
                return []

        return wrapper

    return decorate


# ---- validation ------------------------------------------------------------------------------


class FormValidation(FormValidationAction):
    """Base of every form's validation action. Subclasses set the class attributes and
    write `extract_<slot>` methods that return `self.fail(...)` for an unusable answer."""

    topic: str = "default"  # territory topic whose service is given as the way out
    restart_intent: str = ""  # the intent that starts this form (« Reprendre »)
    working_slots: Tuple[str, ...] = ()  # slots kept though not asked (pages, partial answers…)
    extra_exits: Dict[str, str] = {}  # intent → outcome, on top of EXITS
    name_slots: Tuple[str, ...] = ()  # questions whose short answer is a name, whatever the intent

    # Abstract until a subclass names its form (`form = "booking_form"`): rasa-sdk then
    # registers the subclasses only, never this base.
    @property
    @abstractmethod
    def form(self) -> str: ...

    def name(self) -> str:
        return f"validate_{self.form}"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        try:
            return await self._run(dispatcher, tracker, domain)
        except BookingUnavailable as exc:
            agenda_down(dispatcher, tracker, self.name(), exc, self.topic)
            return [SlotSet(OUTCOME_SLOT, "blocked"), SlotSet("requested_slot", None)]
        except (SQLAlchemyError, OSError):
            logger.exception("application database unavailable in %s (conversation %s)", self.name(),
                             pseudonym(tracker.sender_id))  # fmt: skip
            dispatcher.utter_message(
                response="utter_database_down",
                phone=service_phone(self.topic),
                buttons=[button("Parler à un agent", "human_handoff")],
            )
            return [SlotSet(OUTCOME_SLOT, "blocked"), SlotSet("requested_slot", None)]

    def is_answer(self, tracker: Tracker, requested: str | None) -> bool:
        """True when the message answers the question though its intent is a way out or a
        question (a surname read as « help »); a form may add its own cases."""
        return requested in self.name_slots and is_name_answer(tracker)

    def _answering(self, tracker: Tracker) -> bool:
        """True when the latest message answers this active form. Rasa validates on a copy of
        the tracker that ends with the form's own action event (and the slot candidates):
        the action before that one must be action_listen."""
        active = (tracker.active_loop or {}).get("name")
        if active != self.form:
            return False
        if tracker.latest_action_name == "action_listen":
            return True
        actions = [e.get("name") for e in reversed(tracker.events) if e.get("event") == "action"]
        return actions[:2] == [self.form, "action_listen"]

    async def _run(self, dispatcher, tracker, domain) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        if self._answering(tracker):
            intent = intent_of(tracker)
            name_answer = self.is_answer(tracker, requested)
            outcome = {**EXITS, **self.extra_exits}.get(intent)
            if outcome and not name_answer:
                return [SlotSet(OUTCOME_SLOT, outcome), SlotSet("requested_slot", None)]
            if digression_of(tracker) and not name_answer:
                await answer_digression(intent, dispatcher, tracker, domain)
                failures = tracker.get_slot(FAILURES_SLOT) or 0
                return [SlotSet(FAILURES_SLOT, failures), SlotSet("requested_slot", requested)]
        said = len(dispatcher.messages)
        events = await super().run(dispatcher, tracker, domain)
        target = self._switch_target(tracker, requested, events)
        if target:
            target = intent_of(tracker)
            del dispatcher.messages[said:]  # the failure message about the old question
            return [
                SlotSet(OUTCOME_SLOT, "switched"),
                SlotSet(SWITCH_SLOT, target),
                SlotSet(FAILURES_SLOT, 0),
                SlotSet("requested_slot", None),
            ]
        return events

    def _switch_target(self, tracker: Tracker, requested: str | None, events: List[EventType]) -> str | None:
        if not requested or not self._answering(tracker):
            return None
        intent = intent_of(tracker)
        target = SWITCHES.get(intent)
        # The form's own intent is no other flow (« un canapé, des gravats » is bulky_waste).
        if not target or target == self.form or intent == self.restart_intent:
            return None
        if confidence_of(tracker) < SWITCH_CONFIDENCE:
            return None
        filled = any(e.get("name") == requested and e.get("value") is not None for e in events)
        return None if filled else target

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if tracker.get_slot(OUTCOME_SLOT):
            return []
        return await self.form_slots(domain_slots, dispatcher, tracker, domain)

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        """The questions still to ask, in order (override to skip some)."""
        return domain_slots

    async def get_validation_events(self, dispatcher, tracker, domain) -> List[EventType]:
        # rasa-sdk keeps only the required slots; the working slots and the framework's
        # slots (outcome, failures) must be kept too.
        events = await super().get_validation_events(dispatcher, tracker, domain)
        kept = {e["name"] for e in events}
        extra = [
            SlotSet(name, value)
            for name, value in tracker.slots_to_validate().items()
            if name not in kept and name != "requested_slot"
        ]
        return events + extra

    def fail(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        response: str | None = None,
        **values: Any,
    ) -> Dict[str, Any]:
        """An unusable answer to `slot`: say why (a response of the domain, with `values`),
        count it; the third in a row ends the form with a way out."""
        failures = int(tracker.get_slot(FAILURES_SLOT) or 0) + 1
        if response:
            dispatcher.utter_message(response=response, **values)
        if failures >= MAX_FAILURES:
            return {slot: None, FAILURES_SLOT: failures, OUTCOME_SLOT: "failed"}
        return {slot: None, FAILURES_SLOT: failures}

    @staticmethod
    def filled(**slots: Any) -> Dict[str, Any]:
        """A usable answer: the slots it fills, and the failure count starts again."""
        return {**slots, FAILURES_SLOT: 0}


# ---- the end of a form -------------------------------------------------------------------------


class FormDone(Action, ABC):
    """Base of every form's done action (run by the form's submit rule). It says why the form
    ended — stopped, hand-off, three failures, another flow — or calls `completed` when every
    answer is in, then forgets the form's answers."""

    topic: str = "default"
    restart_intent: str = ""
    restart_title: str = "Reprendre"
    slots: Tuple[str, ...] = ()  # every slot of the form, forgotten at the end
    stopped_response: str = "utter_form_stopped"

    @property
    @abstractmethod
    def form(self) -> str: ...

    def name(self) -> str:
        """action_booking_done for booking_form (override when the flow names it otherwise)."""
        return f"action_{self.form.removesuffix('_form')}_done"

    def forget(self) -> List[EventType]:
        return [SlotSet(name, None) for name in self.slots + FRAMEWORK_SLOTS]

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        outcome = tracker.get_slot(OUTCOME_SLOT)
        forget = self.forget()
        if outcome == "stopped":
            dispatcher.utter_message(response=self.stopped_response)
            return forget
        if outcome == "handoff":
            dispatcher.utter_message(response="utter_form_left_for_handoff")
            # Its events too: a live hand-off pauses the conversation (actions/handoff.py).
            return forget + await run_action("action_human_handoff", dispatcher, tracker, domain)
        if outcome == "failed":
            # The answers already given are kept: « Reprendre » asks the same question again.
            dispatcher.utter_message(
                response="utter_form_failed",
                phone=service_phone(self.topic),
                buttons=[
                    button(self.restart_title, self.restart_intent),
                    button("Parler à un agent", "human_handoff"),
                ],
            )
            logger.info("form %s ended after %d failures (conversation %s)", self.form, MAX_FAILURES,
                        pseudonym(tracker.sender_id))  # fmt: skip
            return [SlotSet(name, None) for name in FRAMEWORK_SLOTS]
        if outcome == "switched":
            dispatcher.utter_message(response="utter_form_switched")
            return forget + replay_latest_message(tracker)
        if outcome == "blocked":
            return forget
        events = await self.completed(dispatcher, tracker, domain)
        return events + [SlotSet(name, None) for name in FRAMEWORK_SLOTS]

    @abstractmethod  # abstract: the action server registers the subclasses only
    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        """Every answer is in: do the thing, say so, and return the events (usually
        `self.forget()`; a flow that offers a follow-up may keep some answers)."""
        raise NotImplementedError


def replay_latest_message(tracker: Tracker) -> List[EventType]:
    """The citizen's latest message, handed back to the dialogue after a listen: the
    policies then predict as if it had just arrived, and the rule of its flow runs."""
    message = tracker.latest_message or {}
    parse_data = {k: message.get(k) for k in ("intent", "entities", "text", "intent_ranking") if k in message}
    return [
        ActionExecuted("action_listen"),
        UserUttered(
            message.get("text"),
            parse_data=parse_data,
            input_channel=tracker.get_latest_input_channel(),
        ),
    ]


def framework_state(tracker: Tracker) -> Dict[str, Any]:
    """For tests and logs: the framework's slots."""
    return {name: tracker.get_slot(name) for name in FRAMEWORK_SLOTS}
