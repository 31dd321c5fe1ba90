"""Welfare guidance in the chat: a short triage, then the aid(s) the person may be
eligible for, what to prepare and where to apply. The rules are plain Python
(welfare/eligibility.py); offices and links come from territory/demo/welfare.yml.

Sensitive topic: kind wording, an emergency line as soon as danger is mentioned, and
nothing kept beyond the conversation (the slots are emptied once answered).
The questions and answers are responses of domain/welfare.yml.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Callable, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import entity_values, intent_of, text_of
from actions.context import pseudonym
from actions.forms import FormDone, FormValidation
from core.text import fold
from welfare.config import load_welfare_config
from welfare.eligibility import (
    Situation,
    answer_fr,
    assess,
    detect_danger,
    missing_questions,
    parse_situation_text,
)

logger = logging.getLogger(__name__)

WELFARE = load_welfare_config()
FIELD_SLOTS = {
    "for_whom": "welfare_for_whom",
    "age": "welfare_age",
    "need": "welfare_need",
    "place": "welfare_place",
}
WELFARE_SLOTS = tuple(FIELD_SLOTS.values()) + ("welfare_aid", "welfare_extra")
AIDS = ("apa", "mdph", "aah", "pch", "pmi", "rsa")
EXTRA_FIELDS = ("gir", "incapacity", "disability_before_60", "pregnant", "child_age", "has_child")

# How a typed answer to a question with buttons is read (folded text → the button's value).
FOR_WHOM = {
    "self": r"\b(moi|pour moi|moi-meme|moi meme|je)\b",
    "parent": r"\b(mere|pere|parent|parents|maman|papa|belle-mere|beau-pere|grand-mere|grand-pere)\b",
    "child": r"\b(enfant|fils|fille|bebe|ado)\b",
    "spouse": r"\b(mari|femme|epoux|epouse|conjoint|conjointe|compagnon|compagne)\b",
    "other": r"\b(autre|ami|amie|voisin|voisine|frere|soeur|quelqu'un)\b",
}
NEEDS = {
    "autonomy": r"autonomie|plus vivre seul|perte d'autonomie|dependan|vieilli|aide a domicile|ehpad",
    "disability": r"handicap|invalid|mdph|incapacit",
    "pregnancy_child": r"enceinte|grossesse|bebe|nourrisson|moins de 6 ans|pmi",
    "low_resources": r"argent|revenu|ressource|difficulte|financ|rsa|chomage|dettes?|facture",
}
PLACES = {
    "home": r"domicile|chez (elle|lui|moi|eux)|maison",
    "establishment": r"etablissement|ehpad|maison de retraite",
}
MAX_AGE = 120


def warn_if_danger(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Emergency numbers first, whenever the message speaks of danger (violence, suicide…)."""
    lines = detect_danger(tracker.latest_message.get("text") or "", WELFARE)
    if lines:
        logger.info("emergency lines given conversation=%s", pseudonym(tracker.sender_id))
        numbers = "\n".join(f"• {line.number} : {line.name} ({line.when})" for line in lines)
        dispatcher.utter_message(response="utter_welfare_emergency", lines=numbers)


def situation_of(tracker: Tracker) -> Situation:
    extra = tracker.get_slot("welfare_extra") or {}
    return Situation(
        for_whom=tracker.get_slot("welfare_for_whom"),
        age=tracker.get_slot("welfare_age"),
        need=tracker.get_slot("welfare_need"),
        place=tracker.get_slot("welfare_place"),
        **{k: v for k, v in extra.items() if k in EXTRA_FIELDS},
    )


def aid_of(tracker: Tracker) -> str | None:
    aid = tracker.get_slot("welfare_aid")
    return "aah" if aid == "mdph" else aid


def pick(patterns: Dict[str, str], text: str) -> str | None:
    for key, pattern in patterns.items():
        if re.search(pattern, text):
            return key
    return None


