"""The sorting guide (« où jeter … ? »): the guide's answer, and buttons when several
items match."""

from __future__ import annotations

import asyncio
from typing import List

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.common import button, entity_values, text_of
from waste.sorting import answer_fr, find_item

from .content import SORTING

MAX_TITLE = 20  # Messenger's quick replies


class ActionSortingRules(Action):
    def name(self) -> str:
        return "action_sorting_rules"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        choice = next(iter(entity_values(tracker, "choice")), None)
        asked = choice or text_of(tracker)
        matches = await asyncio.to_thread(find_item, SORTING, asked)  # CPU work off the event loop
        buttons = []
        if len(matches) > 1 and not choice:
            buttons = [
                button(m.item.name[:MAX_TITLE], "sorting_rules", choice=m.item.name) for m in matches[:3]
            ]
        answer = await asyncio.to_thread(answer_fr, SORTING, matches, asked)
        dispatcher.utter_message(response="utter_sorting_answer", answer=answer, buttons=buttons)
        return []
