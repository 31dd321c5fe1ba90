"""Welfare guidance in the chat: a short triage, then the aid(s) the person may be
eligible for, what to prepare and where to apply. The rules are plain Python
(welfare/eligibility.py); offices and links come from territory/demo/welfare.yml.

Sensitive topic: kind wording, an emergency line as soon as danger is mentioned, and
nothing kept beyond the conversation (the slots are emptied once answered).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import booking_texts as texts
from actions.booking import _KeepsWorkingSlots, entity_values, fold, intent_of, is_digression, text_of
from actions.core import warn_if_danger
from welfare.config import load_welfare_config
from welfare.eligibility import (
    Situation,
    answer_fr,
    assess,
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
WELFARE_SLOTS = tuple(FIELD_SLOTS.values()) + ("welfare_aid", "welfare_extra", "welfare_failures")
AIDS = ("apa", "mdph", "aah", "pch", "pmi", "rsa")

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


def situation_of(tracker: Tracker) -> Situation:
    extra = tracker.get_slot("welfare_extra") or {}
    return Situation(
        for_whom=tracker.get_slot("welfare_for_whom"),
        age=tracker.get_slot("welfare_age"),
        need=tracker.get_slot("welfare_need"),
        place=tracker.get_slot("welfare_place"),
        **{
            k: v
            for k, v in extra.items()
            if k in ("gir", "incapacity", "disability_before_60", "pregnant", "child_age", "has_child")
        },
    )


def aid_of(tracker: Tracker) -> str | None:
    aid = tracker.get_slot("welfare_aid")
    return "aah" if aid == "mdph" else aid


def pick(patterns: Dict[str, str], text: str) -> str | None:
    for key, pattern in patterns.items():
        if re.search(pattern, text):
            return key
    return None


class ValidateWelfareForm(_KeepsWorkingSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_welfare_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        wanted = missing_questions(situation_of(tracker), aid_of(tracker))
        asked = [FIELD_SLOTS[field] for field in wanted if field in FIELD_SLOTS]
        return asked[:1] if asked else []

    # required_slots asks one question at a time, so exactly one of these runs per message.
    async def extract_welfare_for_whom(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return self._read(dispatcher, tracker)

    async def extract_welfare_age(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return self._read(dispatcher, tracker)

    async def extract_welfare_need(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return self._read(dispatcher, tracker)

    async def extract_welfare_place(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return self._read(dispatcher, tracker)

    def _read(self, dispatcher, tracker) -> Dict[str, Any]:
        """The first message is read whole (aid, for whom, age, need…); then each answer."""
        if is_digression(tracker):
            return {}
        warn_if_danger(dispatcher, tracker)
        text = fold(text_of(tracker))
        requested = tracker.get_slot("requested_slot")
        events: Dict[str, Any] = {}
        if requested is None and intent_of(tracker) == "welfare_guidance":
            aids = [a for a in entity_values(tracker, "aid_type") if a in AIDS]
            if aids:
                events["welfare_aid"] = aids[0]
            parsed = parse_situation_text(text_of(tracker))
            for field, slot in FIELD_SLOTS.items():
                if parsed.get(field) is not None:
                    events[slot] = parsed[field]
            extra = {k: v for k, v in parsed.items() if k not in FIELD_SLOTS and v is not None}
            if extra:
                events["welfare_extra"] = extra
            return events
        choice = next(iter(entity_values(tracker, "choice")), None)
        if requested == "welfare_for_whom":
            value = choice if choice in FOR_WHOM else pick(FOR_WHOM, text)
            return self._answer(
                dispatcher, tracker, "welfare_for_whom", value, "Pour qui est-ce ? Choisissez une réponse."
            )
        if requested == "welfare_need":
            value = choice if choice in NEEDS else pick(NEEDS, text)
            return self._answer(
                dispatcher, tracker, "welfare_need", value, "Quelle situation se rapproche le plus ?"
            )
        if requested == "welfare_place":
            value = choice if choice in PLACES else pick(PLACES, text)
            return self._answer(
                dispatcher, tracker, "welfare_place", value, "À domicile ou en établissement ?"
            )
        if requested == "welfare_age":
            match = re.search(r"\b(\d{1,3})\b", text)
            age = int(match.group(1)) if match else None
            if age is not None and not 0 <= age <= 120:
                age = None
            return self._answer(
                dispatcher, tracker, "welfare_age", age, "Indiquez l'âge en chiffres, par exemple 67."
            )
        return {}

    def _answer(self, dispatcher, tracker, slot: str, value, retry: str) -> Dict[str, Any]:
        if value is not None:
            return {slot: value, "welfare_failures": 0}
        failures = int(tracker.get_slot("welfare_failures") or 0) + 1
        dispatcher.utter_message(text=retry)
        if failures >= 3:
            ccas = WELFARE.ccas
            dispatcher.utter_message(
                text=f"Le plus simple est peut-être d'en parler de vive voix : {ccas.name}, {ccas.phone}.",
                buttons=[texts.button("Parler à un agent", "human_handoff"), texts.button("Arrêter", "stop")],
            )
            failures = 0
        return {slot: None, "welfare_failures": failures}


class _AskWithButtons:
    """Mixin: a triage question, a sentence and one button per answer (choice entity)."""

    action_name = ""
    question = ""
    options: tuple = ()

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(
            text=self.question,
            buttons=[texts.button(title, "inform", choice=key) for title, key in self.options],
        )
        return []


class ActionAskWelfareForWhom(_AskWithButtons, Action):
    action_name = "action_ask_welfare_for_whom"
    question = "Je vais vous orienter vers la bonne aide. Pour qui est-ce ?"
    options = (
        ("Pour moi", "self"),
        ("Un parent", "parent"),
        ("Mon enfant", "child"),
        ("Mon conjoint", "spouse"),
        ("Une autre personne", "other"),
    )


class ActionAskWelfareNeed(_AskWithButtons, Action):
    action_name = "action_ask_welfare_need"
    question = "Quelle situation se rapproche le plus ?"
    options = (
        ("Perte d'autonomie", "autonomy"),
        ("Handicap", "disability"),
        ("Grossesse, enfant < 6 ans", "pregnancy_child"),
        ("Peu ou pas de revenus", "low_resources"),
    )


class ActionAskWelfarePlace(_AskWithButtons, Action):
    action_name = "action_ask_welfare_place"
    question = "La personne vit-elle à domicile ou en établissement (EHPAD, résidence) ?"
    options = (("À domicile", "home"), ("En établissement", "establishment"))


class ActionWelfareAnswer(Action):
    def name(self) -> str:
        return "action_welfare_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        situation = situation_of(tracker)
        suggestions = assess(situation)
        aid = aid_of(tracker)
        if aid:
            suggestions = sorted(suggestions, key=lambda s: s.aid != aid)
        messages = answer_fr(WELFARE, suggestions, situation)
        for message in [messages] if isinstance(messages, str) else messages:
            dispatcher.utter_message(text=message)
        dispatcher.utter_message(
            text="Je n'ai rien enregistré de votre situation. Autre chose ?",
            buttons=[
                texts.button("Parler à un agent", "human_handoff"),
                texts.button("Autre question", "help"),
            ],
        )
        return [SlotSet(slot, None) for slot in WELFARE_SLOTS]


class ActionAbandonWelfare(Action):
    def name(self) -> str:
        return "action_abandon_welfare"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if intent_of(tracker) != "human_handoff":
            dispatcher.utter_message(
                text="D'accord, j'arrête. Je n'ai rien gardé de ce que vous m'avez dit. "
                "Que puis-je faire d'autre ?",
                buttons=[texts.button("Autre question", "help")],
            )
        from actions.tracking import TRACKING_SLOTS

        return [
            SlotSet(slot, None)
            for slot in WELFARE_SLOTS + tuple(s for s in TRACKING_SLOTS if s != "tracking_tries")
        ]
