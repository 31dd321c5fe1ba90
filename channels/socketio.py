"""The website widget's socketio channel: Rasa's, with the size limits and the room fix.

Same URL, events and credentials as Rasa's `socketio` channel (user_message_evt,
bot_message_evt, session_persistence, socketio_path, …). Two of its handlers are
replaced:
- `session_request` awaits `enter_room`, a coroutine since python-socketio 5.10 that
  Rasa 3.6 never awaits: with session persistence the widget would get no answer;
  an unusable session id (not text, too long) is replaced by a new one;
- the user message handler refuses, in French and before anything is parsed, a
  message over `MAX_MESSAGE_CHARS` or metadata over `MAX_METADATA_BYTES`
  (channels.limits): the NLU never sees them; a session or a client address over its
  request rate (channels.rate) gets the French refusal instead of an answer.
Every turn is timed and a failed one counted (channels.metrics).
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput

from channels import log_privacy, metrics
from channels.handoff import before_message
from channels.limits import MAX_SENDER_CHARS, TOO_MANY_MESSAGES, refusal
from channels.rate import ALLOW, ChannelRates, client_address

log_privacy.install()
logger = logging.getLogger(__name__)

INVALID_MESSAGE = "Requête invalide : le message doit être un texte."


def quick_reply(button: dict) -> dict:
    """A button as the widget reads it: a link button keeps its url (web/src/render.js shows it
    as a link), any other button its payload."""
    if button.get("type") == "web_url" or ("url" in button and "payload" not in button):
        return {"content_type": "text", "type": "web_url", "title": button["title"], "url": button["url"]}
    return {"content_type": "text", "title": button["title"], "payload": button["payload"]}


class WidgetOutput(SocketIOOutput):
    """Rasa's socketio output reads every button's `payload`: a link button (« Plus d'infos »,
    « S'inscrire en ligne », the waste calendar) raised KeyError and the whole answer was lost on
    the website. This one keeps Rasa's message shape and passes link buttons with their url."""

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list, **kwargs: Any
    ) -> None:
        messages = [{"text": part, "quick_replies": []} for part in text.strip().split("\n\n") or [text]]
        messages[-1]["quick_replies"] = [quick_reply(button) for button in buttons]
        for message in messages:
            await self._send_message(recipient_id, message)


def usable_session_id(value: Any) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= MAX_SENDER_CHARS:
        return value
    return uuid.uuid4().hex


class GuardedSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
        on_new_message = metrics.timed(self.name(), on_new_message)  # turn latency and errors
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by Rasa's blueprint()
        self.rates = ChannelRates.from_env()

        def address(sid: str) -> str | None:
            environ = sio.get_environ(sid, namespace=self.namespace) or {}
            return client_address(environ.get("sanic.request"))

        async def refuse(sid: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=self.namespace)

        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = usable_session_id(data.get("session_id"))
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):  # python-socketio >= 5.10
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return await refuse(sid, INVALID_MESSAGE)
            message = data.get("message", "")
            metadata = data.get(self.metadata_key) or {}
            if not isinstance(message, str):
                return await refuse(sid, INVALID_MESSAGE)
            too_big = refusal(message, metadata)
            if too_big:
                return await refuse(sid, too_big)
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not sender_id or len(sender_id) > MAX_SENDER_CHARS:
                    logger.warning("socketio message without a usable session id ignored")
                    return
            else:
                sender_id = sid
            if await self.rates.check(sender_id, address(sid)) != ALLOW:
                return await refuse(sid, TOO_MANY_MESSAGES)
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = None
            if not isinstance(metadata, dict):
                return await refuse(sid, "Requête invalide : les métadonnées doivent être un objet JSON.")
            request = (sio.get_environ(sid, namespace=self.namespace) or {}).get("sanic.request")
            message = await before_message(getattr(request, "app", None), sender_id, message)
            output_channel = WidgetOutput(sio, self.bot_message_evt)
            user_message = UserMessage(
                message, output_channel, sender_id, input_channel=self.name(), metadata=metadata
            )
            try:
                await on_new_message(user_message)
            except Exception as exc:  # noqa: BLE001 - logged without the message
                logger.error("socketio message could not be handled: %s", log_privacy.describe_error(exc))

        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return webhook
