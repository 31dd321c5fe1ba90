"""« Retour à l'assistant » while an agent holds the conversation (live hand-off).

While a conversation is handed to an agent, Rasa keeps it paused (ConversationPaused, set by
action_human_handoff): it stores the citizen's messages for the agent and predicts nothing.
A paused tracker cannot notice by itself that the citizen wants the assistant back, so the
channels (REST, socketio) call `before_message` before handing a message to Rasa: on the
hand-off's button payload or the words « retour à l'assistant », it ends the hand-off in the
queue (reason « citizen_left », the agent's console shows it), appends ConversationResumed
to the tracker under the conversation's lock, and hands Rasa `/help` instead, so the
citizen is answered at once with what the assistant can do. A stale button clicked after
the hand-off ended gets the same answer (its payload names no intent of the domain).
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from typing import Any

from rasa.shared.core.events import ConversationResumed

from core.db import session_scope
from handoff import queue
from staff.auth import utcnow

logger = logging.getLogger(__name__)

BACK_PAYLOAD = "/handoff_back"
AFTER_BACK = "/help"
_BACK_WORDS = {
    "retour a l'assistant",
    "retour a l assistant",
    "revenir a l'assistant",
    "revenir a l assistant",
    "retour au robot",
    "retour assistant",
}


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c)).rstrip(" .!")


def wants_the_assistant_back(text: Any) -> bool:
    return isinstance(text, str) and (text.strip() == BACK_PAYLOAD or _plain(text) in _BACK_WORDS)


def _leave(conversation_id: str) -> bool:
    with session_scope(write=True) as session:
        request = queue.active_for(session, conversation_id)
        if request is None:
            return False
        queue.close(session, request, "citizen_left", utcnow())
        return True


async def _resume(agent: Any, conversation_id: str) -> None:
    async with agent.lock_store.lock(conversation_id):
        tracker = await agent.processor.get_tracker(conversation_id)
        if tracker.is_paused():
            tracker.update(ConversationResumed())
            await agent.processor.save_tracker(tracker)


async def before_message(app: Any, conversation_id: str, text: Any) -> Any:
    """The text Rasa should get for this message (the same one, almost always)."""
    if not wants_the_assistant_back(text):
        return text
    try:
        left = await asyncio.to_thread(_leave, conversation_id)
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        if agent is not None:
            await _resume(agent, conversation_id)
    except Exception as exc:  # noqa: BLE001 - the message still reaches the assistant
        logger.error("hand-off could not be ended: %s", type(exc).__name__)
        return text
    if left:
        logger.info("hand-off ended by the citizen")
    return AFTER_BACK if left or text.strip() == BACK_PAYLOAD else text
