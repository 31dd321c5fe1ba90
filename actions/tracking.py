"""Tracking of requests and subsidies in the chat: reference, then a second factor.

A reference alone never discloses a file: the e-mail or the surname on the file is
asked first, with a limited number of tries per conversation, and a wrong pair gets
the same answer as an unknown reference. The back-office is reached through
tracking/ (local demo data by default, Publik w.c.s. with signed requests).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import booking_texts as texts
from actions.booking import (
    _KeepsWorkingSlots,
    entity_values,
    intent_of,
    is_digression,
    is_question_not_name,
    text_of,
)
from actions.core import TERRITORY, pseudonym
from core.text import format_date_fr
from tracking.connector import FileNotFound, TrackingUnavailable, connector_from_env, normalise_reference

logger = logging.getLogger(__name__)

MAX_TRIES = 3
TRACKING_SLOTS = ("tracking_ref", "tracking_factor", "tracking_tries", "tracking_result", "tracking_done")
_CONNECTOR = None


def connector():
    global _CONNECTOR
    if _CONNECTOR is None:
        _CONNECTOR = connector_from_env()
    return _CONNECTOR


def contact_line(service_key: str | None) -> str:
    service = TERRITORY.services[TERRITORY.service_for(service_key, topic="tracking")]
    return f"{service.name} : {service.phone}, {service.email}"


_REFERENCE_IN_TEXT = re.compile(r"\b(?:DEM|SUB)[\s-]?\d{4}[\s-]?\d{3,6}\b|\b\d{1,3}-\d{3,6}\b", re.IGNORECASE)


def reference_in(tracker: Tracker) -> str | None:
    """The file number in the message: the NLU's entity, the whole answer, or a number within it."""
    text = text_of(tracker)
    candidates = entity_values(tracker, "reference") + [text] + _REFERENCE_IN_TEXT.findall(text)
    for value in candidates:
        reference = normalise_reference(value)
        if reference:
            return reference
    return None


class ValidateTrackingForm(_KeepsWorkingSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_tracking_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        return [] if tracker.get_slot("tracking_done") else domain_slots

    async def extract_tracking_ref(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None and intent_of(tracker) in ("request_status", "subsidy_status"):
            reference = reference_in(tracker)
            return {"tracking_ref": reference} if reference else {}
        if requested != "tracking_ref" or is_digression(tracker):
            return {}
        reference = reference_in(tracker)
        if reference is None:
            dispatcher.utter_message(
                text="Je ne reconnais pas ce numéro. Il figure sur l'accusé de réception, par exemple "
                "DEM-2026-004217 pour une démarche ou SUB-2026-0042 pour une subvention."
            )
            return {"tracking_ref": None}
        return {"tracking_ref": reference}

    async def extract_tracking_factor(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "tracking_factor" or is_question_not_name(tracker):
            return {}
        answer = " ".join(text_of(tracker).split())[:200]
        if not answer:
            return {}
        tries = int(tracker.get_slot("tracking_tries") or 0) + 1
        if tries > MAX_TRIES:  # the limit holds for the whole conversation
            dispatcher.utter_message(
                text=f"Trop d'essais dans cette conversation. Vous pouvez contacter {contact_line(None)}.",
                buttons=[texts.button("Parler à un agent", "human_handoff")],
            )
            return {"tracking_done": "refused", "tracking_factor": "-", "tracking_tries": tries - 1}
        try:
            status = await connector().lookup(tracker.get_slot("tracking_ref"), answer)
        except TrackingUnavailable:
            logger.warning("tracking back-office unavailable (conversation %s)", pseudonym(tracker.sender_id))
            dispatcher.utter_message(
                text="Le suivi des dossiers est momentanément indisponible, désolé. Réessayez plus tard, "
                f"ou contactez {contact_line(None)}."
            )
            return {"tracking_done": "unavailable", "tracking_factor": "-"}
        except FileNotFound:
            if tries >= MAX_TRIES:
                dispatcher.utter_message(
                    text="Je ne peux pas vérifier ce dossier. Pour votre sécurité, je m'arrête là. "
                    f"Vous pouvez contacter {contact_line(None)}.",
                    buttons=[texts.button("Parler à un agent", "human_handoff")],
                )
                return {"tracking_done": "refused", "tracking_factor": "-", "tracking_tries": tries}
            # One answer whether the number exists or not: the reference alone discloses nothing.
            dispatcher.utter_message(
                text="Je ne trouve pas de dossier avec ce numéro et cette information. Vérifiez-les "
                f"(essai {tries} sur {MAX_TRIES})."
            )
            return {"tracking_ref": None, "tracking_factor": None, "tracking_tries": tries}
        result = {
            "reference": status.reference,
            "kind": status.kind,
            "title": status.title,
            "stage_fr": status.stage_fr,
            "decision_fr": status.decision_fr,
            "last_change": status.last_change.isoformat(),
            "next_step_fr": status.next_step_fr,
            "service": status.service,
        }
        return {
            "tracking_factor": "ok",
            "tracking_result": result,
            "tracking_done": "found",
            "tracking_tries": tries - 1,
        }


class ActionTrackingDone(Action):
    def name(self) -> str:
        return "action_tracking_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        result = tracker.get_slot("tracking_result")
        if tracker.get_slot("tracking_done") == "found" and result:
            changed = format_date_fr(date.fromisoformat(result["last_change"]))
            lines = [
                f"{result['title']} ({result['reference']}) : {result['stage_fr']}, depuis le {changed}."
            ]
            if result.get("decision_fr"):
                lines.append(f"Décision : {result['decision_fr']}.")
            lines.append(result["next_step_fr"])
            lines.append(f"Une question ? {contact_line(result.get('service'))}.")
            dispatcher.utter_message(text="\n".join(lines))
        # The count of tries is kept: the limit holds for the whole conversation.
        return [SlotSet(slot, None) for slot in TRACKING_SLOTS if slot != "tracking_tries"]
