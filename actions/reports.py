"""Reporting a problem in the street (signalement) in the chat: category, place, description,
optional photo and contact, a summary to confirm, then the reference SIG-AAAA-NNNNNN.

A danger (gas smell, fallen electric line, flooding…) named at any point gets the emergency
numbers first and nothing is recorded. The same problem reported within 50 m in the last 7 days
is counted on the existing report (« déjà signalé, merci ») as soon as the place is known.
The place is an address (the waste geocoder, reused), a position shared with consent
(`/share_location{"latitude":…,"longitude":…}`: the webchat asks the browser, Messenger sends a
location attachment) or the citizen's words (« devant l'école Jean Moulin »). The photo is a
webchat upload (`/share_photo{"upload_id":…}`, channels/uploads.py) or a Messenger image
attachment (`/share_photo{"photo_url":…}`), downloaded here. Plain logic lives in reports/;
the texts are responses of domain/reports.yml.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, List

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.common import (
    MAX_CHOICE_CHARS,
    button,
    channel_of,
    entity_values,
    intent_of,
    read_yes_no,
    text_of,
)
from actions.context import TERRITORY, pseudonym
from actions.forms import DIGRESSIONS, FormDone, FormValidation, guarded
from actions.waste_chat.address import _search as search_address
from actions.waste_chat.content import WASTE
from core.http import timeout_from_env
from reports import photos
from reports.config import load_reports_config, match_category, match_danger
from reports.forward import forward_now, forwarder_from_env
from reports.store import NewReport, Place, count_again, find_same, save_report
from waste.geocoder import extract_address

logger = logging.getLogger(__name__)

REPORTS = load_reports_config()
FORM_SLOTS = (
    "report_category",
    "report_place",
    "report_description",
    "report_photo",
    "report_contact",
    "report_confirm",
)
WORKING_SLOTS = (
    "report_place_kind",
    "report_latitude",
    "report_longitude",
    "report_duplicate",
    "report_danger",
)
REPORT_SLOTS = FORM_SLOTS + WORKING_SLOTS
MIN_ADDRESS_SCORE = 0.7  # below, the words are kept as a described place
MAX_PLACE_CHARS = 300
MAX_DESCRIPTION_CHARS = 1000
SKIP = "none"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,200}\.[a-zA-Z]{2,24}$")
_PHONE = re.compile(r"^(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}$")
_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]")
_FORWARDER = None


def forwarder():
    global _FORWARDER
    if _FORWARDER is None:
        _FORWARDER = forwarder_from_env()
    return _FORWARDER


def service_values(service_key: str | None) -> Dict[str, str]:
    service = TERRITORY.services[TERRITORY.service_for(service_key, topic="reports")]
    return {"service_name": service.name, "phone": service.phone}


def _choice(tracker) -> str | None:
    value = next(iter(entity_values(tracker, "choice")), None)
    return value if value and len(value) <= MAX_CHOICE_CHARS else None


def _coordinate(values: List[str], low: float, high: float) -> float | None:
    try:
        value = float(values[0])
    except (IndexError, ValueError, TypeError):
        return None
    return value if low <= value <= high and value == value else None


def widget_request(kind: str) -> Dict[str, Any]:
    """Interface 2: the widget shows « Partager ma position » / « Ajouter une photo » on a bot_uttered
    {"custom": {"type": kind}}. Rasa 3.6's SocketIOOutput emits a json_message as keyword arguments
    of `emit` (data=…, room=…), so the object goes under "data"."""
    return {"data": {"custom": {"type": kind}}}


def _words(text: str) -> str:
    return " ".join((text or "").split())


class ValidateReportForm(FormValidation):
    form = "report_form"
    topic = "reports"
    restart_intent = "report_problem"
    working_slots = WORKING_SLOTS

    def is_answer(self, tracker, requested: str | None) -> bool:
        """A place or a description the NLU read as a question (« le lampadaire de la mairie
        reste allumé » as opening hours) is an answer: several words and no question mark.
        Stop and hand-off always end the form."""
        if requested in ("report_place", "report_description") and intent_of(tracker) in DIGRESSIONS:
            text = text_of(tracker)
            return "?" not in text and len(text.split()) >= 4
        return super().is_answer(tracker, requested)

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        if tracker.get_slot("report_danger") or tracker.get_slot("report_duplicate"):
            return []
        return domain_slots

    def _danger(self, tracker) -> Dict[str, Any] | None:
        danger = match_danger(REPORTS, text_of(tracker))
        return {"report_danger": danger.key} if danger else None

    # -- category ----------------------------------------------------------------------------------

    async def extract_report_category(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        first = requested is None and intent_of(tracker) == "report_problem"
        if not first and requested != "report_category":
            return {}
        danger = self._danger(tracker)
        if danger:
            return self.filled(**danger)
        choice = _choice(tracker)
        if choice and choice.startswith("cat:") and REPORTS.category(choice[4:]):
            return self.filled(report_category=choice[4:])
        category = match_category(REPORTS, text_of(tracker))
        if category:
            return self.filled(report_category=category.key)
        if first:
            return {}
        return self.fail(dispatcher, tracker, "report_category", "utter_report_category_unknown")

    # -- place -------------------------------------------------------------------------------------

    async def extract_report_place(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_place":
            return {}
        if intent_of(tracker) == "share_location":
            latitude = _coordinate(entity_values(tracker, "latitude"), -90, 90)
            longitude = _coordinate(entity_values(tracker, "longitude"), -180, 180)
            if latitude is None or longitude is None:
                return self.fail(dispatcher, tracker, "report_place", "utter_report_location_invalid")
            place = Place(
                "location", f"Position partagée ({latitude:.5f}, {longitude:.5f})", latitude, longitude
            )
            return await self._place_found(tracker, place)
        danger = self._danger(tracker)
        if danger:
            return self.filled(**danger)
        text = _words(text_of(tracker))
        if len(text) > MAX_PLACE_CHARS or len(_LETTERS.findall(text)) < 3:
            return self.fail(dispatcher, tracker, "report_place", "utter_report_place_invalid")
        place = Place("described", text)
        try:
            candidates = await search_address(extract_address(text))
        except Exception:  # noqa: BLE001 - the geocoder down: the citizen's words are the place
            logger.warning(
                "geocoder unavailable for a report (conversation %s)", pseudonym(tracker.sender_id)
            )
            candidates = []
        if candidates and candidates[0].score >= MIN_ADDRESS_SCORE:
            best = candidates[0]
            label = f"{best.housenumber} {best.street}" if best.housenumber else best.street
            place = Place("address", f"{label}, {WASTE.city}")
        return await self._place_found(tracker, place)

    async def _place_found(self, tracker, place: Place) -> Dict[str, Any]:
        slots = {
            "report_place": place.label,
            "report_place_kind": place.kind,
            "report_latitude": place.latitude,
            "report_longitude": place.longitude,
        }
        category = tracker.get_slot("report_category")
        same = await asyncio.to_thread(find_same, category, place) if category else None
        if same is not None:
            slots["report_duplicate"] = same.reference
        return self.filled(**slots)

    # -- description -------------------------------------------------------------------------------

    async def extract_report_description(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_description":
            return {}
        danger = self._danger(tracker)
        if danger:
            return self.filled(**danger)
        text = _words(text_of(tracker))
        if len(text) > MAX_DESCRIPTION_CHARS:
            return self.fail(dispatcher, tracker, "report_description", "utter_report_description_too_long",
                             limit=MAX_DESCRIPTION_CHARS)  # fmt: skip
        if len(_LETTERS.findall(text)) < 3:
            return self.fail(dispatcher, tracker, "report_description", "utter_report_description_invalid")
        return self.filled(report_description=text)

    # -- photo -------------------------------------------------------------------------------------

    async def extract_report_photo(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_photo":
            return {}
        if _choice(tracker) == "skip":
            return self.filled(report_photo=SKIP)
        channel, sender = channel_of(tracker), tracker.sender_id
        upload_id = next(iter(entity_values(tracker, "upload_id")), None)
        if upload_id is not None:
            stored = await asyncio.to_thread(photos.owned_upload, upload_id, channel, sender)
            if stored is None:
                return self.fail(dispatcher, tracker, "report_photo", "utter_report_photo_unknown")
            return self.filled(report_photo=stored.id)
        url = next(iter(entity_values(tracker, "photo_url")), None)
        if url is not None:
            if channel != "facebook" or not photos.allowed_photo_url(url):
                return self.fail(dispatcher, tracker, "report_photo", "utter_report_photo_unknown")
            try:
                data = await photos.download_photo(
                    url, timeout_s=timeout_from_env("GRU_REPORTS_PHOTO_TIMEOUT", 10.0)
                )
                upload = await asyncio.to_thread(photos.store_photo, data, channel, sender)
            except photos.PhotoRefused as refused:
                logger.info(
                    "Messenger photo refused: %s (conversation %s)", refused.reason, pseudonym(sender)
                )
                return self.fail(
                    dispatcher, tracker, "report_photo", f"utter_report_photo_{_refusal(refused.reason)}"
                )
            return self.filled(report_photo=upload)
        if intent_of(tracker) == "deny" or read_yes_no(tracker) is False:
            return self.filled(report_photo=SKIP)
        return self.fail(dispatcher, tracker, "report_photo", "utter_report_photo_expected")

    # -- contact -----------------------------------------------------------------------------------

    async def extract_report_contact(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_contact":
            return {}
        if _choice(tracker) == "skip" or read_yes_no(tracker) is False:
            return self.filled(report_contact=SKIP)
        text = _words(text_of(tracker))
        email = next((w.strip(".,;") for w in text.split() if "@" in w), "")
        if email and _EMAIL.match(email):
            return self.filled(report_contact=email.lower())
        phone = re.sub(r"[^\d+ .-]", "", text).strip()
        if phone and _PHONE.match(phone):
            return self.filled(report_contact=re.sub(r"[\s.-]", "", phone))
        return self.fail(dispatcher, tracker, "report_contact", "utter_report_contact_invalid")

    # -- confirmation ------------------------------------------------------------------------------

    async def extract_report_confirm(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_confirm":
            return {}
        answer = read_yes_no(tracker)
        if answer is None:
            return self.fail(dispatcher, tracker, "report_confirm", "utter_report_confirm_expected")
        if answer is False:
            return {"report_confirm": False, "form_outcome": "stopped", "requested_slot": None}
        return self.filled(report_confirm=True)


def _refusal(reason: str) -> str:
    return {"too_large": "too_large", "unavailable": "unavailable"}.get(reason, "not_an_image")


# ---- the questions that depend on the channel or the content file --------------------------------


class ActionAskReportCategory(Action):
    def name(self) -> str:
        return "action_ask_report_category"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(
            response="utter_ask_report_category",
            buttons=[button(c.label, "inform", choice=f"cat:{c.key}") for c in REPORTS.categories],
        )
        return []


class ActionAskReportPlace(Action):
    def name(self) -> str:
        return "action_ask_report_place"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if channel_of(tracker) == "socketio":  # the widget asks consent, then the browser's position
            dispatcher.utter_message(
                response="utter_ask_report_place_web", json_message=widget_request("request_location")
            )
        elif channel_of(tracker) == "facebook":
            dispatcher.utter_message(response="utter_ask_report_place_messenger")
        else:
            dispatcher.utter_message(response="utter_ask_report_place")
        return []


class ActionAskReportPhoto(Action):
    def name(self) -> str:
        return "action_ask_report_photo"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        skip = [button("Passer", "inform", choice="skip")]
        if channel_of(tracker) == "socketio":  # the widget shows « Ajouter une photo »
            dispatcher.utter_message(response="utter_ask_report_photo_web", buttons=skip,
                                     json_message=widget_request("request_photo"))  # fmt: skip
        elif channel_of(tracker) == "facebook":
            dispatcher.utter_message(response="utter_ask_report_photo_messenger", buttons=skip)
        else:
            dispatcher.utter_message(response="utter_ask_report_photo", buttons=skip)
        return []


class ActionAskReportConfirm(Action):
    def name(self) -> str:
        return "action_ask_report_confirm"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        category = REPORTS.category(tracker.get_slot("report_category"))
        contact = tracker.get_slot("report_contact")
        dispatcher.utter_message(
            response="utter_ask_report_confirm",
            category=category.label if category else "",
            place=tracker.get_slot("report_place") or "",
            description=tracker.get_slot("report_description") or "",
            photo="oui" if tracker.get_slot("report_photo") not in (None, SKIP) else "non",
            contact=contact if contact not in (None, SKIP) else "aucun",
            buttons=[button("Oui, envoyer", "affirm"), button("Non, annuler", "deny")],
        )
        return []


# ---- the end of the form ------------------------------------------------------------------------------


class ActionReportDone(FormDone):
    form = "report_form"
    topic = "reports"
    restart_intent = "report_problem"
    slots = REPORT_SLOTS
    stopped_response = "utter_report_stopped"

    @guarded("reports")
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        danger = REPORTS.danger(tracker.get_slot("report_danger"))
        if danger is not None:
            dispatcher.utter_message(response="utter_report_danger", advice=danger.advice)
            dispatcher.utter_message(response="utter_report_danger_after")
            return self.forget()
        duplicate = tracker.get_slot("report_duplicate")
        if duplicate:
            report = await asyncio.to_thread(count_again, duplicate)
            if report is not None:
                dispatcher.utter_message(response="utter_report_duplicate", reference=report.reference,
                                         **service_values(report.service))  # fmt: skip
            return self.forget()
        if not tracker.get_slot("report_confirm"):
            return self.forget()
        category = REPORTS.category(tracker.get_slot("report_category"))
        contact = tracker.get_slot("report_contact")
        photo = tracker.get_slot("report_photo")
        new = NewReport(
            category=category.key,
            service=category.service,
            place=Place(
                tracker.get_slot("report_place_kind") or "described",
                tracker.get_slot("report_place") or "",
                tracker.get_slot("report_latitude"),
                tracker.get_slot("report_longitude"),
            ),
            description=tracker.get_slot("report_description") or "",
            channel=channel_of(tracker),
            sender_id=tracker.sender_id,
            photo_id=photo if photo not in (None, SKIP) else None,
            contact_email=contact if contact and "@" in contact else None,
            contact_phone=contact if contact and contact != SKIP and "@" not in contact else None,
        )
        try:
            chosen = forwarder()
        except ValueError:
            logger.error("reports forwarding misconfigured (GRU_REPORTS_FORWARD): kept in the database only")
            chosen = None
        saved = await asyncio.to_thread(save_report, new, forward=chosen is not None)
        values = service_values(category.service)
        if saved.duplicate:
            dispatcher.utter_message(
                response="utter_report_duplicate", reference=saved.report.reference, **values
            )
            return self.forget()
        outcome = await forward_now(saved.report.reference, chosen)
        logger.info(
            "report recorded (conversation %s, forwarding: %s)", pseudonym(tracker.sender_id), outcome
        )
        dispatcher.utter_message(response="utter_report_saved", reference=saved.report.reference, **values)
        if new.contact_email is None and new.contact_phone is None:
            dispatcher.utter_message(response="utter_report_saved_no_contact")
        else:
            dispatcher.utter_message(response="utter_report_saved_tracking")
        return self.forget()
