"""Rasa's SQL tracker store, with two privacy rules applied when a conversation is saved.

- **Welfare triage**: what a citizen says of their situation (the welfare_* slots, their
  messages of the triage and the assistant's answers to them) is replaced by « [masqué] »
  (core.privacy.mask_welfare). The form needs its answers from one message to the next, so
  they are stored as they are while the triage is going on (welfare_form active or an answer
  still held in a welfare_* slot) and masked, in every row of the session, by the save in
  which the triage ends; the daily purge deletes whatever a triage left unfinished after
  `conversations_days`.
- **« Oubliez mes données »**: when the citizen asked for it in this turn (intent
  delete_my_data, or action_delete_my_data ran), every stored
  event of the conversation is deleted and nothing of it is written back (Rasa would
  otherwise save the session it holds in memory again, after the action erased it).

Endpoints: `tracker_store: {type: channels.tracker_store.RedactingSQLTrackerStore, …}` with
the same keys as Rasa's SQL store (ops/render.py writes them from GRU_TRACKER_STORE_URL).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from core.privacy import (
    WELFARE_FORM,
    WELFARE_INTENT,
    intent_of,
    is_welfare_slot,
    mask_welfare,
    tells_of_welfare,
)

logger = logging.getLogger(__name__)

DELETE_ACTION = "action_delete_my_data"
DELETE_INTENT = "delete_my_data"  # mid-form, the action runs inside the form's (a digression)


def asks_to_forget(event: Event) -> bool:
    """The citizen asked to forget their data in this turn."""
    if isinstance(event, ActionExecuted):
        return event.action_name == DELETE_ACTION
    return isinstance(event, UserUttered) and event.intent_name == DELETE_INTENT


def triage_going_on(tracker: DialogueStateTracker) -> bool:
    """The welfare form still needs the answers given so far."""
    if tracker.active_loop_name == WELFARE_FORM:
        return True
    return any(is_welfare_slot(name) and slot.value is not None for name, slot in tracker.slots.items())


def may_change_masking(new_data: List[Dict[str, Any]]) -> bool:
    """Whether this save's new events (Rasa's dict form) can change what must be masked in the
    session: a form started or stopped (the triage may have ended), a welfare_* slot was set or
    reset, or a message was about welfare. Otherwise the stored events were masked as needed by
    the save that ended the last triage, and the new ones tell nothing of a welfare situation:
    the session's rows are not read again. Profiled (`python -m ops.profile session`): reading
    and decoding them at every save was 12 % of a turn at the 100th turn of a session."""
    for event in new_data:
        kind = event.get("event")
        if kind == "active_loop" or (kind == "slot" and is_welfare_slot(event.get("name"))):
            return True
        if kind == "user" and intent_of(event) == WELFARE_INTENT:
            return True
    return False


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that masks welfare details and honours « oubliez mes données »."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            if any(asks_to_forget(event) for event in new_events):
                session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == tracker.sender_id).delete(
                    synchronize_session=False
                )
                session.commit()
                logger.debug("conversation erased on the citizen's request")
                return
            new_data = [event.as_dict() for event in new_events]
            stored: List[Any] = []
            if not triage_going_on(tracker) and may_change_masking(new_data):
                stored = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).all()
                everything = [json.loads(row.data) for row in stored] + new_data
                if tells_of_welfare(everything):
                    masked = list(mask_welfare(everything))
                    for row, (data, changed) in zip(stored, masked[: len(stored)], strict=True):
                        if changed:
                            row.data = json.dumps(data)
                    new_data = [data for data, _ in masked[len(stored) :]]
            for event, data in zip(new_events, new_data, strict=True):
                session.add(self._row(tracker.sender_id, event.type_name, data))
            session.commit()

    def _row(self, sender_id: str, type_name: str, data: Dict[str, Any]) -> Any:
        intent = (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY)
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=type_name,
            timestamp=data.get("timestamp"),
            intent_name=intent,
            action_name=data.get("name"),
            data=json.dumps(data),
        )
