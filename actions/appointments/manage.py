"""List, cancel and move an appointment: the citizen's own (same channel and sender id) or,
from another device, by reference + the surname given at booking. Failed tries are counted
on the server (booking/attempts.py), per reference and per conversation: a new conversation
or sender id gives no new try, a success gives none back."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments.ants_sync import declare_to_ants, withdraw_from_ants
from actions.appointments.context import (
    ALL_SITE_NAMES,
    TOPIC,
    agenda,
    appointment_line,
    config_of,
    managed_appointment,
    own_appointments,
    phone,
    short_slot_fr,
    when_fr,
)
from actions.appointments.reading import references_in
from actions.appointments.slots import SlotAnswers
from actions.common import button, channel_of, clean_surname, read_yes_no, text_of
from actions.core import pseudonym
from actions.forms import OUTCOME_SLOT, FormDone, FormValidation, guarded
from booking import attempts, engine
from core import clock

logger = logging.getLogger(__name__)

MANAGE_SLOTS = ("appointment_ref", "appointment_surname", "manage_confirmed")
MOVE_SLOTS = MANAGE_SLOTS + ("booking_when", "booking_slot", "booking_offset", "booking_offered")


class _OwnAppointments:
    """Mixin of the actions that show the sender's own upcoming appointments (not an Action
    itself: rasa-sdk registers every Action subclass)."""

    @guarded(TOPIC)
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        self.show(dispatcher, await asyncio.to_thread(own_appointments, tracker))
        return []

    def show(self, dispatcher: CollectingDispatcher, mine: List[engine.AppointmentView]) -> None:
        raise NotImplementedError


class ActionListAppointments(_OwnAppointments, Action):
    def name(self) -> str:
        return "action_list_appointments"

    def show(self, dispatcher: CollectingDispatcher, mine: List[engine.AppointmentView]) -> None:
        if not mine:
            dispatcher.utter_message(response="utter_no_appointment_here")
            return
        buttons = []
        for appt in mine[:3]:
            buttons.append(
                button(f"Déplacer {appt.reference}", "reschedule_appointment", reference=appt.reference)
            )
            buttons.append(
                button(f"Annuler {appt.reference}", "cancel_appointment", reference=appt.reference)
            )
        dispatcher.utter_message(
            response="utter_your_appointment" if len(mine) == 1 else "utter_your_appointments",
            appointments="\n".join(appointment_line(a) for a in mine),
            buttons=buttons,
        )


class WhichAppointment:
    """Mixin of the cancel and move forms (FormValidation subclasses): which appointment
    (a reference, or the sender's own) and, from another device, the surname."""

    topic = TOPIC
    name_slots = ("appointment_surname",)

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        ref = tracker.get_slot("appointment_ref")
        own = ref and await asyncio.to_thread(self._owns, tracker, ref)
        return [s for s in domain_slots if not (s == "appointment_surname" and own)]

    @staticmethod
    def _owns(tracker: Tracker, reference: str) -> bool:
        return any(a.reference == reference for a in own_appointments(tracker))

    async def extract_appointment_ref(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        refs = references_in(tracker)
        if refs:
            return self.filled(appointment_ref=refs[0])
        if tracker.get_slot("appointment_ref") or requested not in ("appointment_ref", None):
            return {}
        if requested is None:  # the first message: the sender's only appointment, if so
            mine = await asyncio.to_thread(own_appointments, tracker)
            return {"appointment_ref": mine[0].reference} if len(mine) == 1 else {}
        if not text_of(tracker):
            return {}
        return self.fail(dispatcher, tracker, "appointment_ref", "utter_reference_not_found")

    async def extract_appointment_surname(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "appointment_surname":
            return {}
        surname = clean_surname(text_of(tracker))
        if surname is None:
            return self.fail(dispatcher, tracker, "appointment_surname", "utter_surname_not_understood")
        reference = tracker.get_slot("appointment_ref")
        keys = attempts.keys_for("appointment", reference, channel_of(tracker), tracker.sender_id)
        if await asyncio.to_thread(attempts.is_locked, keys):  # before the database is asked
            dispatcher.utter_message(response="utter_cannot_verify", phone=phone())
            return {OUTCOME_SLOT: "blocked"}
        try:
            await asyncio.to_thread(agenda().get_appointment, reference, surname=surname)
        except engine.AppointmentNotFound:
            if (await asyncio.to_thread(attempts.record_failure, keys)).locked:
                logger.info("appointment check locked after failed tries (conversation %s)",
                            pseudonym(tracker.sender_id))  # fmt: skip
                dispatcher.utter_message(response="utter_cannot_verify", phone=phone())
                return {OUTCOME_SLOT: "blocked"}
            # One answer for both cases: the reference alone never tells whether it exists.
            dispatcher.utter_message(response="utter_reference_and_name_mismatch")
            return self.filled(appointment_surname=None, appointment_ref=None)
        return self.filled(appointment_surname=surname)

    async def extract_manage_confirmed(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "manage_confirmed":
            return {}
        answer = read_yes_no(tracker)
        if answer is None:
            return self.fail(dispatcher, tracker, "manage_confirmed", "utter_yes_or_no")
        return self.filled(manage_confirmed=answer)


class ValidateCancelForm(WhichAppointment, FormValidation):
    form = "cancel_form"
    restart_intent = "cancel_appointment"


class ValidateRescheduleForm(WhichAppointment, SlotAnswers, FormValidation):
    form = "reschedule_form"
    restart_intent = "reschedule_appointment"
    working_slots = ("booking_offset", "booking_offered")

    async def slot_sites(self, tracker: Tracker) -> List[str]:
        """A move stays within the appointment's service (identity sites or bulky-waste rounds)."""
        try:
            appt = await asyncio.to_thread(managed_appointment, tracker)
        except engine.BookingError:
            return []
        return [site.id for site in config_of(appt).sites]


class ActionAskAppointmentRef(_OwnAppointments, Action):
    def name(self) -> str:
        return "action_ask_appointment_ref"

    def show(self, dispatcher: CollectingDispatcher, mine: List[engine.AppointmentView]) -> None:
        if not mine:
            dispatcher.utter_message(response="utter_ask_appointment_ref")
            return
        buttons = [
            button(
                f"{short_slot_fr(engine.Slot(a.site_id, a.start, 0))} ({a.reference})",
                "inform",
                reference=a.reference,
            )  # fmt: skip
            for a in mine[:5]
        ]
        dispatcher.utter_message(response="utter_ask_appointment_ref_mine", buttons=buttons)


class ActionAskManageConfirmed(Action):
    def name(self) -> str:
        return "action_ask_manage_confirmed"

    @guarded(TOPIC)
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        appt = await asyncio.to_thread(managed_appointment, tracker)
        if tracker.active_loop.get("name") == "reschedule_form":
            new = engine.Slot.from_key(tracker.get_slot("booking_slot"), appt.duration_minutes)
            dispatcher.utter_message(
                response="utter_ask_move_confirmed",
                reference=appt.reference,
                before=when_fr(appt.start),
                after=when_fr(new.start),
                site=ALL_SITE_NAMES.get(new.site_id, new.site_id),
            )
        else:
            dispatcher.utter_message(
                response="utter_ask_cancel_confirmed",
                reference=appt.reference,
                when=when_fr(appt.start),
                site=appt.site_name,
            )
        return []


class _ManageDone(FormDone):
    topic = TOPIC
    stopped_response = "utter_appointment_stopped"

    @guarded(TOPIC)
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        if not tracker.get_slot("manage_confirmed"):
            dispatcher.utter_message(response="utter_appointment_kept")
            return self.forget()
        try:
            await self.change(dispatcher, tracker)
        except engine.AppointmentNotFound:
            dispatcher.utter_message(response="utter_appointment_gone")
        return self.forget()

    async def change(self, dispatcher, tracker) -> None:
        raise NotImplementedError


class ActionCancelDone(_ManageDone):
    form = "cancel_form"
    restart_intent = "cancel_appointment"
    slots = MANAGE_SLOTS

    async def change(self, dispatcher, tracker) -> None:
        appt = await agenda().cancel(
            tracker.get_slot("appointment_ref"),
            surname=tracker.get_slot("appointment_surname"),
            sender=(channel_of(tracker), tracker.sender_id),
            now=clock.now(),
        )
        await withdraw_from_ants(appt)
        logger.info("appointment cancelled (conversation %s)", pseudonym(tracker.sender_id))
        dispatcher.utter_message(response="utter_appointment_cancelled", reference=appt.reference,
                                 when=when_fr(appt.start))  # fmt: skip


class ActionRescheduleDone(_ManageDone):
    form = "reschedule_form"
    restart_intent = "reschedule_appointment"
    slots = MOVE_SLOTS

    async def change(self, dispatcher, tracker) -> None:
        before = await asyncio.to_thread(managed_appointment, tracker)
        new = engine.Slot.from_key(tracker.get_slot("booking_slot"), before.duration_minutes)
        try:
            appt = await agenda().reschedule(
                before.reference,
                new,
                surname=tracker.get_slot("appointment_surname"),
                sender=(channel_of(tracker), tracker.sender_id),
                now=clock.now(),
                config=config_of(before),
            )
        except (engine.SlotTaken, engine.SlotNotOffered):
            dispatcher.utter_message(
                response="utter_move_slot_taken",
                buttons=[
                    button("Choisir un autre créneau", "reschedule_appointment", reference=before.reference)
                ],
            )
            return
        if appt.application_ids:
            await withdraw_from_ants(before)
            await declare_to_ants(appt)
        dispatcher.utter_message(
            response="utter_appointment_moved",
            reference=appt.reference,
            when=when_fr(appt.start),
            site=appt.site_name,
            address=appt.site_address,
        )
