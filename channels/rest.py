"""The REST channel, with the request checked before it reaches the assistant.

Rasa's own RestInput answers a malformed body with a 500 or an empty 200, lets the
client choose `input_channel`, reads bodies up to Sanic's 100 MB and logs the message
text when handling fails. This subclass keeps the same URL (/webhooks/rest/webhook)
and answer format, but:
- reads the body itself (a streaming route) and stops at `MAX_BODY_BYTES` with a 413,
  so a huge body is never held in memory;
- refuses bad requests with a clear 4xx in French: a message over `MAX_MESSAGE_CHARS`
  or metadata over `MAX_METADATA_BYTES` (channels.limits) never reaches the NLU;
- refuses a sender or a client address over its request rate (channels.rate) with a
  429 and the French refusal, before the message reaches the assistant;
- always records the real channel, and logs failures without the message;
- times every turn and counts the failed ones (channels.metrics).
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import log_privacy, metrics
from channels.handoff import before_message
from channels.limits import (
    BODY_TOO_LARGE,
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_METADATA_BYTES,
    MAX_SENDER_CHARS,
    MESSAGE_TOO_LONG,
    METADATA_TOO_LARGE,
    TOO_MANY_MESSAGES,
    metadata_size,
)
from channels.rate import ALLOW, ChannelRates, client_address

log_privacy.install()
logger = logging.getLogger(__name__)

_PAYLOAD_KEY = "gru_payload"


class BadRequest(SanicException):
    status_code = 400
    quiet = True  # a client error, not ours: no traceback in the logs


class PayloadTooLarge(SanicException):
    status_code = 413
    quiet = True


class TooManyRequests(SanicException):
    status_code = 429
    quiet = True


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read chunk by chunk and refused (413) past `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(BODY_TOO_LARGE)
    if request.stream is None:  # body already received (not a streaming request)
        body = request.body or b""
    else:
        chunks, size = [], 0
        async for chunk in request.stream:
            size += len(chunk)
            if size > limit:  # chunked or lying: stop reading; Sanic discards the rest
                raise PayloadTooLarge(BODY_TOO_LARGE)
            chunks.append(chunk)
        body = b"".join(chunks)
    if len(body) > limit:
        raise PayloadTooLarge(BODY_TOO_LARGE)
    request.body = body
    return body


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
            raise PayloadTooLarge(MESSAGE_TOO_LONG)
        return message

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        metadata = _payload(request).get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest("Requête invalide : « metadata » doit être un objet JSON.")
        if metadata_size(metadata) > MAX_METADATA_BYTES:
            raise PayloadTooLarge(METADATA_TOO_LARGE)
        return metadata

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Rasa's two routes; the webhook streams its body so that its size is bounded."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        self.rates = ChannelRates.from_env()
        on_new_message = metrics.timed(self.name(), on_new_message)  # turn latency and errors

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> Any:
            await read_body(request)
            sender_id = await self._extract_sender(request)
            if await self.rates.check(sender_id, client_address(request)) != ALLOW:
                raise TooManyRequests(TOO_MANY_MESSAGES)
            text = await before_message(request.app, sender_id, self._extract_message(request))
            metadata = self.get_metadata(request)
            input_channel = self._extract_input_channel(request)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
                )
            except CancelledError:
                logger.error("REST message timed out")
            except Exception as exc:  # noqa: BLE001 - the client still gets what was said
                logger.error("REST message could not be handled: %s", log_privacy.describe_error(exc))
            return response.json(collector.messages)

        return webhook
