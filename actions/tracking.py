"""Tracking of requests and subsidies in the chat: reference, then a second factor.

A reference alone never discloses a file: the e-mail or the surname on the file is
asked first, and a wrong pair gets the same answer as an unknown reference. Failed tries
are counted on the server (booking/attempts.py), per file number and per conversation,
so that a new conversation, « /restart » or a new sender id gives no new try; a success
gives none back. The back-office is reached through
tracking/ (local demo data by default, Publik w.c.s. with signed requests).
The texts are responses of domain/tracking.yml.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from actions.common import channel_of, entity_values, intent_of, text_of
from actions.context import TERRITORY, pseudonym
from actions.forms import FormDone, FormValidation
from booking import attempts
from core.text import format_date_fr
from reports.tracking import ReportTrackingAdapter
from tracking.connector import FileNotFound, TrackingUnavailable, connector_from_env, normalise_reference

logger = logging.getLogger(__name__)

MAX_TRIES = attempts.MAX_FAILURES
MAX_FACTOR_INPUT = 200
START_INTENTS = ("request_status", "subsidy_status")
# tracking_done: found | locked (this try locked it) | refused (locked already) | unavailable
TRACKING_SLOTS = ("tracking_ref", "tracking_factor", "tracking_result", "tracking_done")
_CONNECTOR = None


def connector(reference: str | None = None):
    """The back-office of this reference: reports (SIG-) are in the application database,
    requests and subsidies in the configured tracking back-office."""
    global _CONNECTOR
    if reference and reference.startswith("SIG-"):
        return ReportTrackingAdapter()
    if _CONNECTOR is None:
        _CONNECTOR = connector_from_env()
    return _CONNECTOR


def contact_values(service_key: str | None) -> Dict[str, str]:
    service = TERRITORY.services[TERRITORY.service_for(service_key, topic="tracking")]
    return {"service_name": service.name, "phone": service.phone, "email": service.email}


_REFERENCE_IN_TEXT = re.compile(
    r"\b(?:DEM|SUB|SIG)[\s-]?\d{4}[\s-]?\d{3,6}\b|\b\d{1,3}-\d{3,6}\b", re.IGNORECASE
)


def reference_in(tracker: Tracker) -> str | None:
    """The file number in the message: the NLU's entity, the whole answer, or a number within it."""
    text = text_of(tracker)
    candidates = entity_values(tracker, "reference") + [text] + _REFERENCE_IN_TEXT.findall(text)
    for value in candidates:
        reference = normalise_reference(value)
        if reference:
            return reference
    return None


class ValidateTrackingForm(FormValidation):
    form = "tracking_form"
    topic = "tracking"
    restart_intent = "request_status"
    working_slots = ("tracking_result", "tracking_done")
    name_slots = ("tracking_factor",)

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        return [] if tracker.get_slot("tracking_done") else domain_slots

    async def extract_tracking_ref(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None and intent_of(tracker) in START_INTENTS:
            reference = reference_in(tracker)
            return {"tracking_ref": reference} if reference else {}
        if requested != "tracking_ref":
            return {}
        reference = reference_in(tracker)
        if reference is None:
            return self.fail(dispatcher, tracker, "tracking_ref", "utter_tracking_ref_unknown")
        return self.filled(tracking_ref=reference)

    async def extract_tracking_factor(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "tracking_factor":
            return {}
        answer = " ".join(text_of(tracker).split())[:MAX_FACTOR_INPUT]
        if not answer:
            return self.fail(dispatcher, tracker, "tracking_factor")
        keys = attempts.keys_for("tracking", tracker.get_slot("tracking_ref"), channel_of(tracker),
                                 tracker.sender_id)  # fmt: skip
        if await asyncio.to_thread(attempts.is_locked, keys):  # before the back-office is asked
            return self.filled(tracking_done="refused", tracking_factor="-")
        try:
            reference = tracker.get_slot("tracking_ref")
            status = await connector(reference).lookup(reference, answer)
        except TrackingUnavailable:
            logger.warning("tracking back-office unavailable (conversation %s)", pseudonym(tracker.sender_id))
            return self.filled(tracking_done="unavailable", tracking_factor="-")
        except FileNotFound:
            standing = await asyncio.to_thread(attempts.record_failure, keys)
            if standing.locked:
                logger.info("file tracking locked after failed tries (conversation %s)",
                            pseudonym(tracker.sender_id))  # fmt: skip
                return self.filled(tracking_done="locked", tracking_factor="-")
            # One answer whether the number exists or not: the reference alone discloses nothing.
            dispatcher.utter_message(
                response="utter_tracking_not_found", tries=standing.failures, max_tries=MAX_TRIES
            )
            return self.filled(tracking_ref=None, tracking_factor=None)
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
        return self.filled(tracking_factor="ok", tracking_result=result, tracking_done="found")


class ActionTrackingDone(FormDone):
    form = "tracking_form"
    topic = "tracking"
    restart_intent = "request_status"
    slots = TRACKING_SLOTS
    stopped_response = "utter_tracking_stopped"

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        done = tracker.get_slot("tracking_done")
        result = tracker.get_slot("tracking_result")
        if done == "found" and result:
            decided = bool(result.get("decision_fr"))
            dispatcher.utter_message(
                response="utter_tracking_status_decided" if decided else "utter_tracking_status",
                title=result["title"],
                reference=result["reference"],
                stage=result["stage_fr"],
                changed=format_date_fr(date.fromisoformat(result["last_change"])),
                decision=result.get("decision_fr") or "",
                next_step=result["next_step_fr"],
                **contact_values(result.get("service")),
            )
        elif done in ("locked", "refused", "unavailable"):
            dispatcher.utter_message(response=f"utter_tracking_{done}", **contact_values(None))
        return self.forget()
