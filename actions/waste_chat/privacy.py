"""« Oubliez mes données » (RGPD): the remembered address is deleted; booked appointments
stay (the citizen cancels them in the appointments flow); other requests go to the
accueil's address."""

from __future__ import annotations

import asyncio
import logging
from typing import List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import channel_of
from actions.core import TERRITORY, pseudonym
from actions.forms import guarded
from booking import engine, memory

from .collection import WASTE_SLOTS

logger = logging.getLogger(__name__)


class ActionDeleteMyData(Action):
    def name(self) -> str:
        return "action_delete_my_data"

    @guarded("waste")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        channel, sender = channel_of(tracker), tracker.sender_id
        removed = await asyncio.to_thread(memory.forget, channel, sender)
        mine = await asyncio.to_thread(engine.appointments_of, channel, sender)
        dispatcher.utter_message(response="utter_my_address_deleted" if removed else "utter_no_address_kept")
        if mine:
            dispatcher.utter_message(response="utter_my_appointments_kept", count=len(mine))
        accueil = TERRITORY.services[TERRITORY.default_service]
        dispatcher.utter_message(response="utter_my_data_other_requests", email=accueil.email)
        logger.info(
            "personal data deletion (conversation %s, address removed: %s)", pseudonym(sender), removed
        )
        return [SlotSet(slot, None) for slot in WASTE_SLOTS]
