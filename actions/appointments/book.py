"""The booking form: document, head count, pre-application numbers, site, day, slot,
surname, confirmation. The booking itself happens when the citizen confirms
(extract_booking_confirmed): the database refuses a slot taken meanwhile, and the
citizen is offered others.

Every message is read whole (custom mappings): « rdv passeport pour 2 personnes jeudi »
fills three answers at once, « finalement un passeport » changes the document at any step.
Ways out, questions in the middle, three failures and switches are the form framework's
(actions/forms.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments.ants_sync import check_with_ants, declare_to_ants
from actions.appointments.cards import appointment_card
from actions.appointments.context import (
    BOOKING_CONFIG,
    DOCUMENT_LABELS,
    REASON_LABELS,
    SITE_NAMES,
    TOPIC,
    agenda,
    chosen_sites,
    duration_fr,
    duration_of,
    facts,
    own_appointments,
    people_fr,
    phone,
    reason_of,
    when_fr,
)
from actions.appointments.reading import (
    ALMOST_ID,
    application_ids_of,
    document_type_in,
    parse_person_count,
    says_no_pre_application,
)
from actions.appointments.reminders import offer_reminder
from actions.appointments.slots import SlotAnswers
from actions.common import button, channel_of, clean_surname, entity_values, intent_of, read_yes_no, text_of
from actions.core import pseudonym
from actions.forms import OUTCOME_SLOT, FormDone, FormValidation, guarded
from booking import attempts, engine
from core import clock
from core.text import fold

logger = logging.getLogger(__name__)

BOOKING_SLOTS = (
    "document_type",
    "person_count",
    "application_ids",
    "application_ids_partial",
    "booking_site",
    "booking_when",
    "booking_slot",
    "booking_offset",
    "booking_offered",
    "booking_surname",
    "booking_confirmed",
    "booking_reference",
    "booking_ants_flag",
)


def surname_answer(form: FormValidation, dispatcher, tracker: Tracker, slot: str) -> Dict[str, Any]:
    """A form's surname question: the cleaned name (« N’Diaye », « Lœuillet »…), or a failure."""
    if tracker.get_slot("requested_slot") != slot:
        return {}
    surname = clean_surname(text_of(tracker))
    if surname is None:
        return form.fail(dispatcher, tracker, slot, "utter_surname_not_understood")
    return form.filled(**{slot: surname})


# ---- the questions whose wording depends on the answers ------------------------------------


class ActionAskPersonCount(Action):
    def name(self) -> str:
        return "action_ask_person_count"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_person_count", **facts())
        return []


class ActionAskApplicationIds(Action):
    def name(self) -> str:
        return "action_ask_application_ids"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        people = int(tracker.get_slot("person_count") or 1)
        have = len(tracker.get_slot("application_ids_partial") or [])
        if have:
            dispatcher.utter_message(
                response="utter_ask_application_ids_next", number=have + 1, people=people
            )
        elif people > 1:
            dispatcher.utter_message(response="utter_ask_application_ids_each", people=people)
        else:
            dispatcher.utter_message(response="utter_ask_application_ids")
        return []


class ActionAskBookingSite(Action):
    def name(self) -> str:
        return "action_ask_booking_site"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        buttons = [button(site.name, "inform", choice=site.id) for site in BOOKING_CONFIG.sites]
        lines = [f"• {site.name} : {site.address}" for site in BOOKING_CONFIG.sites]
        dispatcher.utter_message(response="utter_ask_booking_site", sites="\n".join(lines), buttons=buttons)
        return []


class ActionAskBookingConfirmed(Action):
    def name(self) -> str:
        return "action_ask_booking_confirmed"

    @guarded(TOPIC)
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slot = engine.Slot.from_key(tracker.get_slot("booking_slot"), duration_of(tracker))
        site = BOOKING_CONFIG.site(slot.site_id)
        ids = tracker.get_slot("application_ids")
        ids = [] if ids == "papier" or not ids else ids
        dispatcher.utter_message(
            response="utter_ask_booking_confirmed" if ids else "utter_ask_booking_confirmed_paper",
            what=REASON_LABELS[reason_of(tracker)].capitalize(),
            people=people_fr(int(tracker.get_slot("person_count") or 1)),
            when=when_fr(slot.start),
            duration=duration_fr(slot.duration_minutes),
            site=site.name,
            address=f"{site.address}, {site.zip_code} {site.city}",
            surname=tracker.get_slot("booking_surname"),
            ids=", ".join(ids),
        )
        return []


# ---- reading the answers ------------------------------------------------------------------


