"""The REST channel, with the request checked before it reaches the assistant.

Rasa's own RestInput answers a malformed body with a 500 or an empty 200, and lets
the client choose `input_channel`. This subclass keeps the same URL
(/webhooks/rest/webhook) and answer format, but refuses bad requests with a clear
4xx and always records the real channel.
"""

from __future__ import annotations

from typing import Any, Dict

from rasa.core.channels.rest import RestInput
from sanic.exceptions import SanicException
from sanic.request import Request

MAX_MESSAGE_CHARS = 20_000
MAX_SENDER_CHARS = 256
_PAYLOAD_KEY = "gru_payload"


class BadRequest(SanicException):
    status_code = 400
    quiet = True  # a client error, not ours: no traceback in the logs


class PayloadTooLarge(SanicException):
    status_code = 413
    quiet = True


def _payload(request: Request) -> Dict[str, Any]:
    cached = request.ctx.__dict__.get(_PAYLOAD_KEY)
    if cached is not None:
        return cached
    try:
        payload = request.json
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the client's
        raise BadRequest("Requête invalide : le corps doit être un objet JSON.") from exc
    if not isinstance(payload, dict):
        raise BadRequest('Requête invalide : le corps doit être un objet JSON {"sender": …, "message": …}.')
    setattr(request.ctx, _PAYLOAD_KEY, payload)
    return payload


class GuardedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    async def _extract_sender(self, req: Request) -> str | None:
        sender = _payload(req).get("sender")
        if isinstance(sender, int) and not isinstance(sender, bool):
            sender = str(sender)
        if not isinstance(sender, str) or not sender.strip():
            raise BadRequest("Requête invalide : « sender » doit être un identifiant texte non vide.")
        if len(sender) > MAX_SENDER_CHARS:
            raise BadRequest("Requête invalide : « sender » est trop long.")
        return sender

    def _extract_message(self, req: Request) -> str | None:
        message = _payload(req).get("message")
        if not isinstance(message, str):
            raise BadRequest("Requête invalide : « message » doit être un texte.")
        if len(message) > MAX_MESSAGE_CHARS:
            raise PayloadTooLarge(
                f"Message trop long : {MAX_MESSAGE_CHARS} caractères au plus. Merci de le raccourcir."
            )
        return message

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        metadata = _payload(request).get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest("Requête invalide : « metadata » doit être un objet JSON.")
        return metadata
