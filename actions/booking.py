"""Identity-document appointments in the chat: book (form), list, cancel, reschedule.

The forms' slots use custom mappings: every message is read here (entities,
intent and text together), so "rdv passeport pour 2 personnes jeudi" fills three
answers at once, "finalement un passeport" changes the document at any step, and
a question asked mid-form fills nothing — the form then steps aside for the
question's rule and comes back (rules in data/rules/booking.yml).

The booking itself happens when the citizen confirms (extract_booking_confirmed):
the database refuses a slot taken meanwhile, and the citizen is offered others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import booking_texts as texts
from actions.core import TERRITORY, pseudonym
from booking import engine
from booking.ants import AntsClient, AntsError, AntsSettings, AntsUnavailable, describe_unavailable_fr
from booking.config import BookingConfig, load_booking_config, load_bulky_booking_config
from core import clock
from core.dates import (
    NUMBER_WORDS,
    DateInPast,
    DateNotUnderstood,
    InvalidDate,
    When,
    describe_when_fr,
    parse_when,
)
from core.text import fold, format_date_fr

logger = logging.getLogger(__name__)
# rasa-sdk warns for every slot without a validate_<slot> method: extraction validates here.
logging.getLogger("rasa_sdk.forms").setLevel(logging.ERROR)

BOOKING_CONFIG = load_booking_config()
SITE_NAMES = {site.id: site.name for site in BOOKING_CONFIG.sites}  # identity sites (offered when booking)
ALL_SITE_NAMES = {site.id: site.name for site in BOOKING_CONFIG.sites + load_bulky_booking_config().sites}
SERVICE_PHONE = TERRITORY.services[TERRITORY.service_for(topic="appointments")].phone
SLOTS_PER_PAGE = 4
MAX_FAILURES = 3
MAX_VERIFY_ATTEMPTS = 3

# Intents that are questions or commands, not answers: a form fills nothing from
# them, steps aside, and the rule for that intent runs (then the form resumes).
DIGRESSIONS = {
    "stop",
    "human_handoff",
    "id_documents_info",
    "help",
    "bot_challenge",
    "opening_hours",
    "cancel_appointment",
}

BOOKING_SLOTS = (
    "document_type",
    "person_count",
    "application_ids",
    "application_ids_partial",
    "booking_site",
    "booking_when",
    "booking_slot",
    "booking_offset",
    "booking_surname",
    "booking_confirmed",
    "booking_failures",
    "booking_reference",
    "booking_blocked",
    "booking_ants_flag",
)
MANAGE_SLOTS = (
    "appointment_ref",
    "appointment_surname",
    "manage_confirmed",
    "verify_attempts",
    "manage_done",
)

_APPLICATION_ID = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{10}(?![A-Za-z0-9])")
_ALMOST_ID = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{7,13}(?![A-Za-z0-9])")
_REFERENCE = re.compile(r"\bRDV[\s-]?([A-Za-z0-9]{6})\b", re.IGNORECASE)
_SURNAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿ' -]{1,60}$")
ALONE = (
    "moi seul",
    "moi seule",
    "juste moi",
    "que moi",
    "seulement moi",
    "uniquement moi",
    "moi uniquement",
    "pour moi",
    "juste pour moi",
    "je suis seul",
    "je suis seule",
    "seul",
    "seule",
    "moi",
)


# ---- reading a message ------------------------------------------------------------------


def intent_of(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def text_of(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text  # a button payload carries entities, not words


def entity_values(tracker: Tracker, name: str) -> List[str]:
    return [
        str(e.get("value")) for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name
    ]


def is_digression(tracker: Tracker) -> bool:
    return intent_of(tracker) in DIGRESSIONS


def is_name_answer(tracker: Tracker) -> bool:
    """A name asked for and given: the NLU may read « Marchand » as a question (help, 0.58),
    but a short answer without a question mark and without a confident question intent
    is the name; « stop » and « annuler » always stop."""
    text = text_of(tracker)
    confidence = (tracker.latest_message.get("intent") or {}).get("confidence") or 0.0
    if (
        intent_of(tracker) in ("stop", "human_handoff", "cancel_appointment")
        or "?" in text
        or confidence >= 0.9
    ):
        return False
    short = len(text.split()) <= 3
    return short and (clean_surname(text) is not None or "@" in text)


def is_question_not_name(tracker: Tracker) -> bool:
    return is_digression(tracker) and not is_name_answer(tracker)


def document_type_in(tracker: Tracker, requested: bool) -> str | None:
    """cni | passeport | les_deux from the message, if it names one."""
    values = {fold(v) for v in entity_values(tracker, "document_type")}
    values = {
        "passeport" if v.startswith("pass") else "cni" if v in ("cni", "carte", "ci") else v for v in values
    }
    text = fold(text_of(tracker))
    if "les_deux" in values or {"cni", "passeport"} <= values:
        return "les_deux"
    if requested and re.search(r"\bles (deux|2)\b|\bd?es deux\b|\bcni et passeport\b", text):
        return "les_deux"
    for value in ("cni", "passeport"):
        if value in values:
            return value
    if requested:
        if re.search(r"\bpass?(e?port)?\b", text):
            return "passeport"
        if re.search(r"\b(cni|carte|identite)\b", text):
            return "cni"
    return None


_HEAD_COUNT = re.compile(
    r"\b(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\s*(personnes?|pers\b|adultes?|enfants?)"
)


def parse_person_count(tracker: Tracker, requested: bool) -> int | None:
    for value in entity_values(tracker, "person_count"):
        number = NUMBER_WORDS.get(fold(value)) or (int(value) if value.isdigit() else None)
        if number:
            return number
    text = fold(text_of(tracker))
    explicit = _HEAD_COUNT.search(text)  # « pour 2 personnes », even when the NLU missed the entity
    if explicit:
        word = explicit.group(1)
        return int(word) if word.isdigit() else NUMBER_WORDS[word]
    if not requested:
        return None
    match = re.search(r"\b(\d{1,2})\b", text)
    if match:
        return int(match.group(1))
    for word, number in NUMBER_WORDS.items():
        if word in ("un", "une"):
            # « un passeport » is not a head count; « une », « une personne » are.
            if re.fullmatch(r"(juste |seulement )?(un|une)( seule)?( personne| pers)?", text):
                return 1
        elif re.search(rf"\b{word}\b", text):
            return number
    if re.search(r"\b(nous|on)\s+(deux|2)\b|\ba deux\b|\bmoi et (mon|ma)\b", text):
        return 2
    if any(re.search(rf"\b{phrase}\b", text) for phrase in ALONE):
        return 1
    return None


def application_ids_in(text: str) -> List[str]:
    """10-character pre-application numbers: letters and digits mixed, or all capitals."""
    found = []
    for token in _APPLICATION_ID.findall(text or ""):
        mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if mixed or token.isupper() or token.isdigit():
            found.append(token.upper())
    return list(dict.fromkeys(found))


def says_no_pre_application(tracker: Tracker) -> bool:
    text = fold(text_of(tracker))
    if re.search(
        r"papier|formulaire|cerfa|pas (de|fait|eu)|aucun|n'ai pas|j'en ai pas|jen ai pas|sur place", text
    ):
        return True
    return intent_of(tracker) == "deny"


def when_to_dict(when: When) -> Dict[str, Any]:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in asdict(when).items()
    }


def when_from_dict(data: Dict[str, Any]) -> When:
    def t(v):
        return time.fromisoformat(v) if v else None

    return When(
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        time_from=t(data.get("time_from")),
        time_to=t(data.get("time_to")),
        preferred_time=t(data.get("preferred_time")),
        specific_day=bool(data.get("specific_day")),
    )


def now_paris() -> datetime:
    return clock.now()


def reason_of(tracker: Tracker) -> str:
    return engine.DOCUMENT_REASON[tracker.get_slot("document_type") or "cni"]


def duration_of(tracker: Tracker) -> int:
    people = int(tracker.get_slot("person_count") or 1)
    return engine.duration_for(reason_of(tracker), people, BOOKING_CONFIG)


def chosen_sites(tracker: Tracker) -> List[str]:
    site = tracker.get_slot("booking_site")
    return [site] if site and site != "any" else list(SITE_NAMES)


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "inconnu"


def ants_settings() -> AntsSettings:
    return AntsSettings.from_env()


# ---- the booking database may be down: say it, never crash ------------------------------


def database_down_text() -> str:
    return (
        "Le service de rendez-vous est momentanément indisponible, désolé. Rien n'a été réservé ni "
        f"modifié. Réessayez dans quelques minutes, ou appelez le {SERVICE_PHONE}."
    )


def guarded(run):
    """Wrap an action's run(): a database failure becomes a French message and a log line."""

    @functools.wraps(run)
    async def wrapper(self, dispatcher, tracker, domain):
        try:
            return await run(self, dispatcher, tracker, domain)
        except (SQLAlchemyError, OSError):
            logger.exception("booking database unavailable in %s (conversation %s)", self.name(),
                             pseudonym(tracker.sender_id))  # fmt: skip
            dispatcher.utter_message(
                text=database_down_text(), buttons=[texts.button("Parler à un agent", "human_handoff")]
            )
            return []

    return wrapper