class ValidateBookingForm(SlotAnswers, FormValidation):
    form = "booking_form"
    topic = TOPIC
    restart_intent = "book_appointment"
    working_slots = ("application_ids_partial", "booking_offset", "booking_offered", "booking_reference",
                     "booking_ants_flag")  # fmt: skip
    extra_exits = {"cancel_appointment": "stopped"}
    name_slots = ("booking_surname",)

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if len(BOOKING_CONFIG.sites) == 1:
            return [s for s in domain_slots if s != "booking_site"]
        return domain_slots

    def is_answer(self, tracker: Tracker, requested: str | None) -> bool:
        # « je n'ai pas de pré-demande » may be read as a question about pre-applications.
        if requested == "application_ids" and intent_of(tracker) == "id_documents_info":
            return says_no_pre_application(tracker)
        return super().is_answer(tracker, requested)

    @staticmethod
    def _requested(tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    async def extract_document_type(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = self._requested(tracker, "document_type")
        value = document_type_in(tracker, requested)
        current = tracker.get_slot("document_type")
        if value is None:
            return (
                self.fail(dispatcher, tracker, "document_type", "utter_document_type_not_understood")
                if requested
                else {}
            )
        if value == current:
            return {}
        events = self.filled(document_type=value)
        if current and tracker.get_slot("booking_slot"):
            # The appointment length changes: the chosen slot may no longer fit.
            events.update(booking_slot=None, booking_confirmed=None, booking_offset=0)
            dispatcher.utter_message(
                response="utter_document_type_changed_new_slots", document=DOCUMENT_LABELS[value]
            )
        elif current:
            dispatcher.utter_message(response="utter_document_type_changed", document=DOCUMENT_LABELS[value])
        return events

    async def extract_person_count(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = self._requested(tracker, "person_count")
        count = parse_person_count(tracker, requested)
        current = tracker.get_slot("person_count")
        if count is None:
            if requested and document_type_in(tracker, False) is None:
                return self.fail(dispatcher, tracker, "person_count", "utter_person_count_not_understood")
            return {}
        if not 1 <= count <= BOOKING_CONFIG.max_people:
            return self.fail(dispatcher, tracker, "person_count", "utter_person_count_too_many",
                             max_people=BOOKING_CONFIG.max_people, phone=phone())  # fmt: skip
        if current is not None and int(current) == count:
            return {}
        events = self.filled(person_count=count)
        if current is not None:
            ids = tracker.get_slot("application_ids")
            if isinstance(ids, list) and len(ids) != count:
                events.update(application_ids=None, application_ids_partial=ids[:count])
            if tracker.get_slot("booking_slot"):
                events.update(booking_slot=None, booking_confirmed=None, booking_offset=0)
            dispatcher.utter_message(response="utter_person_count_changed", people=people_fr(count))
        return events

    async def extract_application_ids(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = self._requested(tracker, "application_ids")
        found = application_ids_of(tracker)
        if not found:
            if not requested:
                return {}
            if says_no_pre_application(tracker):
                dispatcher.utter_message(response="utter_no_pre_application")
                return self.filled(application_ids="papier", application_ids_partial=None)
            if ALMOST_ID.search(text_of(tracker)):
                return self.fail(dispatcher, tracker, "application_ids", "utter_application_id_invalid")
            return self.fail(dispatcher, tracker, "application_ids", "utter_application_id_missing")
        # A number held by someone else's appointment is a failed try (booking/attempts.py), like
        # a wrong surname for a reference: the numbers of a conversation that has too many are
        # not looked up any more, whatever they are.
        keys = {a: attempts.keys_for("appointment", a, channel_of(tracker), tracker.sender_id) for a in found}
        if await asyncio.to_thread(attempts.is_locked, [k for pair in keys.values() for k in pair]):
            dispatcher.utter_message(response="utter_cannot_verify", phone=phone())
            return {OUTCOME_SLOT: "blocked"}
        people = int(tracker.get_slot("person_count") or 1)
        collected = list(dict.fromkeys((tracker.get_slot("application_ids_partial") or []) + found))[:people]
        site = (chosen_sites(tracker) or list(SITE_NAMES))[0]
        problems, flag, refused = await check_with_ants(found, site)
        if refused:
            logger.warning("booking refused: ANTS down (conversation %s)", pseudonym(tracker.sender_id))
            dispatcher.utter_message(response="utter_ants_down", phone=phone())
            dispatcher.utter_message(response="utter_booking_blocked")
            return {OUTCOME_SLOT: "blocked"}
        for reason in problems.values():
            if reason:
                dispatcher.utter_message(response="utter_application_id_refused", reason=reason)
            else:
                dispatcher.utter_message(response="utter_application_id_unchecked")
        local = await asyncio.to_thread(agenda().appointments_for_applications, found)
        booked = {a: appts[0] for a, appts in local.items() if appts and a not in problems}
        mine = {a.reference for a in await asyncio.to_thread(own_appointments, tracker)} if booked else set()
        for application_id, appt in booked.items():
            if appt.reference in mine:  # booked in this conversation: its reference and date may be said
                dispatcher.utter_message(response="utter_application_id_booked", reference=appt.reference,
                                         application_id=application_id, when=when_fr(appt.start))  # fmt: skip
                continue
            # Someone else's appointment, or this citizen's from another device: never its
            # reference or date (the manage flow shows them with the reference and the surname).
            if (await asyncio.to_thread(attempts.record_failure, keys[application_id])).locked:
                logger.info("pre-application lookups locked (conversation %s)", pseudonym(tracker.sender_id))
                dispatcher.utter_message(response="utter_cannot_verify", phone=phone())
                return {OUTCOME_SLOT: "blocked"}
            dispatcher.utter_message(
                response="utter_application_already_booked", application_id=application_id
            )
        if problems or booked:
            collected = [a for a in collected if a not in problems and a not in booked]
            return {"application_ids": None, "application_ids_partial": collected or None}
        events = self.filled(booking_ants_flag=flag or None)
        if len(collected) < people:
            return {**events, "application_ids": None, "application_ids_partial": collected}
        return {**events, "application_ids": collected, "application_ids_partial": None}

    async def extract_booking_site(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if not self._requested(tracker, "booking_site"):
            return {}
        choice = next(iter(entity_values(tracker, "choice")), None)
        if choice in SITE_NAMES or choice == "any":
            return self.filled(booking_site=choice)
        text = fold(text_of(tracker))
        if re.search(r"peu importe|n'importe|egal|le plus (tot|vite|proche)|pas de preference", text):
            return self.filled(booking_site="any")
        for site in BOOKING_CONFIG.sites:
            words = [w for w in fold(site.name).split() if len(w) > 3 and w not in ("mairie", "annexe")]
            if text and (fold(site.name) in text or any(w in text for w in words)):
                return self.filled(booking_site=site.id)
        if re.search(r"\bmairie\b|\bcentre\b|\bprincipal", text):
            return self.filled(booking_site=BOOKING_CONFIG.sites[0].id)
        return self.fail(dispatcher, tracker, "booking_site", "utter_site_not_understood")

    async def extract_booking_surname(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return surname_answer(self, dispatcher, tracker, "booking_surname")

    async def extract_booking_confirmed(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if not self._requested(tracker, "booking_confirmed"):
            return {}
        answer = read_yes_no(tracker)
        if answer is None:
            return self.fail(
                dispatcher, tracker, "booking_confirmed", "utter_booking_confirmed_not_understood"
            )
        if not answer:
            return self.filled(booking_confirmed=False)
        return await self._book(dispatcher, tracker)

    async def _book(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        slot = engine.Slot.from_key(tracker.get_slot("booking_slot"), duration_of(tracker))
        ids = tracker.get_slot("application_ids")
        ids = [] if ids == "papier" or not ids else ids
        try:
            appt = await agenda().book(
                slot,
                reason=reason_of(tracker),
                people=int(tracker.get_slot("person_count") or 1),
                surname=tracker.get_slot("booking_surname"),
                channel=channel_of(tracker),
                sender_id=tracker.sender_id,
                application_ids=ids,
                needs_agent_check=bool(tracker.get_slot("booking_ants_flag")),
                now=clock.now(),
                config=BOOKING_CONFIG,
            )
        except (engine.SlotTaken, engine.SlotNotOffered):
            dispatcher.utter_message(response="utter_slot_taken")
            return self.filled(booking_slot=None, booking_confirmed=None, booking_offset=0)
        except engine.ApplicationAlreadyBooked as exc:
            dispatcher.utter_message(
                response="utter_application_already_booked", application_id=exc.application_id
            )
            return self.filled(booking_confirmed=False)
        except engine.TooManyAppointments as exc:
            logger.info("booking refused: limit of active appointments per %s (conversation %s)", exc.kind,
                        pseudonym(tracker.sender_id))  # fmt: skip
            dispatcher.utter_message(response="utter_too_many_appointments", phone=phone())
            return {OUTCOME_SLOT: "blocked"}
        logger.info(
            "appointment booked (conversation %s, %s documents)", pseudonym(tracker.sender_id), appt.documents
        )
        flagged = await declare_to_ants(appt) if ids else False
        return self.filled(
            booking_confirmed=True,
            booking_reference=appt.reference,
            booking_ants_flag=flagged or None,
        )


# ---- the end --------------------------------------------------------------------------------


class ActionBookingDone(FormDone):
    """After the form: the confirmation with the checklist, or why nothing was booked."""

    form = "booking_form"
    topic = TOPIC
    restart_intent = "book_appointment"
    slots = BOOKING_SLOTS
    stopped_response = "utter_appointment_stopped"

    @guarded(TOPIC)
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        reference = tracker.get_slot("booking_reference")
        if not reference:
            dispatcher.utter_message(response="utter_booking_not_made")
            return self.forget()
        appt = await asyncio.to_thread(
            agenda().get_appointment, reference, sender=(channel_of(tracker), tracker.sender_id)
        )
        passport = appt.reason in ("PASSPORT", "CNI-PASSPORT")
        paper = not appt.application_ids
        dispatcher.utter_message(
            response="utter_booking_confirmed_"
            + ("passport" if passport else "cni")
            + ("_paper" if paper else "_online"),
            reference=appt.reference,
            when=when_fr(appt.start),
            site=appt.site_name,
            address=appt.site_address,
            **facts(),
        )
        if tracker.get_slot("booking_ants_flag"):
            dispatcher.utter_message(response="utter_booking_ants_check")
        if channel_of(tracker) == "facebook":  # Messenger shows it as a card with its two actions
            dispatcher.utter_message(elements=[appointment_card(appt)])
        return self.forget() + offer_reminder(dispatcher, tracker, appt)
