"""Bulky waste (encombrants): how it works, and the pick-up booking (bulky_form): address,
items (the refused ones explained), a morning among the rounds' free dates, surname,
summary, confirmation with a reference. Listing, cancelling and moving a pick-up are the
appointments flows'."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Dict, List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import (
    button,
    channel_of,
    clean_surname,
    confidence_of,
    entity_values,
    intent_of,
    offered_choice,
    read_yes_no,
    text_of,
)
from actions.core import pseudonym
from actions.forms import OUTCOME_SLOT, SWITCH_CONFIDENCE, SWITCHES, FormDone, FormValidation, guarded
from booking import engine
from core.text import clip, format_date_fr, format_short_date_fr
from waste.bulky import pick_offered_day, refused_item
from waste.recycling import bulky_waste_fr

from .address import AddressQuestions
from .content import BULKY, RECYCLING, WASTE, address_label, remembered

logger = logging.getLogger(__name__)

BULKY_SITES = [site.id for site in BULKY.sites]
MAX_ITEMS_TEXT = 300
MAX_DAY_TEXT = 100  # « mardi 8 janvier, le matin » is a third of it: the rest is not read
BULKY_SLOTS = (
    "bulky_street",
    "bulky_number",
    "bulky_items",
    "bulky_slot",
    "bulky_offered",
    "bulky_surname",
    "bulky_confirmed",
    "bulky_reference",
)


class ActionBulkyWasteInfo(Action):
    def name(self) -> str:
        return "action_bulky_waste_info"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(response="utter_bulky_info", info=bulky_waste_fr(RECYCLING))
        return []


def bulky_slots(offset: int = 0) -> List[engine.Slot]:
    today = engine.local_now().date()
    return engine.available_slots(
        BULKY_SITES,
        today,
        today + timedelta(days=BULKY.booking_window_days),
        BULKY.minutes_per_document,
        limit=4,
        offset=offset,
        config=BULKY,
        service="bulky_waste",
    )


def slot_of(key: str) -> engine.Slot:
    return engine.Slot.from_key(key, BULKY.minutes_per_document)


def is_bulky_key(key: str | None) -> bool:
    """A pick-up button's payload: « <bulky site>@YYYY-MM-DDTHH:MM » (forged ones are refused)."""
    try:
        return bool(key) and slot_of(key).site_id in BULKY_SITES
    except ValueError:
        return False


def asks_another_flow(tracker) -> bool:
    """The NLU is sure the message asks for another flow (the form then hands it over)."""
    intent = intent_of(tracker)
    own = intent == BulkyForm.restart_intent
    return intent in SWITCHES and not own and confidence_of(tracker) >= SWITCH_CONFIDENCE


class ActionAskBulkySlot(Action):
    def name(self) -> str:
        return "action_ask_bulky_slot"

    @guarded("waste")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        offered = await asyncio.to_thread(bulky_slots)
        if not offered:
            dispatcher.utter_message(response="utter_bulky_no_date", phone=BULKY.sites[0].phone)
            return []
        buttons = [
            button(f"{format_short_date_fr(s.start.date())} (matin)", "inform", choice=s.key) for s in offered
        ]
        dispatcher.utter_message(response="utter_bulky_which_morning", buttons=buttons)
        return [SlotSet("bulky_offered", [s.key for s in offered])]


class ActionAskBulkyConfirmed(Action):
    def name(self) -> str:
        return "action_ask_bulky_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(
            response="utter_bulky_summary",
            day=format_date_fr(slot_of(tracker.get_slot("bulky_slot")).start.date()),
            address=address_label(tracker.get_slot("bulky_street"), tracker.get_slot("bulky_number")),
            postcode=WASTE.postcode,
            city=WASTE.city,
            items=tracker.get_slot("bulky_items"),
            surname=tracker.get_slot("bulky_surname"),
        )
        return []


class BulkyForm:
    """What the validation and the done action of bulky_form both name. « Reprendre » gives
    the bulky-waste information again, whose « Réserver un enlèvement » resumes the form."""

    form = "bulky_form"
    topic = "waste"
    restart_intent = "bulky_waste"