# ---- offering slots -----------------------------------------------------------------------


def config_of(appt: engine.AppointmentView) -> BookingConfig:
    """The booking rules of an appointment's service (identity or bulky-waste rounds)."""
    return load_bulky_booking_config() if appt.reason == "ENCOMBRANTS" else BOOKING_CONFIG


def offered_slots(
    tracker: Tracker, duration: int, config: BookingConfig | None = None, sites: List[str] | None = None
) -> tuple[List[engine.Slot], bool, str | None]:
    """The slots to show now, whether more exist, and a note when the wish could not be met."""
    config = config or BOOKING_CONFIG
    data = tracker.get_slot("booking_when")
    when = when_from_dict(data) if data else None
    offset = int(tracker.get_slot("booking_offset") or 0)
    sites, now = sites or chosen_sites(tracker), now_paris()
    today = engine.local_now(now).date()
    horizon = today + timedelta(days=config.booking_window_days)
    if when is None:
        when = When(today, horizon, None, None, None, False)
    found = engine.available_slots(
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
    note = no_slot_note(when, sites, today, offset)
    # Nothing matches: the nearest free slots from the wished day on, at any time.
    found = engine.available_slots(
        sites,
        max(when.start, today),
        horizon,
        duration,
        now=now,
        limit=SLOTS_PER_PAGE + 1,
        config=config,
    )
    if not found and when.start > today:
        found = engine.available_slots(sites, today, horizon, duration, now=now, limit=5, config=config)
    return found[:SLOTS_PER_PAGE], False, note


def no_slot_note(when: When, sites: List[str], today: date, offset: int) -> str:
    horizon = today + timedelta(days=BOOKING_CONFIG.booking_window_days)
    if offset:
        return "Il n'y a pas d'autre créneau libre pour ce choix."
    if when.start > horizon:
        return f"Les réservations sont ouvertes jusqu'au {format_date_fr(horizon)} seulement."
    if when.specific_day:
        reasons = {engine.closed_reason(site, when.start) for site in sites}
        if None not in reasons:
            reason = next(iter(reasons)) if len(reasons) == 1 else "fermé"
            return f"Pas de rendez-vous le {format_date_fr(when.start)} ({reason})."
        return f"Plus aucun créneau libre le {format_date_fr(when.start)}."
    if when.start <= today and when.end >= horizon:
        return "Aucun créneau libre ne correspond à ce choix."
    return f"Aucun créneau libre {describe_when_fr(when, today)}."


class ActionAskBookingSlot(Action):
    def name(self) -> str:
        return "action_ask_booking_slot"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        config = await asyncio.to_thread(self.config, tracker)
        sites = [site.id for site in config.sites] if config is not BOOKING_CONFIG else chosen_sites(tracker)
        slots, more, note = await asyncio.to_thread(
            lambda: offered_slots(tracker, self.duration(tracker), config, sites)
        )
        current = await asyncio.to_thread(self.current_start, tracker)
        slots = [s for s in slots if s.start != current]
        names = {site.id: site.name for site in config.sites if site.id in sites}
        if not slots:
            dispatcher.utter_message(
                text=(note + " " if note else "")
                + f"Il n'y a plus de créneau libre sur la période ouverte. Appelez le {SERVICE_PHONE} : "
                "des créneaux se libèrent chaque jour.",
                buttons=[texts.button("Parler à un agent", "human_handoff"), texts.button("Arrêter", "stop")],
            )
            return []
        intro = "Voici les créneaux libres les plus proches" if note else "Voici les créneaux libres"
        dispatcher.utter_message(
            text=(note + " " if note else "") + intro + " : lequel vous convient ?",
            buttons=texts.slot_buttons(slots, names, more),
        )
        return [SlotSet("booking_offered", [s.key for s in slots])]

    def duration(self, tracker: Tracker) -> int:
        return duration_of(tracker)

    def config(self, tracker: Tracker) -> BookingConfig:
        return BOOKING_CONFIG

    def current_start(self, tracker: Tracker) -> datetime | None:
        """The start of the appointment being moved (not offered again); none when booking."""
        return None


class ActionAskDocumentType(Action):
    """Built here, not in domain.yml: Rasa would read the JSON of the buttons as slot templates."""

    def name(self) -> str:
        return "action_ask_document_type"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(
            text="Pour quel titre souhaitez-vous un rendez-vous ?",
            buttons=[
                texts.button("Carte d'identité", "inform", document_type="cni"),
                texts.button("Passeport", "inform", document_type="passeport"),
                texts.button("Les deux", "inform", document_type="les_deux"),
            ],
        )
        return []


class ActionAskPersonCount(Action):
    def name(self) -> str:
        return "action_ask_person_count"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(
            text="Pour combien de personnes ? "
            "Chaque personne a besoin de son propre créneau de 15 minutes par titre.",
            buttons=[texts.button(str(n), "inform", person_count=str(n)) for n in range(1, 5)],
        )
        return []


class ActionAskApplicationIds(Action):
    def name(self) -> str:
        return "action_ask_application_ids"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        people = int(tracker.get_slot("person_count") or 1)
        have = len(tracker.get_slot("application_ids_partial") or [])
        if have:
            question = f"Merci. Quel est le numéro de pré-demande de la personne {have + 1} sur {people} ?"
        elif people > 1:
            question = f"Quels sont les numéros de pré-demande des {people} personnes ? (un par personne)"
        else:
            question = "Quel est votre numéro de pré-demande ANTS ?"
        dispatcher.utter_message(
            text=f"{question} {texts.APPLICATION_ID_HELP}",
            buttons=[
                texts.button("Je n'ai pas de pré-demande", "deny"),
                texts.button("C'est quoi ?", "id_documents_info", id_topic="pre_application"),
            ],
        )
        return []


class ActionAskBookingSite(Action):
    def name(self) -> str:
        return "action_ask_booking_site"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        buttons = [texts.button(site.name, "inform", choice=site.id) for site in BOOKING_CONFIG.sites]
        buttons.append(texts.button("Peu importe", "inform", choice="any"))
        lines = [f"• {site.name} : {site.address}" for site in BOOKING_CONFIG.sites]
        dispatcher.utter_message(
            text="Dans quelle mairie souhaitez-vous venir ?\n" + "\n".join(lines), buttons=buttons
        )
        return []


class ActionAskBookingConfirmed(Action):
    def name(self) -> str:
        return "action_ask_booking_confirmed"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slot = engine.Slot.from_key(tracker.get_slot("booking_slot"), duration_of(tracker))
        site = BOOKING_CONFIG.site(slot.site_id)
        ids = tracker.get_slot("application_ids") or []
        ids = [] if ids == "papier" else ids
        dispatcher.utter_message(
            text=texts.summary_text(
                reason_of(tracker),
                int(tracker.get_slot("person_count") or 1),
                slot,
                site.name,
                f"{site.address}, {site.zip_code} {site.city}",
                tracker.get_slot("booking_surname"),
                ids,
            ),
            buttons=[texts.button("Oui, je confirme", "affirm"), texts.button("Non", "deny")],
        )
        return []


# ---- the booking form ----------------------------------------------------------------------


class _KeepsWorkingSlots:
    """Mixin: rasa-sdk returns only the form's required slots; the forms' working slots
    (failure count, partial ids, page of slots, reference…) must be kept too."""

    @guarded
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def get_validation_events(self, dispatcher, tracker, domain) -> List[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        kept = {e["name"] for e in events}
        extra = [
            SlotSet(name, value)
            for name, value in tracker.slots_to_validate().items()
            if name not in kept and name != "requested_slot"
        ]
        return events + extra


class ValidateBookingForm(_KeepsWorkingSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if tracker.get_slot("booking_blocked"):
            return []
        if len(BOOKING_CONFIG.sites) == 1:
            return [s for s in domain_slots if s != "booking_site"]
        return domain_slots

    # Each extract_* reads the latest message for one slot. Failure messages and the
    # failure count belong to the requested slot only.

    def _fail(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, message: str
    ) -> Dict[str, Any]:
        failures = int(tracker.get_slot("booking_failures") or 0) + 1
        dispatcher.utter_message(text=message)
        if failures >= MAX_FAILURES:
            text, buttons = texts.failures_help(SERVICE_PHONE)
            dispatcher.utter_message(text=text, buttons=buttons)
            failures = 0
        return {slot: None, "booking_failures": failures}

    @staticmethod
    def _requested(tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    async def extract_document_type(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if is_digression(tracker):
            return {}
        requested = self._requested(tracker, "document_type")
        value = document_type_in(tracker, requested)
        current = tracker.get_slot("document_type")
        if value is None:
            if requested:
                return self._fail(
                    dispatcher,
                    tracker,
                    "document_type",
                    "Je n'ai pas compris. Choisissez carte d'identité, passeport ou les deux.",
                )
            return {}
        if value == current:
            return {}
        events: Dict[str, Any] = {"document_type": value, "booking_failures": 0}
        if current and tracker.get_slot("booking_slot"):
            # The appointment length changes: the chosen slot may no longer fit.
            events.update(booking_slot=None, booking_confirmed=None, booking_offset=0)
            dispatcher.utter_message(
                text=f"C'est noté : {texts.DOCUMENT_LABELS[value]}. "
                "La durée change, je vous repropose des créneaux."
            )
        elif current:
            dispatcher.utter_message(text=f"C'est noté : {texts.DOCUMENT_LABELS[value]}.")
        return events

    async def extract_person_count(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if is_digression(tracker):
            return {}
        requested = self._requested(tracker, "person_count")
        count = parse_person_count(tracker, requested)
        current = tracker.get_slot("person_count")
        if count is None:
            if requested and document_type_in(tracker, False) is None:
                return self._fail(
                    dispatcher,
                    tracker,
                    "person_count",
                    "Combien de personnes ont besoin d'un titre ? Répondez par un nombre, par exemple 2.",
                )
            return {}
        if not 1 <= count <= BOOKING_CONFIG.max_people:
            return self._fail(
                dispatcher,
                tracker,
                "person_count",
                f"En ligne, je peux réserver pour {BOOKING_CONFIG.max_people} personnes au plus. "
                f"Pour un groupe plus grand, appelez le {SERVICE_PHONE}. "
                "Pour combien de personnes souhaitez-vous réserver ?",
            )
        if current is not None and int(current) == count:
            return {}
        events: Dict[str, Any] = {"person_count": count, "booking_failures": 0}
        if current is not None:
            ids = tracker.get_slot("application_ids")
            if isinstance(ids, list) and len(ids) != count:
                events.update(application_ids=None, application_ids_partial=ids[:count])
            if tracker.get_slot("booking_slot"):
                events.update(booking_slot=None, booking_confirmed=None, booking_offset=0)
            dispatcher.utter_message(text=f"C'est noté : {texts.people_fr(count)}.")
        return events

    async def extract_application_ids(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = self._requested(tracker, "application_ids")
        if is_digression(tracker) and not (
            requested and intent_of(tracker) == "id_documents_info" and says_no_pre_application(tracker)
        ):
            return {}
        found = application_ids_in(text_of(tracker)) + [
            a.upper() for a in entity_values(tracker, "application_id")
        ]
        found = [a for a in dict.fromkeys(found) if _APPLICATION_ID.fullmatch(a)]
        if not found:
            if not requested:
                return {}
            if says_no_pre_application(tracker):
                dispatcher.utter_message(text=texts.NO_PRE_APPLICATION)
                return {"application_ids": "papier", "application_ids_partial": None, "booking_failures": 0}
            if _ALMOST_ID.search(text_of(tracker)):
                return self._fail(
                    dispatcher,
                    tracker,
                    "application_ids",
                    "Ce numéro ne semble pas valide. " + texts.APPLICATION_ID_HELP,
                )
            return self._fail(
                dispatcher,
                tracker,
                "application_ids",
                "Je n'ai pas trouvé de numéro de pré-demande dans votre message. "
                + texts.APPLICATION_ID_HELP,
            )
        people = int(tracker.get_slot("person_count") or 1)
        collected = list(dict.fromkeys((tracker.get_slot("application_ids_partial") or []) + found))[:people]
        problems, flag, blocked = await self._check_ants(found, tracker)
        if blocked:
            dispatcher.utter_message(text=blocked)
            return {"booking_blocked": True}
        local = await asyncio.to_thread(engine.appointments_for_applications, found)
        for application_id, appointments in local.items():
            if appointments and application_id not in problems:
                problems[application_id] = (
                    f"Le numéro {application_id} a déjà un rendez-vous ({appointments[0].reference}, le "
                    f"{texts.when_fr(appointments[0].start)}). "
                    "Pour le changer, écrivez « déplacer mon rendez-vous »."
                )
        if problems:
            for problem in problems.values():
                dispatcher.utter_message(text=problem)
            collected = [a for a in collected if a not in problems]
            return {"application_ids": None, "application_ids_partial": collected or None}
        events: Dict[str, Any] = {"booking_failures": 0, "booking_ants_flag": flag or None}
        if len(collected) < people:
            return {**events, "application_ids": None, "application_ids_partial": collected}
        return {**events, "application_ids": collected, "application_ids_partial": None}

    @staticmethod
    async def _check_ants(ids: List[str], tracker: Tracker) -> tuple[Dict[str, str], bool, str | None]:
        """({id: problem in French}, flag for an agent, blocking message) from the ANTS check."""
        settings = ants_settings()
        if not settings.enabled:
            return {}, False, None
        site = (chosen_sites(tracker) or list(SITE_NAMES))[0]
        client = AntsClient(settings)
        try:
            checks = await client.check(ids, site)
        except AntsUnavailable:
            logger.warning("ANTS unavailable during booking (conversation %s)", pseudonym(tracker.sender_id))
            if settings.down_policy == "flag":
                return {}, True, None
            return {}, False, describe_unavailable_fr("refuse") + f" Téléphone : {SERVICE_PHONE}."
        except AntsError:
            problem = f"Ce numéro de pré-demande n'a pas pu être vérifié. {texts.APPLICATION_ID_HELP}"
            return {a: problem for a in ids}, False, None
        finally:
            await client.close()
        return {a: c.reason_fr or "" for a, c in checks.items() if not c.bookable}, False, None

    async def extract_booking_site(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if not self._requested(tracker, "booking_site") or is_digression(tracker):
            return {}
        choice = next(iter(entity_values(tracker, "choice")), None)
        if choice in SITE_NAMES or choice == "any":
            return {"booking_site": choice, "booking_failures": 0}
        text = fold(text_of(tracker))
        if re.search(r"peu importe|n'importe|egal|le plus (tot|vite|proche)|pas de preference", text):
            return {"booking_site": "any", "booking_failures": 0}
        for site in BOOKING_CONFIG.sites:
            words = [w for w in fold(site.name).split() if len(w) > 3 and w not in ("mairie", "annexe")]
            if text and (fold(site.name) in text or any(w in text for w in words)):
                return {"booking_site": site.id, "booking_failures": 0}
        if re.search(r"\bmairie\b|\bcentre\b|\bprincipal", text):
            return {"booking_site": BOOKING_CONFIG.sites[0].id, "booking_failures": 0}
        return self._fail(
            dispatcher, tracker, "booking_site", "Je n'ai pas reconnu ce lieu. Choisissez une mairie."
        )

    def _parse_when(self, dispatcher, tracker, text: str) -> Dict[str, Any] | None:
        """booking_when from free text, or a failure; None when the text holds no date at all."""
        now = now_paris()
        try:
            when = parse_when(text, now, BOOKING_CONFIG.booking_window_days)
        except DateNotUnderstood:
            return None
        except InvalidDate:
            return self._fail(
                dispatcher, tracker, "booking_when", "Cette date n'existe pas. Quel jour vous conviendrait ?"
            )
        except DateInPast as exc:
            return self._fail(
                dispatcher,
                tracker,
                "booking_when",
                f"Le {format_date_fr(exc.day)} est déjà passé. Quel jour vous conviendrait ?",
            )
        return {"booking_when": when_to_dict(when), "booking_offset": 0, "booking_failures": 0}

    async def extract_booking_when(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if is_digression(tracker):
            return {}
        if self._requested(tracker, "booking_when"):
            text = text_of(tracker)
            if not text and entity_values(tracker, "choice"):
                return {}
            parsed = self._parse_when(dispatcher, tracker, text)
            if parsed is None:
                return self._fail(
                    dispatcher,
                    tracker,
                    "booking_when",
                    "Je n'ai pas compris la date. Écrivez par exemple « mardi prochain », "
                    "« demain après-midi » ou « le 15 ».",
                )
            return parsed
        if tracker.get_slot("requested_slot") is None and intent_of(tracker) == "book_appointment":
            # The first message: "rdv jeudi matin" — only its date and time words.
            words = entity_values(tracker, "date") + entity_values(tracker, "time")
            if words:
                return self._parse_when(dispatcher, tracker, " ".join(words)) or {}
        return {}

    async def extract_booking_slot(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if not self._requested(tracker, "booking_slot") or is_digression(tracker):
            return {}
        choice = next(iter(entity_values(tracker, "choice")), None)
        offered = tracker.get_slot("booking_offered") or []
        if choice == "more":
            return {"booking_slot": None, "booking_offset": int(tracker.get_slot("booking_offset") or 0) + 4}
        if choice == "other_day":
            dispatcher.utter_message(text="Quel autre jour vous conviendrait ?")
            return {"booking_slot": None, "booking_when": None, "booking_offset": 0}
        if choice and "@" in choice:
            return {"booking_slot": choice, "booking_failures": 0}
        text = fold(text_of(tracker))
        picked = pick_offered(text, offered)
        if picked:
            return {"booking_slot": picked, "booking_failures": 0}
        if text:
            parsed = self._parse_when(dispatcher, tracker, text)
            if parsed is not None:
                return {**parsed, "booking_slot": None} if parsed.get("booking_when") else parsed
        return self._fail(
            dispatcher,
            tracker,
            "booking_slot",
            "Choisissez un des créneaux proposés, ou indiquez un autre jour.",
        )

    async def extract_booking_surname(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return surname_answer(self, dispatcher, tracker, "booking_surname", "booking_failures")

    async def extract_booking_confirmed(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if not self._requested(tracker, "booking_confirmed"):
            return {}
        intent = intent_of(tracker)
        if intent == "deny":
            return {"booking_confirmed": False}
        if intent != "affirm":
            if is_digression(tracker):
                return {}
            return self._fail(
                dispatcher,
                tracker,
                "booking_confirmed",
                "Répondez « oui » pour réserver ce créneau, ou « non » pour ne rien réserver.",
            )
        return await self._book(dispatcher, tracker)

    async def _book(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        slot = engine.Slot.from_key(tracker.get_slot("booking_slot"), duration_of(tracker))
        ids = tracker.get_slot("application_ids")
        ids = [] if ids == "papier" or not ids else ids
        try:
            appt = await asyncio.to_thread(
                engine.book,
                slot,
                reason=reason_of(tracker),
                people=int(tracker.get_slot("person_count") or 1),
                surname=tracker.get_slot("booking_surname"),
                channel=channel_of(tracker),
                sender_id=tracker.sender_id,
                application_ids=ids,
                needs_agent_check=bool(tracker.get_slot("booking_ants_flag")),
                now=now_paris(),
                config=BOOKING_CONFIG,
            )
        except (engine.SlotTaken, engine.SlotNotOffered):
            dispatcher.utter_message(
                text="Désolé, ce créneau vient d'être pris. Voici d'autres créneaux libres."
            )
            return {"booking_slot": None, "booking_confirmed": None, "booking_offset": 0}
        except engine.ApplicationAlreadyBooked as exc:
            dispatcher.utter_message(
                text=f"Le numéro de pré-demande {exc.application_id} a déjà un rendez-vous. "
                "Pour le changer, écrivez « déplacer mon rendez-vous »."
            )
            return {"booking_confirmed": False}
        logger.info(
            "appointment booked (conversation %s, %s documents)", pseudonym(tracker.sender_id), appt.documents
        )
        flagged = await declare_to_ants(appt) if ids else False
        return {
            "booking_confirmed": True,
            "booking_reference": appt.reference,
            "booking_ants_flag": flagged or None,
        }


_NAME_PREFIX = re.compile(
    r"^(c'?est|je m'appelle|mon nom( de famille)?( est| c'?est| c)?|le nom( est| c'?est| c)?|"
    r"au nom de|nom ?:|"
    r"m\.|mr|mme|mlle|madame|monsieur|mademoiselle)\s+",
    re.IGNORECASE,
)


def clean_surname(text: str) -> str | None:
    """The surname in « c'est au nom de Mme Fontaine » → FONTAINE; None if it is not a name."""
    text = " ".join((text or "").split()).strip(" .!")
    previous = None
    while text != previous:
        previous, text = text, _NAME_PREFIX.sub("", text).strip()
    if not _SURNAME.match(text) or not any(c.isalpha() for c in text) or len(text.split()) > 4:
        return None
    return text.strip(" -'").upper()


SURNAME_HELP = "Indiquez seulement votre nom de famille, en lettres (par exemple : Martin)."


def surname_answer(form, dispatcher, tracker: Tracker, slot: str, failures_slot: str) -> Dict[str, Any]:
    """A form's surname question: the cleaned name, or the form's failure answer."""
    if tracker.get_slot("requested_slot") != slot or is_question_not_name(tracker):
        return {}
    surname = clean_surname(text_of(tracker))
    if surname is None:
        return form._fail(dispatcher, tracker, slot, SURNAME_HELP)
    return {slot: surname, failures_slot: 0}


def pick_offered(text: str, offered: List[str]) -> str | None:
    """The offered slot a typed answer points at: « le premier », « 10h15 », « le 2e »."""
    if not text or not offered:
        return None
    ordinals = {
        "premier": 0,
        "1er": 0,
        "1": 0,
        "deuxieme": 1,
        "2e": 1,
        "2": 1,
        "second": 1,
        "troisieme": 2,
        "3e": 2,
        "3": 2,
        "quatrieme": 3,
        "4e": 3,
        "4": 3,
        "dernier": len(offered) - 1,
    }
    match = re.fullmatch(r"(le |la )?(\w+)( creneau)?", text)
    if match and match.group(2) in ordinals and ordinals[match.group(2)] < len(offered):
        return offered[ordinals[match.group(2)]]
    hour = re.search(r"\b(\d{1,2})\s*(?:h|:)\s*(\d{2})?\b", text)
    if hour:
        wanted = f"T{int(hour.group(1)):02d}:{int(hour.group(2) or 0):02d}"
        matches = [key for key in offered if key.endswith(wanted)]
        if len(matches) == 1:
            return matches[0]
    return None


async def declare_to_ants(appt: engine.AppointmentView) -> bool:
    """POST each application id to ANTS; True when an agent must finish it by hand."""
    settings = ants_settings()
    if not settings.enabled:
        return False
    client = AntsClient(settings)
    management = f"{os.environ.get('GRU_PUBLIC_URL', 'http://localhost:5005')}/rendez-vous/{appt.reference}"
    try:
        for application_id in appt.application_ids:
            await client.declare(application_id, appt.site_id, appt.site_name, appt.start, management)
    except AntsError:
        logger.warning("ANTS declaration failed; appointment flagged for an agent")
        return True
    finally:
        await client.close()
    return False


async def withdraw_from_ants(appt: engine.AppointmentView) -> None:
    settings = ants_settings()
    if not settings.enabled or not appt.application_ids:
        return
    client = AntsClient(settings)
    try:
        for application_id in appt.application_ids:
            await client.delete(application_id, appt.site_id, appt.site_name, appt.start)
    except AntsError:
        logger.warning("ANTS withdrawal failed after a cancellation; an agent must remove it by hand")
    finally:
        await client.close()


def reset(names) -> List[EventType]:
    return [SlotSet(name, None) for name in names]


class ActionBookingDone(Action):
    """After the form: the confirmation with the checklist, or why nothing was booked."""

    def name(self) -> str:
        return "action_booking_done"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reference = tracker.get_slot("booking_reference")
        if reference:
            appt = await asyncio.to_thread(
                engine.get_appointment, reference, sender=(channel_of(tracker), tracker.sender_id)
            )
            note = None
            if tracker.get_slot("booking_ants_flag"):
                note = (
                    "Un agent vérifiera votre pré-demande auprès de l'ANTS "
                    "et vous contactera en cas de problème."
                )
            dispatcher.utter_message(text=texts.confirmation_text(appt, note))
            if channel_of(tracker) == "facebook":  # Messenger shows it as a card with its two actions
                dispatcher.utter_message(elements=[texts.appointment_card(appt)])
        elif tracker.get_slot("booking_blocked"):
            dispatcher.utter_message(
                text="Je n'ai rien réservé.",
                buttons=[
                    texts.button("Parler à un agent", "human_handoff"),
                    texts.button("Horaires", "opening_hours"),
                ],
            )
        else:
            dispatcher.utter_message(
                text="D'accord, je n'ai rien réservé. Vous pouvez recommencer quand vous voulez.",
                buttons=[
                    texts.button("Reprendre un rendez-vous", "book_appointment"),
                    texts.button("Autre chose", "help"),
                ],
            )
        return reset(BOOKING_SLOTS + ("booking_offered",))


class ActionAbandonBooking(Action):
    """Stop mid-form: nothing booked, every answer forgotten."""

    def name(self) -> str:
        return "action_abandon_booking"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if intent_of(tracker) == "human_handoff":
            dispatcher.utter_message(text="J'arrête la démarche en cours : rien n'a été réservé ni modifié.")
        else:
            dispatcher.utter_message(
                text="J'arrête ici : aucun rendez-vous n'a été réservé ni modifié. "
                "Que puis-je faire d'autre ?",
                buttons=[
                    texts.button("Prendre un rendez-vous", "book_appointment"),
                    texts.button("Autre chose", "help"),
                ],
            )
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + reset(
            BOOKING_SLOTS + MANAGE_SLOTS + ("booking_offered",)
        )


# ---- list, cancel, reschedule ---------------------------------------------------------------


def own_appointments(tracker: Tracker) -> List[engine.AppointmentView]:
    return engine.appointments_of(channel_of(tracker), tracker.sender_id, now=now_paris())


class ActionListAppointments(Action):
    def name(self) -> str:
        return "action_list_appointments"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        mine = await asyncio.to_thread(own_appointments, tracker)
        if not mine:
            dispatcher.utter_message(
                text="Je ne trouve aucun rendez-vous à venir pris depuis cette conversation. "
                "Si vous avez réservé ailleurs (un autre appareil, Messenger), "
                "donnez-moi votre référence RDV-XXXXXX pour l'annuler ou "
                "le déplacer.",
                buttons=[
                    texts.button("Prendre un rendez-vous", "book_appointment"),
                    texts.button("Annuler avec ma référence", "cancel_appointment"),
                ],
            )
            return []
        title = "Votre rendez-vous à venir :" if len(mine) == 1 else "Vos rendez-vous à venir :"
        buttons = []
        for appt in mine[:3]:
            buttons.append(
                texts.button(f"Déplacer {appt.reference}", "reschedule_appointment", reference=appt.reference)
            )
            buttons.append(
                texts.button(f"Annuler {appt.reference}", "cancel_appointment", reference=appt.reference)
            )
        dispatcher.utter_message(
            text="\n".join([title] + [texts.appointment_line(a) for a in mine]), buttons=buttons
        )
        return []


class _ManageFormValidation:
    """Mixin of the cancel and reschedule forms: which appointment (a reference, or the
    sender's own) and the second factor. Not an action itself (rasa-sdk registers every
    FormValidationAction subclass)."""

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if tracker.get_slot("manage_done"):
            return []
        ref = tracker.get_slot("appointment_ref")
        own = ref and await asyncio.to_thread(self._owns, tracker, ref)
        return [s for s in domain_slots if not (s == "appointment_surname" and own)]

    @staticmethod
    def _owns(tracker: Tracker, reference: str) -> bool:
        return any(a.reference == reference for a in own_appointments(tracker))

    @staticmethod
    def _refuse(dispatcher, slot: str, message: str) -> Dict[str, Any]:
        dispatcher.utter_message(text=message)
        return {slot: None}

    async def extract_appointment_ref(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if is_digression(tracker) and intent_of(tracker) not in (
            "cancel_appointment",
            "reschedule_appointment",
        ):
            return {}
        requested = tracker.get_slot("requested_slot") == "appointment_ref"
        values = entity_values(tracker, "reference") + [
            f"RDV-{m}" for m in _REFERENCE.findall(text_of(tracker))
        ]
        refs = [
            v.upper().replace(" ", "-")
            for v in values
            if re.fullmatch(r"RDV-[A-Za-z0-9]{6}", v.replace(" ", "-"))
        ]
        if refs:
            return {"appointment_ref": refs[0]}
        if tracker.get_slot("appointment_ref") or not (
            requested or tracker.get_slot("requested_slot") is None
        ):
            return {}
        if requested and not text_of(tracker):
            return {}
        if tracker.get_slot("requested_slot") is None:
            mine = await asyncio.to_thread(own_appointments, tracker)
            if len(mine) == 1:
                return {"appointment_ref": mine[0].reference}
            return {}
        return self._refuse(
            dispatcher,
            "appointment_ref",
            "Je n'ai pas trouvé de référence. Elle a la forme RDV- suivi de 6 lettres ou chiffres, "
            "par exemple RDV-7KQ2MX.",
        )

    async def extract_appointment_surname(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "appointment_surname" or is_question_not_name(tracker):
            return {}
        surname = " ".join(text_of(tracker).split())
        reference = tracker.get_slot("appointment_ref")
        attempts = int(tracker.get_slot("verify_attempts") or 0) + 1
        try:
            await asyncio.to_thread(engine.get_appointment, reference, surname=surname)
        except engine.AppointmentNotFound:
            if attempts >= MAX_VERIFY_ATTEMPTS:
                dispatcher.utter_message(
                    text="Je ne peux pas vérifier ce rendez-vous. Pour votre sécurité, je m'arrête là. "
                    f"Appelez le service état civil au {SERVICE_PHONE}.",
                    buttons=[texts.button("Parler à un agent", "human_handoff")],
                )
                return {"manage_done": "refused", "verify_attempts": attempts}
            # One answer for both cases: the reference alone never tells whether it exists.
            dispatcher.utter_message(
                text="Cette référence et ce nom ne correspondent à aucun rendez-vous à venir. Vérifiez-les."
            )
            return {"appointment_surname": None, "appointment_ref": None, "verify_attempts": attempts}
        return {"appointment_surname": surname, "verify_attempts": 0}

    async def extract_manage_confirmed(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "manage_confirmed":
            return {}
        intent = intent_of(tracker)
        if intent == "deny":
            return {"manage_confirmed": False}
        if intent == "affirm":
            return {"manage_confirmed": True}
        if is_digression(tracker):
            return {}
        return self._refuse(dispatcher, "manage_confirmed", "Répondez « oui » ou « non », s'il vous plaît.")


def managed_appointment(tracker: Tracker) -> engine.AppointmentView:
    return engine.get_appointment(
        tracker.get_slot("appointment_ref"),
        surname=tracker.get_slot("appointment_surname"),
        sender=(channel_of(tracker), tracker.sender_id),
    )


class ValidateCancelForm(_ManageFormValidation, _KeepsWorkingSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_cancel_form"


class ValidateRescheduleForm(_ManageFormValidation, ValidateBookingForm):
    def name(self) -> str:
        return "validate_reschedule_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        return await _ManageFormValidation.required_slots(self, domain_slots, dispatcher, tracker, domain)


class ActionAskAppointmentRef(Action):
    def name(self) -> str:
        return "action_ask_appointment_ref"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        mine = await asyncio.to_thread(own_appointments, tracker)
        if mine:
            dispatcher.utter_message(
                text="Quel rendez-vous ?",
                buttons=[
                    texts.button(
                        texts.short_slot_fr(engine.Slot(a.site_id, a.start, 0)) + f" ({a.reference})",
                        "inform",
                        reference=a.reference,
                    )
                    for a in mine[:5]
                ],
            )
        else:
            dispatcher.utter_message(
                text="Quelle est la référence de votre rendez-vous ? "
                "Elle commence par RDV- (par exemple RDV-7KQ2MX) "
                "et figure dans la confirmation."
            )
        return []


class ActionAskManageConfirmed(Action):
    def name(self) -> str:
        return "action_ask_manage_confirmed"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        appt = await asyncio.to_thread(managed_appointment, tracker)
        if tracker.active_loop.get("name") == "reschedule_form":
            new = engine.Slot.from_key(tracker.get_slot("booking_slot"), appt.duration_minutes)
            text = (
                f"Je déplace le rendez-vous {appt.reference} du {texts.when_fr(appt.start)} au "
                f"{texts.when_fr(new.start)} ({ALL_SITE_NAMES.get(new.site_id, new.site_id)}). D'accord ?"
            )
        else:
            text = (
                f"J'annule le rendez-vous {appt.reference} du {texts.when_fr(appt.start)} "
                f"({appt.site_name}). D'accord ?"
            )
        dispatcher.utter_message(
            text=text, buttons=[texts.button("Oui", "affirm"), texts.button("Non, je le garde", "deny")]
        )
        return []


class ActionAskRescheduleSlot(ActionAskBookingSlot):
    """The slots offered for a move: same length as the appointment, at any site."""

    def name(self) -> str:
        return "action_ask_reschedule_form_booking_slot"

    def duration(self, tracker: Tracker) -> int:
        return managed_appointment(tracker).duration_minutes

    def current_start(self, tracker: Tracker) -> datetime | None:
        return managed_appointment(tracker).start

    def config(self, tracker: Tracker) -> BookingConfig:
        return config_of(managed_appointment(tracker))


class ActionCancelDone(Action):
    def name(self) -> str:
        return "action_cancel_done"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("manage_done") == "refused":
            return reset(MANAGE_SLOTS)
        if not tracker.get_slot("manage_confirmed"):
            dispatcher.utter_message(text="D'accord, je garde votre rendez-vous tel quel.")
            return reset(MANAGE_SLOTS)
        try:
            appt = await asyncio.to_thread(
                engine.cancel,
                tracker.get_slot("appointment_ref"),
                surname=tracker.get_slot("appointment_surname"),
                sender=(channel_of(tracker), tracker.sender_id),
                now=now_paris(),
            )
        except engine.AppointmentNotFound:
            dispatcher.utter_message(text="Ce rendez-vous n'existe plus ou a déjà été annulé.")
            return reset(MANAGE_SLOTS)
        await withdraw_from_ants(appt)
        logger.info("appointment cancelled (conversation %s)", pseudonym(tracker.sender_id))
        dispatcher.utter_message(
            text=f"C'est annulé : le rendez-vous {appt.reference} du {texts.when_fr(appt.start)} est libéré.",
            buttons=[texts.button("Prendre un autre rendez-vous", "book_appointment")],
        )
        return reset(MANAGE_SLOTS)


class ActionRescheduleDone(Action):
    def name(self) -> str:
        return "action_reschedule_done"

    @guarded
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = reset(MANAGE_SLOTS + ("booking_when", "booking_slot", "booking_offset", "booking_offered"))
        if tracker.get_slot("manage_done") == "refused":
            return events
        if not tracker.get_slot("manage_confirmed"):
            dispatcher.utter_message(text="D'accord, je garde votre rendez-vous tel quel.")
            return events
        try:
            before = await asyncio.to_thread(managed_appointment, tracker)
            new = engine.Slot.from_key(tracker.get_slot("booking_slot"), before.duration_minutes)
            appt = await asyncio.to_thread(
                engine.reschedule,
                before.reference,
                new,
                surname=tracker.get_slot("appointment_surname"),
                sender=(channel_of(tracker), tracker.sender_id),
                now=now_paris(),
                config=config_of(before),
            )
        except (engine.SlotTaken, engine.SlotNotOffered):
            dispatcher.utter_message(
                text="Désolé, ce créneau vient d'être pris. Votre rendez-vous n'a pas changé.",
                buttons=[
                    texts.button(
                        "Choisir un autre créneau",
                        "reschedule_appointment",
                        reference=tracker.get_slot("appointment_ref"),
                    )
                ],
            )
            return events
        except engine.AppointmentNotFound:
            dispatcher.utter_message(text="Ce rendez-vous n'existe plus ou a été annulé.")
            return events
        if appt.application_ids:
            await withdraw_from_ants(before)
            await declare_to_ants(appt)
        dispatcher.utter_message(
            text=f"C'est fait : votre rendez-vous {appt.reference} est maintenant "
            f"le {texts.when_fr(appt.start)}, "
            f"{appt.site_name}, {appt.site_address}."
        )
        return events
