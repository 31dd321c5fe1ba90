"""What the agent reads of a conversation: the transcript of the current session and the answers
given so far, from Rasa's tracker (GET /conversations/<id>/tracker). Shared by the built-in
console (handoff/console.py) and the Chatwoot bridge (handoff/chatwoot.py)."""

from __future__ import annotations

from typing import Any, Dict, List

# The slots shown as the context of a conversation (none of Rasa's own).
HIDDEN_SLOTS = {"requested_slot", "session_started_metadata", "territory_of", "privacy_url", "form_failures"}


def current_session_events(tracker: Dict[str, Any]) -> List[Dict[str, Any]]:
    events = tracker.get("events") or []
    starts = [i for i, e in enumerate(events) if e.get("event") == "session_started"]
    return events[starts[-1] :] if starts else events


def transcript(tracker: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The messages of the current session: who (usager, assistant, agent), when, what."""
    lines = []
    for event in current_session_events(tracker):
        kind = event.get("event")
        if kind == "user" and not str(event.get("text") or "").startswith("EXTERNAL: "):
            lines.append({"who": "usager", "text": event.get("text") or "", "at": event.get("timestamp")})
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            who = "agent" if metadata.get("handoff_agent") else "assistant"
            lines.append({"who": who, "text": event.get("text") or "", "at": event.get("timestamp")})
    return lines


def context_slots(tracker: Dict[str, Any]) -> Dict[str, Any]:
    """The answers given so far (slots with a value), without Rasa's own."""
    slots = tracker.get("slots") or {}
    return {k: v for k, v in slots.items() if v not in (None, "", [], {}) and k not in HIDDEN_SLOTS}
