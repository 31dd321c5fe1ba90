"""Collection days by address (waste_form), the answer with the calendar file, and the
address remembered across sessions when the citizen agrees."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import channel_of, entity_values, intent_of
from actions.core import pseudonym
from actions.forms import FormDone, FormValidation, guarded
from booking import memory
from core import clock
from waste.calendar import describe_collections_fr, next_collections
from waste.sectors import sector_for

from .address import AddressQuestions
from .content import WASTE, address_label, ics_url, remembered

logger = logging.getLogger(__name__)

# The address stays after the answer (for the consent question, and the next question of the
# same conversation); the rest is forgotten.
ADDRESS_SLOTS = ("waste_street", "waste_number", "waste_sector")
WASTE_SLOTS = ADDRESS_SLOTS + ("waste_stream",)


class WasteForm:
    """What the validation and the done action of waste_form both name."""

    form = "waste_form"
    topic = "waste"
    restart_intent = "waste_collection_day"


class ValidateWasteForm(WasteForm, AddressQuestions, FormValidation):
    working_slots = ("waste_sector", "waste_stream")
    prefix = "waste"
    with_sector = True

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        street = tracker.get_slot("waste_street")
        if street and tracker.get_slot("waste_number") is None:
            if not sector_for(WASTE, street, None).needs_number:
                return ["waste_street"]
        return domain_slots

    async def extract_waste_street(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None and intent_of(tracker) == "waste_collection_day":
            return await self._first_message(dispatcher, tracker)
        if requested != "waste_street":
            return {}
        return await self.read_address(dispatcher, tracker, first_message=False)

    async def _first_message(self, dispatcher, tracker) -> Dict[str, Any]:
        """« quand passe la poubelle jaune rue Pasteur ? »: the stream and the address, if
        named; otherwise the address of this conversation, or the remembered one."""
        slots: Dict[str, Any] = {}
        streams = [v for v in entity_values(tracker, "waste_type") if v in WASTE.streams]
        if streams:
            slots["waste_stream"] = streams[0]
        if entity_values(tracker, "address"):
            return {**slots, **await self.read_address(dispatcher, tracker, first_message=True)}
        if tracker.get_slot("waste_street"):
            return slots
        saved = await asyncio.to_thread(remembered, tracker)
        if saved:
            dispatcher.utter_message(
                response="utter_waste_saved_address_used",
                address=address_label(saved.street, saved.housenumber),
            )
            return {
                **slots,
                "waste_street": saved.street,
                "waste_number": saved.housenumber,
                "waste_sector": saved.sector,
            }
        return slots

    async def extract_waste_number(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "waste_number":
            return {}
        return self.read_number(dispatcher, tracker)


class ActionWasteCollectionDays(WasteForm, FormDone):
    """The end of waste_form: the next collection days of the address, the calendar file,
    and the question whether to remember the address."""

    slots = WASTE_SLOTS
    stopped_response = "utter_waste_stopped"

    def name(self) -> str:
        return "action_waste_collection_days"

    @guarded("waste")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        street, number, sector = (tracker.get_slot(s) for s in ADDRESS_SLOTS)
        forget = [SlotSet("waste_stream", None)]
        if not street or not sector:
            return forget
        stream = tracker.get_slot("waste_stream")
        today = clock.now().date()
        found = next_collections(WASTE, sector, today, count=2, streams=[stream] if stream else None)
        collections = describe_collections_fr(WASTE, found, today, sector=sector)
        if number:  # « Au 3 Rue Pasteur : », « Rue Pasteur : »
            dispatcher.utter_message(
                response="utter_waste_collections_at_number",
                number=number,
                street=street,
                collections=collections,
            )
        else:
            dispatcher.utter_message(
                response="utter_waste_collections_in_street", street=street, collections=collections
            )
        url = ics_url(sector, street)
        link = {"title": "Calendrier (.ics)", "type": "web_url", "url": url}
        if channel_of(tracker) == "facebook":  # Messenger: the calendar as a card, not a second link
            card = {
                "title": "Calendrier des collectes",
                "subtitle": f"Au {address_label(street, number)}"[:80],
                "buttons": [{"type": "web_url", "title": "Ajouter à l'agenda", "url": url}],
            }
            dispatcher.utter_message(elements=[card])
            link = None
        saved = await asyncio.to_thread(remembered, tracker)
        if saved and saved.street == street and saved.housenumber == number:
            if link:
                dispatcher.utter_message(response="utter_waste_calendar_link", buttons=[link])
        elif link:
            dispatcher.utter_message(response="utter_ask_remember_address_with_link", buttons=[link])
        else:
            dispatcher.utter_message(response="utter_ask_remember_address")
        return forget


class ActionRememberAddress(Action):
    """The citizen agreed: the address of this conversation is kept across sessions."""

    def name(self) -> str:
        return "action_remember_address"

    @guarded("waste")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        street, number, sector = (tracker.get_slot(s) for s in ADDRESS_SLOTS)
        if not street or not sector:
            dispatcher.utter_message(response="utter_no_address_to_remember")
            return []
        await asyncio.to_thread(
            memory.remember, channel_of(tracker), tracker.sender_id, street, number, sector
        )
        logger.info("address remembered with consent (conversation %s)", pseudonym(tracker.sender_id))
        dispatcher.utter_message(response="utter_address_remembered")
        return []


class ActionAddressNotKept(Action):
    """The citizen declined: the address stays for this conversation only."""

    def name(self) -> str:
        return "action_address_not_kept"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        # No address: the form ended without an answer (stopped, switched), no consent was asked.
        kept = tracker.get_slot("waste_street")
        dispatcher.utter_message(response="utter_address_not_kept" if kept else "utter_deny_ack")
        return []
