"""The free slots offered (four at a time, « D'autres créneaux », « Un autre jour ») and the
reading of the day and slot answers, shared by the booking and the move forms."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments.context import (
    BOOKING_CONFIG,
    SITE_NAMES,
    SLOTS_PER_PAGE,
    TOPIC,
    agenda,
    chosen_sites,
    config_of,
    duration_of,
    managed_appointment,
    phone,
    slot_buttons,
)
from actions.appointments.reading import MAX_ANSWER_CHARS, pick_offered, when_from_dict, when_to_dict
from actions.common import entity_values, intent_of, offered_choice, text_of
from actions.forms import guarded
from booking import engine
from booking.config import BookingConfig
from core import clock
from core.dates import (
    MAX_DATE_CHARS,
    DateInPast,
    DateNotUnderstood,
    InvalidDate,
    When,
    describe_when_fr,
    parse_when,
)
from core.text import clip, fold, format_date_fr

Note = Tuple[str, Dict[str, str]]  # a response name and its values


async def offered_slots(
    tracker: Tracker, duration: int, config: BookingConfig | None = None, sites: List[str] | None = None
) -> tuple[List[engine.Slot], bool, Note | None]:
    """The slots to show now, whether more exist, and a note when the wish could not be met."""
    config = config or BOOKING_CONFIG
    backend = agenda()
    data = tracker.get_slot("booking_when")
    when = when_from_dict(data) if data else None
    offset = int(tracker.get_slot("booking_offset") or 0)
    sites, now = sites or chosen_sites(tracker), clock.now()
    today = engine.local_now(now).date()
    horizon = today + timedelta(days=config.booking_window_days)
    if when is None:
        when = When(today, horizon, None, None, None, False)
    found = await backend.available_slots(
        sites,
        when.start,
        when.end,
        duration,
        now=now,
        time_from=when.time_from,
        time_to=when.time_to,
        preferred_time=when.preferred_time,
        limit=SLOTS_PER_PAGE + 1,
        offset=offset,
        config=config,
    )
    if found:
        return found[:SLOTS_PER_PAGE], len(found) > SLOTS_PER_PAGE, None
    note = await no_slot_note(when, sites, today, offset)
    # Nothing matches: the nearest free slots from the wished day on, at any time.
    found = await backend.available_slots(
        sites, max(when.start, today), horizon, duration, now=now, limit=SLOTS_PER_PAGE + 1, config=config
    )
    if not found and when.start > today:
        found = await backend.available_slots(
            sites, today, horizon, duration, now=now, limit=5, config=config
        )
    return found[:SLOTS_PER_PAGE], False, note


async def no_slot_note(when: When, sites: List[str], today: date, offset: int) -> Note:
    """Why the wish could not be met: a response of domain/appointments.yml and its values."""
    horizon = today + timedelta(days=BOOKING_CONFIG.booking_window_days)
    if offset:
        return "utter_no_other_slot", {}
    if when.start > horizon:
        return "utter_no_slot_beyond_window", {"horizon": format_date_fr(horizon)}
    if when.specific_day:
        day = format_date_fr(when.start)
        backend = agenda()
        reasons = {await backend.closed_reason(site, when.start) for site in sites}
        if None not in reasons:
            if len(reasons) == 1:
                return "utter_no_slot_closed_day", {"day": day, "reason": next(iter(reasons))}
            return "utter_no_slot_closed_sites", {"day": day}
        return "utter_no_slot_day_full", {"day": day}
    if when.start <= today and when.end >= horizon:
        return "utter_no_slot_for_choice", {}
    return "utter_no_slot_in_period", {"period": describe_when_fr(when, today)}


class ActionAskBookingSlot(Action):
    def name(self) -> str:
        return "action_ask_booking_slot"

    @guarded(TOPIC)
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        config = await asyncio.to_thread(self.config, tracker)
        sites = [site.id for site in config.sites] if config is not BOOKING_CONFIG else chosen_sites(tracker)
        duration = await asyncio.to_thread(self.duration, tracker)
        slots, more, note = await offered_slots(tracker, duration, config, sites)
        current = await asyncio.to_thread(self.current_start, tracker)
        slots = [s for s in slots if s.start != current]
        names = {site.id: site.name for site in config.sites if site.id in sites}
        if note:
            response, values = note
            dispatcher.utter_message(response=response, **values)
        if not slots:
            dispatcher.utter_message(response="utter_no_slot_at_all", phone=phone())
            return []
        dispatcher.utter_message(
            response="utter_ask_slot_nearest" if note else "utter_ask_slot",
            buttons=slot_buttons(slots, names, more),
        )
        return [SlotSet("booking_offered", [s.key for s in slots])]

    def duration(self, tracker: Tracker) -> int:
        return duration_of(tracker)

    def config(self, tracker: Tracker) -> BookingConfig:
        return BOOKING_CONFIG

    def current_start(self, tracker: Tracker) -> datetime | None:
        """The start of the appointment being moved (not offered again); none when booking."""
        return None


class ActionAskRescheduleSlot(ActionAskBookingSlot):
    """The slots offered for a move: same length as the appointment, at any site of its service."""

    def name(self) -> str:
        return "action_ask_reschedule_form_booking_slot"

    def duration(self, tracker: Tracker) -> int:
        return managed_appointment(tracker).duration_minutes

    def current_start(self, tracker: Tracker) -> datetime | None:
        return managed_appointment(tracker).start

    def config(self, tracker: Tracker) -> BookingConfig:
        return config_of(managed_appointment(tracker))


class SlotAnswers:
    """Mixin of the booking and move forms (FormValidation subclasses): the day wished and
    the slot chosen."""

    async def _parse_when(self, dispatcher, tracker, text: str) -> Dict[str, Any] | None:
        """booking_when from free text, or a failure; None when the text holds no date at all."""
        try:
            # CPU work (regular expressions, dateparser) off the event loop
            when = await asyncio.to_thread(parse_when, text, clock.now(), BOOKING_CONFIG.booking_window_days)
        except DateNotUnderstood:
            return None
        except InvalidDate:
            return self.fail(dispatcher, tracker, "booking_when", "utter_date_does_not_exist")
        except DateInPast as exc:
            return self.fail(
                dispatcher, tracker, "booking_when", "utter_date_in_past", day=format_date_fr(exc.day)
            )
        return self.filled(booking_when=when_to_dict(when), booking_offset=0)

    async def extract_booking_when(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested == "booking_when":
            text = clip(text_of(tracker), MAX_DATE_CHARS)
            if not text and entity_values(tracker, "choice"):
                return {}
            parsed = await self._parse_when(dispatcher, tracker, text)
            if parsed is None:
                return self.fail(dispatcher, tracker, "booking_when", "utter_date_not_understood")
            return parsed
        if requested is None and intent_of(tracker) == "book_appointment":
            # The first message: "rdv jeudi matin" — only its date and time words.
            words = entity_values(tracker, "date") + entity_values(tracker, "time")
            if words:
                return await self._parse_when(dispatcher, tracker, " ".join(words)) or {}
        return {}

    async def slot_sites(self, tracker: Tracker) -> List[str]:
        """The sites whose slots this form books (the booking form: the identity sites)."""
        return list(SITE_NAMES)

    async def _valid_slot_key(self, tracker: Tracker, choice: str, offered: Any) -> bool:
        """A slot button's value: one of the slots offered, well formed, of this form's service
        (a forged key, another service's site, a huge string is no answer)."""
        if offered_choice(choice, offered) is None:
            return False
        try:
            site_id = engine.Slot.from_key(choice, 0).site_id
        except ValueError:
            return False
        return site_id in await self.slot_sites(tracker)

    async def extract_booking_slot(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "booking_slot":
            return {}
        choice = next(iter(entity_values(tracker, "choice")), None)
        offered = tracker.get_slot("booking_offered")
        offered = offered if isinstance(offered, list) else []
        if choice == "more":
            offset = int(tracker.get_slot("booking_offset") or 0) + SLOTS_PER_PAGE
            return self.filled(booking_slot=None, booking_offset=offset)
        if choice == "other_day":
            dispatcher.utter_message(response="utter_other_day")
            return self.filled(booking_slot=None, booking_when=None, booking_offset=0)
        if choice and "@" in choice:
            if await self._valid_slot_key(tracker, choice, offered):
                return self.filled(booking_slot=choice)
            return self.fail(dispatcher, tracker, "booking_slot", "utter_slot_not_understood")
        text = fold(clip(text_of(tracker), MAX_ANSWER_CHARS))
        picked = pick_offered(text, offered)
        if picked:
            return self.filled(booking_slot=picked)
        if text:
            parsed = await self._parse_when(dispatcher, tracker, text)
            if parsed is not None:
                return {**parsed, "booking_slot": None} if parsed.get("booking_when") else parsed
        return self.fail(dispatcher, tracker, "booking_slot", "utter_slot_not_understood")
