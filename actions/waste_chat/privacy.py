"""« Oubliez mes données » (RGPD): the conversation's stored messages (every session) and the
remembered address are erased; booked appointments are kept until their date (the town hall
needs them to receive the citizen; they are anonymised afterwards, territory/demo/privacy.yml)
and the citizen is told how to cancel them; other requests go to the data protection officer.

The tracker store (channels/tracker_store.py) deletes the conversation again after this turn
and writes nothing of it back: Rasa holds the session in memory and would save it again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import channel_of
from actions.core import pseudonym
from actions.forms import guarded
from booking import engine, memory
from core.privacy import erase_conversation, load_privacy
from reports.privacy import forget_sender as forget_reports

from .collection import WASTE_SLOTS

logger = logging.getLogger(__name__)


class ActionDeleteMyData(Action):
    def name(self) -> str:
        return "action_delete_my_data"

    @guarded("waste")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        channel, sender = channel_of(tracker), tracker.sender_id
        policy = load_privacy()
        erased = await asyncio.to_thread(erase_conversation, sender)
        removed = await asyncio.to_thread(memory.forget, channel, sender)
        mine = await asyncio.to_thread(engine.appointments_of, channel, sender)
        # Signalements: their contact and photo go; the place and description stay (reports/privacy.py).
        await asyncio.to_thread(forget_reports, channel, sender)
        dispatcher.utter_message(response="utter_my_address_deleted" if removed else "utter_no_address_kept")
        if mine:
            dispatcher.utter_message(
                response="utter_my_appointments_kept",
                count=len(mine),
                days=policy.retention.bookings_days_after,
            )
        dispatcher.utter_message(
            response="utter_my_data_other_requests", email=policy.dpo.email, privacy_url=policy.notice.url
        )
        logger.info(
            "personal data deletion (conversation %s, events erased: %d, address removed: %s, "
            "appointments kept: %d)",
            pseudonym(sender),
            erased,
            removed,
            len(mine),
        )
        return [SlotSet(slot, None) for slot in WASTE_SLOTS]
