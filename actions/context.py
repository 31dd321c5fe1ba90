"""What every action module shares: the territory (validated once at import: the action
server refuses to start on a bad file) and the pseudonyms used in logs."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from rasa_sdk import Tracker

from core.territory import Territory, load_territory

TERRITORY: Territory = load_territory()

# Salted so that a short id (a phone-like Messenger PSID) cannot be found back by brute force.
# Set GRU_LOG_SALT to keep pseudonyms stable across restarts; otherwise one salt per process.
_LOG_SALT = (os.environ.get("GRU_LOG_SALT") or secrets.token_hex(16)).encode("utf-8")


def pseudonym(sender_id: str) -> str:
    """A short, non-reversible id for logs: conversations can be followed, not identified."""
    return hmac.new(_LOG_SALT, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    """The value of an entity in the latest user message only (not an old slot)."""
    value = next(tracker.get_latest_entity_values(entity), None)
    return str(value) if value is not None else None
