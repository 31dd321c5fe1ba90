"""« Oubliez mes données » (RGPD): the conversation's stored messages (every session), the
remembered address, the contact of its callback requests and the sender id of its closed
hand-offs are erased; booked appointments are kept until their date (the town hall
needs them to receive the citizen; they are anonymised afterwards, territory/demo/privacy.yml),
said plainly, with a button that cancels them too (`/delete_my_data{"choice": "cancel_appointments"}`:
each one cancelled as « annuler mon rendez-vous » does, ANTS told through the outbox); other
requests go to the data protection officer.

The tracker store (channels/tracker_store.py) deletes the conversation again after this turn
and writes nothing of it back: Rasa holds the session in memory and would save it again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.alerts import forget_alerts
from actions.appointments.ants_sync import withdraw_from_ants
from actions.common import button, channel_of, entity_values
from actions.core import pseudonym
from actions.forms import guarded
from analytics.ingest import forget as forget_statistics
from booking import engine, memory
from booking.connector import booking_backend
from core import clock
from core.privacy import erase_conversation, load_privacy
from handoff.privacy import forget_conversation as forget_handoffs
from reports.privacy import forget_sender as forget_reports

from .collection import WASTE_SLOTS

logger = logging.getLogger(__name__)

CANCEL_APPOINTMENTS = "cancel_appointments"


class ActionDeleteMyData(Action):
    def name(self) -> str:
        return "action_delete_my_data"

    @guarded("waste")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        channel, sender = channel_of(tracker), tracker.sender_id
        policy = load_privacy()
        erased = await asyncio.to_thread(erase_conversation, sender)
        removed = await asyncio.to_thread(memory.forget, channel, sender)
        agenda = booking_backend()  # the local engine or Publik Chrono (booking/connector.py)
        mine = await asyncio.to_thread(agenda.appointments_of, channel, sender)
        cancelled = 0
        if mine and CANCEL_APPOINTMENTS in entity_values(tracker, "choice"):
            cancelled = await self.cancel_all(mine, channel, sender)
            mine = await asyncio.to_thread(agenda.appointments_of, channel, sender)
        alerts = await forget_alerts(channel, sender)  # crisis alerts subscriptions (actions/alerts.py)
        # Signalements: their contact and photo go; the place and description stay (reports/privacy.py).
        await asyncio.to_thread(forget_reports, channel, sender)
        await asyncio.to_thread(forget_statistics, sender)  # its sessions in the statistics (analytics/)
        # Callback requests lose their contact; closed hand-offs their sender id (handoff/privacy.py).
        handoffs = await asyncio.to_thread(forget_handoffs, sender)
        dispatcher.utter_message(response="utter_my_address_deleted" if removed else "utter_no_address_kept")
        if alerts:
            dispatcher.utter_message(response="utter_alerts_forgotten")
        if cancelled:
            dispatcher.utter_message(response="utter_my_appointments_cancelled", count=cancelled)
        dispatcher.utter_message(
            response="utter_my_data_other_requests", email=policy.dpo.email, privacy_url=policy.notice.url
        )
        if mine:
            dispatcher.utter_message(
                response="utter_my_appointments_kept",
                count=len(mine),
                days=policy.retention.bookings_days_after,
                buttons=[
                    button("Les annuler aussi", "delete_my_data", choice=CANCEL_APPOINTMENTS),
                    button("Les garder", "affirm"),
                ],
            )
        logger.info(
            "personal data deletion (conversation %s, events erased: %d, address removed: %s, "
            "appointments cancelled: %d, kept: %d, callback requests erased: %d, hand-offs: %d)",
            pseudonym(sender),
            erased,
            removed,
            cancelled,
            len(mine),
            handoffs.callbacks,
            handoffs.handoffs,
        )
        return [SlotSet(slot, None) for slot in WASTE_SLOTS]

    @staticmethod
    async def cancel_all(appointments, channel: str, sender: str) -> int:
        """Cancel the sender's appointments (they are theirs: same channel and sender id)."""
        cancelled = 0
        for appt in appointments:
            try:
                done = await booking_backend().cancel(
                    appt.reference, sender=(channel, sender), now=clock.now()
                )
            except engine.BookingError:  # begun, already cancelled, or the agenda down: kept as it is
                continue
            await withdraw_from_ants(done)
            cancelled += 1
        return cancelled
