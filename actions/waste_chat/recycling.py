"""The recycling centre (déchetterie): open now or when, the week's hours, what it takes,
how to get in. The answers are worded by waste/recycling.py from the content file."""

from __future__ import annotations

from typing import List

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.common import entity_values
from core import clock
from waste.recycling import access_fr, describe_center_fr, materials_fr, week_hours_fr

from .content import MESSAGE_LIMIT, RECYCLING

# The answer to each button; each response offers the other buttons.
RESPONSES = {
    "materials": "utter_recycling_center_materials",
    "access": "utter_recycling_center_access",
}


class ActionRecyclingCenter(Action):
    def name(self) -> str:
        return "action_recycling_center"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        center = RECYCLING.center()
        choice = next(iter(entity_values(tracker, "choice")), None)
        now = clock.now()
        if choice == "materials":
            answer = materials_fr(center)
        elif choice == "access":
            answer = access_fr(center)
        else:
            status = describe_center_fr(center, now)
            answer = status + "\n" + week_hours_fr(center, now.date(), limit=MESSAGE_LIMIT - len(status) - 1)
        dispatcher.utter_message(response=RESPONSES.get(choice, "utter_recycling_center"), answer=answer)
        return []
