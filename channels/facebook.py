"""Facebook Messenger, as Rasa's `facebook` channel with answers shaped for Messenger.

Same webhook URL (/webhooks/facebook/webhook) and credentials as Rasa's channel, with:
- a wrong verify token or an unsigned / wrongly signed webhook refused with 403
  (Rasa's channel answers 200), never passed to the assistant; tokens and signatures
  compared in constant time;
- every event of a batched webhook handled (Rasa's channel stops at the first), after
  the 200: Meta retries, then disables, webhooks that answer slowly. The events run in
  tracked asyncio tasks; failures are logged without personal data, unsupported events
  by their kind only;
- a message over the shared size limit (channels.limits) answered with the French
  refusal instead of reaching the NLU;
- a sender (PSID) over its request rate (channels.rate; not per address: Meta's servers
  send every webhook) told once per window in French, the message not processed;
- the « Démarrer » (get started) postback leading to the welcome;
- buttons rendered as Messenger can: up to 3 → a button template, up to 13 → quick
  replies (titles cut to 20 characters), web links → URL buttons; texts split at 2,000
  characters (640 with buttons);
- Graph API calls made in a thread (the fbmessenger client is blocking) and sent to
  GRU_FACEBOOK_GRAPH_URL when set (tests point it at a local server);
- every turn timed and a failed one counted (channels.metrics).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Set

from fbmessenger import MessengerClient
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import facebook_optin, log_privacy, metrics
from channels.handoff import before_message
from channels.limits import MESSAGE_TOO_LONG, TOO_MANY_MESSAGES, refusal
from channels.rate import ALLOW, REFUSE, ChannelRates

log_privacy.install()
logger = logging.getLogger(__name__)

GET_STARTED_PAYLOAD = "GET_STARTED"
MAX_TEXT = 2000
MAX_TEXT_WITH_BUTTONS = 640
MAX_QUICK_REPLIES = 13
MAX_TEMPLATE_BUTTONS = 3
MAX_TITLE = 20


def graph_client(page_access_token: str) -> MessengerClient:
    client = MessengerClient(page_access_token)
    graph_url = os.environ.get("GRU_FACEBOOK_GRAPH_URL")
    if graph_url:
        client.graph_url = graph_url.rstrip("/")
    return client


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Messenger refuses longer messages: cut at paragraph, line or word boundaries."""
    parts: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return parts + [rest] if rest else parts


def short_title(title: str) -> str:
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


# The key of the custom payload the agent console sends for an agent's reply on Messenger.
HUMAN_AGENT_KEY = "gru_human_agent"


class MessengerOutput(MessengerBot):
    """Rasa's Messenger output, with Messenger's limits applied and no blocking call."""

    async def _post(self, payload: Dict[str, Any], recipient_id: str) -> None:
        await asyncio.to_thread(self.messenger_client.send, payload, recipient_id, "RESPONSE")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text):
            await self._post({"text": part}, recipient_id)

    async def send_action(self, recipient_id: str, sender_action: str) -> None:
        await asyncio.to_thread(self.messenger_client.send_action, sender_action, recipient_id)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """≤ 3 buttons or web links → a button template; more choices → quick replies (≤ 13)."""
        links = [b for b in buttons if b.get("type") == "web_url" or b.get("url")]
        choices = [b for b in buttons if b not in links]
        limit = MAX_TEXT_WITH_BUTTONS if (links or len(choices) <= MAX_TEMPLATE_BUTTONS) else MAX_TEXT
        *before, last = split_text(text, limit) or ["…"]
        for part in before:
            await self._post({"text": part}, recipient_id)
        if not links and len(choices) > MAX_TEMPLATE_BUTTONS:
            quick = [{"content_type": "text", "title": short_title(b["title"]), "payload": b["payload"]}
                     for b in choices[:MAX_QUICK_REPLIES]]  # fmt: skip
            await self._post({"text": last, "quick_replies": quick}, recipient_id)
            return
        template = [{"type": "web_url", "url": b["url"], "title": short_title(b["title"])} for b in links]
        template += [
            {"type": "postback", "title": short_title(b["title"]), "payload": b["payload"]} for b in choices
        ]
        payload = {"template_type": "button", "text": last, "buttons": template[:MAX_TEMPLATE_BUTTONS]}
        await self._post({"attachment": {"type": "template", "payload": payload}}, recipient_id)
        rest = [
            b
            for b in choices
            if b["payload"] not in {t.get("payload") for t in template[:MAX_TEMPLATE_BUTTONS]}
        ]
        if rest:  # links took the template's places: the other choices as quick replies
            quick = [{"content_type": "text", "title": short_title(b["title"]), "payload": b["payload"]}
                     for b in rest[:MAX_QUICK_REPLIES]]  # fmt: skip
            await self._post({"text": "Autres choix :", "quick_replies": quick}, recipient_id)

    async def send_elements(self, recipient_id: str, elements: List[Dict[str, Any]], **kwargs: Any) -> None:
        for element in elements:
            for button in element.get("buttons", []):
                button.setdefault("type", "postback")
        payload = {
            "attachment": {"type": "template", "payload": {"template_type": "generic", "elements": elements}}
        }
        await self._post(payload, recipient_id)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        custom = message.get("custom")
        if isinstance(custom, dict) and HUMAN_AGENT_KEY in custom:  # the text is in the custom payload
            await self.send_custom_json(recipient_id, custom)
            return
        await super().send_response(recipient_id, message)

    async def send_custom_json(self, recipient_id: str, json_message: Any, **kwargs: Any) -> None:
        if isinstance(json_message, dict) and HUMAN_AGENT_KEY in json_message:
            # An agent's reply (handoff/console.py): Meta allows it up to 7 days after the
            # person's last message with the HUMAN_AGENT tag (24 hours for a plain RESPONSE).
            for part in split_text(str(json_message[HUMAN_AGENT_KEY])):
                await asyncio.to_thread(
                    self.messenger_client.send, {"text": part}, recipient_id, "MESSAGE_TAG", tag="HUMAN_AGENT"
                )
            return
        await self._post(json_message, recipient_id)


