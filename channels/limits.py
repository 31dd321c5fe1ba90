"""Size limits shared by every channel (REST, socketio, Messenger), and the French
refusals a client gets when it goes over them (rate limits: channels.rate).

The NLU's memory grows with the square of a message's length, and metadata is stored
in the tracker and sent to the action server on every call: both are checked before
the message reaches the assistant.
"""

from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE_CHARS = 20_000
MAX_SENDER_CHARS = 256
MAX_METADATA_BYTES = 2 * 1024  # serialised as compact UTF-8 JSON
# A whole REST body: room for the longest message even when every character is sent
# as a JSON escaped surrogate pair (12 bytes), plus the sender and the metadata.
MAX_BODY_BYTES = 256 * 1024


def _french_number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


MESSAGE_TOO_LONG = (
    f"Votre message est trop long : {_french_number(MAX_MESSAGE_CHARS)} caractères au plus. "
    "Merci de le raccourcir."
)
METADATA_TOO_LARGE = (
    f"Requête refusée : les métadonnées dépassent {MAX_METADATA_BYTES // 1024} Ko. Merci de les alléger."
)
BODY_TOO_LARGE = f"Requête trop volumineuse : {MAX_BODY_BYTES // 1024} Ko au plus."
TOO_MANY_MESSAGES = (
    "Vous envoyez beaucoup de messages en peu de temps. Merci de patienter une minute avant de réessayer."
)


def metadata_size(metadata: Any) -> int:
    """Bytes of `metadata` as compact UTF-8 JSON (a string is measured as it is)."""
    if metadata is None:
        return 0
    if isinstance(metadata, (str, bytes)):
        return len(metadata.encode("utf-8") if isinstance(metadata, str) else metadata)
    try:
        text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # circular or exotic: as if too large
        return MAX_METADATA_BYTES + 1
    return len(text.encode("utf-8"))


def refusal(message: Any, metadata: Any = None) -> str | None:
    """The French refusal when the message or the metadata is over its limit, else None."""
    if isinstance(message, str) and len(message) > MAX_MESSAGE_CHARS:
        return MESSAGE_TOO_LONG
    if metadata_size(metadata) > MAX_METADATA_BYTES:
        return METADATA_TOO_LARGE
    return None
