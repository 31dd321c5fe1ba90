"""The commune's booking rules and the values the appointment answers show.

Values only (a formatted date, « 2 personnes », a line per appointment): the sentences
are responses of domain/appointments.yml.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, List, Sequence

from rasa_sdk import Tracker

from actions.common import Button, button, channel_of
from actions.forms import service_phone
from booking import engine
from booking.config import BookingConfig, load_booking_config, load_bulky_booking_config
from booking.connector import BookingBackend, booking_backend
from booking.facts import load_national_facts
from core import clock
from core.text import format_date_fr, format_short_date_fr, format_time_fr

TOPIC = "appointments"  # the territory topic: its service's phone is the way out
BOOKING_CONFIG = load_booking_config()
SITE_NAMES = {site.id: site.name for site in BOOKING_CONFIG.sites}  # identity sites (offered when booking)
ALL_SITE_NAMES = {site.id: site.name for site in BOOKING_CONFIG.sites + load_bulky_booking_config().sites}
SLOTS_PER_PAGE = 4

DOCUMENT_LABELS = {
    "cni": "carte d'identité",
    "passeport": "passeport",
    "les_deux": "carte d'identité et passeport",
}
REASON_LABELS = {
    "CNI": "carte d'identité",
    "PASSPORT": "passeport",
    "CNI-PASSPORT": "carte d'identité et passeport",
    "ENCOMBRANTS": "enlèvement d'encombrants",
}


def phone() -> str:
    return service_phone(TOPIC)


def facts() -> Dict[str, str]:
    """The national facts as response variables ({passport_adult_fee}, {photo_max_age}…)."""
    return load_national_facts().values()


def reason_of(tracker: Tracker) -> str:
    return engine.DOCUMENT_REASON[tracker.get_slot("document_type") or "cni"]


def duration_of(tracker: Tracker) -> int:
    people = int(tracker.get_slot("person_count") or 1)
    return engine.duration_for(reason_of(tracker), people, BOOKING_CONFIG)


def chosen_sites(tracker: Tracker) -> List[str]:
    site = tracker.get_slot("booking_site")
    return [site] if site and site != "any" else list(SITE_NAMES)


def config_of(appt: engine.AppointmentView) -> BookingConfig:
    """The booking rules of an appointment's service (identity or bulky-waste rounds)."""
    return load_bulky_booking_config() if appt.reason == "ENCOMBRANTS" else BOOKING_CONFIG


def agenda() -> BookingBackend:
    """The agenda of the appointments (booking/connector.py: the local engine or Publik Chrono)."""
    return booking_backend()


def own_appointments(tracker: Tracker) -> List[engine.AppointmentView]:
    return agenda().appointments_of(channel_of(tracker), tracker.sender_id, now=clock.now())


def managed_appointment(tracker: Tracker) -> engine.AppointmentView:
    """The appointment a cancel or move form is about (its booker, or reference + surname)."""
    return agenda().get_appointment(
        tracker.get_slot("appointment_ref"),
        surname=tracker.get_slot("appointment_surname"),
        sender=(channel_of(tracker), tracker.sender_id),
    )


# ---- values shown to citizens ---------------------------------------------------------------


def when_fr(start: datetime) -> str:
    """« mardi 1er décembre à 10 h »."""
    return f"{format_date_fr(start.date())} à {format_time_fr(start.time())}"


def short_slot_fr(slot: engine.Slot, site_names: Dict[str, str] | None = None) -> str:
    """« mar. 1 déc. 10 h 15 » (+ « — Coteaux » when several sites are offered)."""
    start = slot.start
    day = format_short_date_fr(start.date())
    text = f"{day} {format_time_fr(start.time())}"
    if site_names and len(site_names) > 1:
        text += f" — {site_names.get(slot.site_id, slot.site_id)}"
    return text


def slot_buttons(slots: Sequence[engine.Slot], site_names: Dict[str, str], more: bool) -> List[Button]:
    buttons = [button(short_slot_fr(s, site_names), "inform", choice=s.key) for s in slots]
    if more:
        buttons.append(button("D'autres créneaux", "inform", choice="more"))
    buttons.append(button("Un autre jour", "inform", choice="other_day"))
    return buttons


def duration_fr(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minutes"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} heure" + ("s" if hours > 1 else "")


def people_fr(count: int) -> str:
    return "1 personne" if count == 1 else f"{count} personnes"


def appointment_line(appt: engine.AppointmentView) -> str:
    if appt.reason == "ENCOMBRANTS":
        day = format_date_fr(appt.start.date())
        return f"• {appt.reference} : {REASON_LABELS[appt.reason]} le {day} au matin"
    return (
        f"• {appt.reference} : {REASON_LABELS[appt.reason]}, {people_fr(appt.people)}, "
        f"le {when_fr(appt.start)}, {appt.site_name}"
    )