class GuardedMessenger(Messenger):
    def __init__(
        self,
        page_access_token: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        rates: ChannelRates | None = None,
        app: Any = None,
    ) -> None:
        super().__init__(page_access_token, on_new_message)
        self.client = graph_client(page_access_token)
        self.rates = rates
        self.app = app  # Rasa's Sanic app: the hand-off hook resumes paused conversations through it

    ATTACHMENT_CHECKS = (
        Messenger._is_audio_message,
        Messenger._is_image_message,
        Messenger._is_video_message,
        Messenger._is_file_message,
    )

    async def handle(self, payload: Dict[str, Any], metadata: Dict[str, Any] | None) -> None:
        """Every event of every entry, in order (Rasa's channel returns after the first)."""
        for entry in payload.get("entry") or []:
            events = entry.get("messaging") if isinstance(entry, dict) else None
            for event in events if isinstance(events, list) else []:
                if not isinstance(event, dict):
                    continue
                self.last_message = event
                try:
                    if event.get("message"):
                        await self.message(event, metadata)
                    elif event.get("postback"):
                        await self.postback(event, metadata)
                    elif event.get("optin"):  # crisis alerts: Meta's notification_messages opt-in
                        await facebook_optin.handle_optin(
                            event, MessengerOutput(self.client).send_text_message
                        )
                    else:
                        logger.info("Messenger event ignored: %s", event_kind(event))
                except Exception as exc:  # noqa: BLE001 - one bad event must not stop the batch
                    logger.error(
                        "Messenger %s event failed: %s", event_kind(event), log_privacy.describe_error(exc)
                    )

    async def message(self, message: Dict[str, Any], metadata: Dict[str, Any] | None) -> None:
        body = message.get("message") or {}
        if self._is_quick_reply_message(message):
            text = body["quick_reply"]["payload"]
        elif self._is_user_message(message):
            text = body["text"]
        elif self._is_image_message(message):  # a photo for a report (actions/reports.py downloads it)
            text = "/share_photo" + json.dumps({"photo_url": str(body["attachments"][0]["payload"]["url"])})
        elif location_of(body) is not None:  # a position shared from the Messenger app, for a report
            latitude, longitude = location_of(body)
            text = "/share_location" + json.dumps({"latitude": latitude, "longitude": longitude})
        elif any(check(message) for check in self.ATTACHMENT_CHECKS):  # audio, video, file
            text = body["attachments"][0]["payload"]["url"]
        else:
            text = None
        if not isinstance(text, str) or not text:
            logger.info("Messenger event ignored: %s", event_kind(message))
            return
        if refusal(text):
            await MessengerOutput(self.client).send_text_message(self.get_user_id(), MESSAGE_TOO_LONG)
            return
        # crisis alerts: « STOP » from a subscriber ends the alerts at once (channels/facebook_optin.py)
        if await facebook_optin.handle_stop(
            self.get_user_id(), text, MessengerOutput(self.client).send_text_message
        ):
            return
        await self._handle_user_message(text, self.get_user_id(), metadata)

    async def postback(self, message: Dict[str, Any], metadata: Dict[str, Any] | None) -> None:
        payload = message["postback"].get("payload") or ""
        if not isinstance(payload, str):
            logger.info("Messenger event ignored: %s", event_kind(message))
            return
        if refusal(payload):
            await MessengerOutput(self.client).send_text_message(self.get_user_id(), MESSAGE_TOO_LONG)
            return
        text = "/greet" if payload == GET_STARTED_PAYLOAD else payload
        await self._handle_user_message(text, self.get_user_id(), metadata)

    async def _handle_user_message(self, text: str, sender_id: str, metadata: Dict[str, Any] | None) -> None:
        out_channel = MessengerOutput(self.client)
        decision = await self.rates.check(sender_id) if self.rates is not None else ALLOW
        if decision != ALLOW:  # told once per window, then silence: no Graph call per message
            if decision == REFUSE:
                await out_channel.send_text_message(sender_id, TOO_MANY_MESSAGES)
            return
        await out_channel.send_action(sender_id, sender_action="mark_seen")
        text = await before_message(self.app, sender_id, text)
        user_message = UserMessage(text, out_channel, sender_id, input_channel=self.name(), metadata=metadata)
        await out_channel.send_action(sender_id, sender_action="typing_on")
        try:
            await self.on_new_message(user_message)
        except Exception as exc:  # noqa: BLE001 - logged; the other events go on
            logger.error("Messenger message could not be handled: %s", log_privacy.describe_error(exc))
        finally:
            await out_channel.send_action(sender_id, sender_action="typing_off")