def read_choice(patterns: Dict[str, str]) -> Callable[[Tracker], str | None]:
    """A question with buttons: the button's value, or the typed answer's."""

    def read(tracker: Tracker) -> str | None:
        choice = next(iter(entity_values(tracker, "choice")), None)
        return choice if choice in patterns else pick(patterns, fold(text_of(tracker)))

    return read


def read_age(tracker: Tracker) -> int | None:
    match = re.search(r"\b(\d{1,3})\b", text_of(tracker))
    age = int(match.group(1)) if match else None
    return age if age is not None and 0 <= age <= MAX_AGE else None


# Each question: how its answer is read, and what is said when it cannot be.
READERS = {
    "welfare_for_whom": (read_choice(FOR_WHOM), "utter_welfare_choose"),
    "welfare_need": (read_choice(NEEDS), "utter_welfare_choose"),
    "welfare_place": (read_choice(PLACES), "utter_welfare_choose"),
    "welfare_age": (read_age, "utter_welfare_age_in_figures"),
}


def first_message(tracker: Tracker) -> Dict[str, Any]:
    """The message that starts the triage, read whole: the aid named, for whom, age, need…"""
    found: Dict[str, Any] = {}
    aids = [a for a in entity_values(tracker, "aid_type") if a in AIDS]
    if aids:
        found["welfare_aid"] = aids[0]
    parsed = parse_situation_text(text_of(tracker))
    for field, slot in FIELD_SLOTS.items():
        if parsed.get(field) is not None:
            found[slot] = parsed[field]
    extra = {k: v for k, v in parsed.items() if k not in FIELD_SLOTS and v is not None}
    if extra:
        found["welfare_extra"] = extra
    return found


class ValidateWelfareForm(FormValidation):
    form = "welfare_form"
    topic = "welfare"
    restart_intent = "welfare_guidance"
    working_slots = ("welfare_aid", "welfare_extra")

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        """Only the questions the situation still needs, one at a time."""
        wanted = missing_questions(situation_of(tracker), aid_of(tracker))
        asked = [FIELD_SLOTS[field] for field in wanted if field in FIELD_SLOTS]
        return asked[:1]

    # form_slots asks one question at a time, so exactly one of these runs per message; the
    # reading (regular expressions over the message) runs in a thread, off the event loop.
    async def extract_welfare_for_whom(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return await asyncio.to_thread(self._read, dispatcher, tracker, "welfare_for_whom")

    async def extract_welfare_age(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return await asyncio.to_thread(self._read, dispatcher, tracker, "welfare_age")

    async def extract_welfare_need(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return await asyncio.to_thread(self._read, dispatcher, tracker, "welfare_need")

    async def extract_welfare_place(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return await asyncio.to_thread(self._read, dispatcher, tracker, "welfare_place")

    def _read(self, dispatcher, tracker, slot: str) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None and intent_of(tracker) == self.restart_intent:
            warn_if_danger(dispatcher, tracker)
            return first_message(tracker)
        if requested != slot:
            return {}
        warn_if_danger(dispatcher, tracker)
        reader, why = READERS[slot]
        value = reader(tracker)
        if value is None:
            return self.fail(dispatcher, tracker, slot, why)
        return self.filled(**{slot: value})


class ActionWelfareAnswer(FormDone):
    form = "welfare_form"
    topic = "welfare"
    restart_intent = "welfare_guidance"
    slots = WELFARE_SLOTS
    stopped_response = "utter_welfare_stopped"

    def name(self) -> str:
        return "action_welfare_answer"

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        situation = situation_of(tracker)
        suggestions = assess(situation)
        aid = aid_of(tracker)
        if aid:
            suggestions = sorted(suggestions, key=lambda s: s.aid != aid)
        for answer in answer_fr(WELFARE, suggestions, situation):
            dispatcher.utter_message(response="utter_welfare_answer", answer=answer)
        dispatcher.utter_message(response="utter_welfare_nothing_kept")
        return self.forget()