class ValidateBulkyForm(BulkyForm, AddressQuestions, FormValidation):
    extra_exits = {"cancel_appointment": "stopped"}  # « annuler » while booking a pick-up
    working_slots = ("bulky_offered", "bulky_reference")
    name_slots = ("bulky_surname",)
    prefix = "bulky"
    with_sector = False  # the number is always asked: the team stops at a door

    async def extract_bulky_street(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None:
            if entity_values(tracker, "address"):
                return await self.read_address(dispatcher, tracker, first_message=True)
            if tracker.get_slot("bulky_street"):
                return {}
            saved = await asyncio.to_thread(remembered, tracker)
            if saved and saved.housenumber:
                dispatcher.utter_message(
                    response="utter_waste_saved_address_used",
                    address=address_label(saved.street, saved.housenumber),
                )
                return {"bulky_street": saved.street, "bulky_number": saved.housenumber}
            return {}
        if requested != "bulky_street":
            return {}
        return await self.read_address(dispatcher, tracker, first_message=False)

    async def extract_bulky_number(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_number":
            return {}
        return self.read_number(dispatcher, tracker)

    async def extract_bulky_items(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_items":
            return {}
        if asks_another_flow(tracker):  # free text: « et les jours de collecte ? » is no item
            return {}
        text = " ".join(text_of(tracker).split())[:MAX_ITEMS_TEXT]
        if len(text) < 3:
            return self.fail(dispatcher, tracker, "bulky_items", "utter_bulky_items_invalid")
        refusal = refused_item(RECYCLING, text)
        if refusal and refusal.advice:
            return self.fail(
                dispatcher,
                tracker,
                "bulky_items",
                "utter_bulky_item_refused_elsewhere",
                item=refusal.named,
                advice=refusal.advice,
            )
        if refusal:
            return self.fail(
                dispatcher, tracker, "bulky_items", "utter_bulky_item_refused", item=refusal.named
            )
        return self.filled(bulky_items=text)

    async def extract_bulky_slot(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_slot":
            return {}
        choice = next(iter(entity_values(tracker, "choice")), None)
        offered = tracker.get_slot("bulky_offered")
        offered = offered if isinstance(offered, list) else []
        if offered_choice(choice, offered) and is_bulky_key(choice):  # a morning offered, of a round
            return self.filled(bulky_slot=choice)
        picked = pick_offered_day(clip(text_of(tracker), MAX_DAY_TEXT), offered)
        if picked:
            return self.filled(bulky_slot=picked)
        return self.fail(dispatcher, tracker, "bulky_slot", "utter_bulky_slot_invalid")

    async def extract_bulky_surname(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_surname":
            return {}
        surname = clean_surname(text_of(tracker))
        if surname is None:
            return self.fail(dispatcher, tracker, "bulky_surname", "utter_bulky_surname_invalid")
        return self.filled(bulky_surname=surname)

    async def extract_bulky_confirmed(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bulky_confirmed":
            return {}
        answer = read_yes_no(tracker)
        if answer is None:
            return self.fail(dispatcher, tracker, "bulky_confirmed", "utter_bulky_confirm_invalid")
        if not answer:
            return self.filled(bulky_confirmed=False)
        return await self._book(dispatcher, tracker)

    async def _book(self, dispatcher, tracker) -> Dict[str, Any]:
        """The booking happens at the « oui »: a morning taken meanwhile is offered again."""
        try:
            appt = await asyncio.to_thread(
                engine.book,
                slot_of(tracker.get_slot("bulky_slot")),
                reason="ENCOMBRANTS",
                people=1,
                surname=tracker.get_slot("bulky_surname"),
                channel=channel_of(tracker),
                sender_id=tracker.sender_id,
                address=address_label(tracker.get_slot("bulky_street"), tracker.get_slot("bulky_number")),
                items=tracker.get_slot("bulky_items"),
                config=BULKY,
            )
        except (engine.SlotTaken, engine.SlotNotOffered):
            dispatcher.utter_message(response="utter_bulky_slot_taken")
            return {"bulky_slot": None, "bulky_confirmed": None}
        except engine.TooManyAppointments as exc:
            logger.info("bulky-waste pick-up refused: limit of active pick-ups per %s (conversation %s)",
                        exc.kind, pseudonym(tracker.sender_id))  # fmt: skip
            dispatcher.utter_message(response="utter_bulky_too_many", phone=BULKY.sites[0].phone)
            return {OUTCOME_SLOT: "blocked"}
        logger.info("bulky-waste pick-up booked (conversation %s)", pseudonym(tracker.sender_id))
        return self.filled(bulky_confirmed=True, bulky_reference=appt.reference)


class ActionBulkyDone(BulkyForm, FormDone):
    slots = BULKY_SLOTS
    stopped_response = "utter_bulky_stopped"

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        reference = tracker.get_slot("bulky_reference")
        if reference:
            day = format_date_fr(slot_of(tracker.get_slot("bulky_slot")).start.date())
            dispatcher.utter_message(response="utter_bulky_booked", reference=reference, day=day)
        else:
            dispatcher.utter_message(response="utter_bulky_not_booked")
        return self.forget()