def location_of(body: Dict[str, Any]) -> tuple[float, float] | None:
    """(latitude, longitude) of a Messenger location attachment, or None."""
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments or not isinstance(attachments[0], dict):
        return None
    if attachments[0].get("type") != "location":
        return None
    coordinates = (attachments[0].get("payload") or {}).get("coordinates") or {}
    try:
        latitude, longitude = float(coordinates["lat"]), float(coordinates["long"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def event_kind(event: Dict[str, Any]) -> str:
    """What a Messenger event is (« message/attachments:image », « read », …), never its content."""
    body = event.get("message")
    if isinstance(body, dict):
        if body.get("is_echo"):
            return "message/echo"
        attachments = body.get("attachments")
        if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
            return f"message/attachments:{str(attachments[0].get('type'))[:20]}"
        return "message/" + ("text" if "text" in body else "other")
    known = ("postback", "delivery", "read", "reaction", "referral", "optin", "account_linking")
    return next((kind for kind in known if kind in event), "unknown")


class GuardedFacebookInput(FacebookInput):
    @classmethod
    def name(cls) -> str:
        return "facebook"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("guarded_fb_webhook", __name__)
        on_new_message = metrics.timed(self.name(), on_new_message)  # turn latency and errors
        # The batches being handled: a task nobody references may be garbage-collected.
        self.tasks: Set[asyncio.Task] = set()
        self.rates = ChannelRates.from_env(by_address=False)  # Meta's servers share addresses

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if self.fb_verify and hmac.compare_digest(
                token.encode("utf-8"), str(self.fb_verify).encode("utf-8")
            ):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("Messenger verification refused: wrong verify token")
            return response.text("invalid verify token", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            signature = (
                request.headers.get("X-Hub-Signature-256") or request.headers.get("X-Hub-Signature") or ""
            )
            if not self.validate_hub_signature(self.fb_secret, request.body, signature):
                logger.warning("Messenger webhook refused: missing or wrong signature")
                return response.text("invalid signature", status=403)
            try:
                entries = request.json["entry"]
                if not isinstance(entries, list):
                    raise TypeError("entry is not a list")
            except Exception:  # noqa: BLE001 - a signed but malformed body is still refused cleanly
                return response.text("invalid payload", status=400)
            messenger = GuardedMessenger(self.fb_access_token, on_new_message, self.rates, request.app)
            self.run_later(messenger.handle({"entry": entries}, self.get_metadata(request)))
            return response.text("success")

        return webhook

    def run_later(self, work: Awaitable[None]) -> asyncio.Task:
        """Handle a webhook's events after its 200, keeping the task referenced until it ends."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Messenger webhook failed: %s", log_privacy.describe_error(task.exception()))

    @staticmethod
    def validate_hub_signature(app_secret: str, request_payload: bytes, hub_signature_header: str) -> bool:
        """sha1= (X-Hub-Signature) or sha256= (X-Hub-Signature-256), compared in constant time."""
        method, _, signature = (hub_signature_header or "").partition("=")
        if method not in ("sha1", "sha256") or not signature or not app_secret or not signature.isascii():
            return False  # compare_digest raises on non-ASCII text: refused, not a 500
        expected = hmac.new(app_secret.encode("utf-8"), request_payload, getattr(hashlib, method)).hexdigest()
        return hmac.compare_digest(expected, signature)

    def get_output_channel(self) -> MessengerOutput:
        return MessengerOutput(graph_client(self.fb_access_token))
