"""Everyday questions and démarches: the knowledge base (a retrieval action).

The NLU gives the top-level intent `faq` (the linear intent model of
channels/linear_intents.py learns from every phrasing of
territory/demo/knowledge/phrases/*.yml), and this action
picks the entry with the ranker of knowledge/ranker.py, trained once per action-server
process from all the phrasings and the entries' titles and answers. No `utter_faq/<key>`
response and no ResponseSelector: the content team edits answers in
territory/demo/knowledge/*.yml only, and the ranker measured far better than
ResponseSelector (README, « Base de connaissances »).

- a clear winner: the answer, who handles it (service and hours, or the other
  administration) and a « Plus d'infos » link to the official page;
- close scores: the two or three best entries as buttons (`/faq{"knowledge_key": …}`);
  a key that was not offered (a forged payload) gets a polite « je ne retrouve pas »;
- nothing fits: the honest fallback with the front desk's contact.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import List

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.common import button, offered_choice, text_of
from actions.context import TERRITORY, latest_entity, pseudonym
from actions.replies import contact_values
from core import clock
from knowledge.answer import build_answer
from knowledge.content import RETRIEVAL_INTENT, KnowledgeBase, load_knowledge_base
from knowledge.ranker import ANSWER, CHOOSE, Ranker

logger = logging.getLogger(__name__)

KNOWLEDGE: KnowledgeBase = load_knowledge_base()
KEY_ENTITY = "knowledge_key"
OFFERED_SLOT = "knowledge_offered"
NONE_OF_THESE = "aucun"  # the last button of a choice: none of the entries offered fits


@lru_cache(maxsize=1)
def ranker() -> Ranker:
    return Ranker(KNOWLEDGE)


async def trained_ranker() -> Ranker:
    """The ranker, trained on first use in a thread (a few seconds: the event loop stays free)."""
    return await asyncio.to_thread(ranker)


def answer(dispatcher, key: str) -> None:
    reply = build_answer(KNOWLEDGE.entries[key], TERRITORY, clock.now())
    dispatcher.utter_message(
        response="utter_knowledge_answer", answer=reply.answer, contact=reply.contact, buttons=[reply.link]
    )


def choice_buttons(keys: List[str]) -> List[dict]:
    """The entries' titles, then « Aucun de ces sujets »."""
    buttons = [button(KNOWLEDGE.entries[key].title, RETRIEVAL_INTENT, **{KEY_ENTITY: key}) for key in keys]
    return buttons + [button("Aucun de ces sujets", RETRIEVAL_INTENT, **{KEY_ENTITY: NONE_OF_THESE})]


def nothing_fits(dispatcher) -> None:
    dispatcher.utter_message(
        response="utter_knowledge_nothing",
        **contact_values(TERRITORY, TERRITORY.default_service, clock.now()),
    )


class ActionAnswerKnowledge(Action):
    """Answers an everyday question from the knowledge base (see the module's docstring)."""

    def name(self) -> str:
        return "action_answer_knowledge"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        conversation = pseudonym(tracker.sender_id)
        chosen = latest_entity(tracker, KEY_ENTITY)
        if chosen is not None:  # a button of a previous choice
            key = offered_choice(chosen, tracker.get_slot(OFFERED_SLOT))
            if key == NONE_OF_THESE:
                nothing_fits(dispatcher)
                return [SlotSet(OFFERED_SLOT, None)]
            if key is None or key not in KNOWLEDGE.entries:
                logger.info("knowledge: choice not offered (conversation %s)", conversation)
                dispatcher.utter_message(response="utter_knowledge_unknown_choice")
                return [SlotSet(OFFERED_SLOT, None)]
            logger.info("knowledge: chosen %s (conversation %s)", key, conversation)
            answer(dispatcher, key)
            return [SlotSet(OFFERED_SLOT, None)]
        question = text_of(tracker)
        if not question:
            dispatcher.utter_message(response="utter_knowledge_ask")
            return [SlotSet(OFFERED_SLOT, None)]
        decision = (await trained_ranker()).decide(question)
        keys = [candidate.key for candidate in decision.candidates]
        # Logs name the entry and the decision, never the question.
        logger.info("knowledge: %s %s (conversation %s)", decision.kind, ",".join(keys), conversation)
        if decision.kind == ANSWER:
            answer(dispatcher, keys[0])
            return [SlotSet(OFFERED_SLOT, None)]
        if decision.kind == CHOOSE:
            dispatcher.utter_message(response="utter_knowledge_choose", buttons=choice_buttons(keys))
            return [SlotSet(OFFERED_SLOT, [*keys, NONE_OF_THESE])]
        nothing_fits(dispatcher)
        return [SlotSet(OFFERED_SLOT, None)]
