"""Optional Chatwoot adapter of the live hand-off (`GRU_HANDOFF=chatwoot`), for teams that
already answer citizens in Chatwoot, the open-source helpdesk. The built-in console stays the
default (`GRU_HANDOFF=live`).

How it works:
- action_human_handoff (actions/handoff.py) still writes the queue row (handoff_requests: the
  statistics and the « recently unanswered » rule keep working), then opens a Chatwoot
  conversation in an API inbox: a contact named by a pseudonym (never the Rasa sender id nor a
  name), the service and the topic as labels and custom attributes, and the session's
  transcript as one private note. If Chatwoot does not answer, the row is withdrawn and the
  citizen gets the service's contact, as when nobody is on duty.
- Rasa is paused during a hand-off (no action runs), so the console process forwards the
  citizen's messages: every few seconds it reads the tracker of each active hand-off and posts
  the new user messages as `incoming` messages. What was forwarded is derived from Chatwoot
  itself (the number of incoming messages of the conversation, counted from the Rasa event
  stamped `gru_since` at the opening), so nothing is sent twice or lost across a restart, and no
  table is needed.
- Chatwoot's webhooks come to the console (POST /chatwoot/webhook, signed): an agent's
  `message_created` (outgoing, not private) is said through Rasa on the citizen's channel
  (handoff/rasa_api.py: webchat, Messenger with the HUMAN_AGENT tag); the conversation resolved
  closes the row (« answered ») and the assistant resumes. The bridge's own incoming messages
  and private notes come back as webhooks too: they are ignored (no echo loop).
- A hand-off that ends on our side (« retour à l'assistant », nobody answered within
  GRU_HANDOFF_DELAY) resolves its Chatwoot conversation with a private note saying why.

Shapes from chatwoot/chatwoot (v4.x, Application API; api_access_token header):
- swagger/definitions/request/contact/create_payload.yml, app/views/api/v1/accounts/contacts/
  create.json.jbuilder: POST /api/v1/accounts/{account_id}/contacts {inbox_id, name, identifier}
  → {payload: {contact: {id}, contact_inbox: {source_id}}}; GET …/contacts/search?q= →
  {payload: [contacts]}; POST …/contacts/{id}/contact_inboxes {inbox_id} → {source_id}.
- swagger/definitions/request/conversation/create_payload.yml: POST …/conversations
  {source_id, inbox_id, contact_id, custom_attributes, status} → {id}; GET …/conversations
  ?inbox_id&status=all&page → {data: {payload: [conversations]}}.
- swagger/paths/application/conversation/labels/create.yml: POST …/conversations/{id}/labels
  {labels}; toggle_status.yml: POST …/toggle_status {status: resolved}.
- swagger/definitions/request/conversation/create_message_payload.yml: POST
  …/conversations/{id}/messages {content, message_type: incoming|outgoing, private};
  app/views/api/v1/accounts/conversations/messages/index.json.jbuilder: GET …/messages
  [?before=<message id>] → {payload: [{id, message_type: 0 incoming|1 outgoing|2 activity,
  private}]}, the latest 20 before the given id.
- Webhooks: app/listeners/webhook_listener.rb (`message_created` = Message#webhook_data +
  event: {id, content, message_type, private, sender{name, type}, conversation{id,
  custom_attributes}, account{id}}; `conversation_status_changed` = the conversation's webhook
  data {id, status, custom_attributes} + event), app/models/webhook.rb (the events one
  subscribes to), app/models/concerns/message_filter_helpers.rb (private notes are sent too).
  lib/webhooks/trigger.rb signs each delivery when the webhook has a secret: headers
  X-Chatwoot-Timestamp (Unix seconds), X-Chatwoot-Delivery (a UUID) and X-Chatwoot-Signature
  `sha256=` + hex HMAC-SHA256(secret, "<timestamp>.<raw body>").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Tuple
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from core.topics import topic_label
from handoff import queue
from handoff.models import HandoffRequest
from handoff.rasa_api import RasaApi, RasaUnavailable
from handoff.transcript import context_slots, transcript

if TYPE_CHECKING:  # the console imports this module: no import back at run time
    from handoff.console import Console

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/chatwoot/webhook"
MAX_WEBHOOK_BYTES = 64 * 1024  # a message_created payload is a few KB; a longer body is refused (413)
MAX_AGENT_TEXT = 4000
MAX_NOTE_CHARS = 20000
SIGNATURE_TOLERANCE_S = 300  # a signed delivery older (or newer) than this is a replay: refused
PAGE_SIZE = 20  # messages per page of GET …/messages (Chatwoot's MessageFinder)
MAX_PAGES = 50
MAX_LIST_PAGES = 10  # conversations of the inbox looked through for a hand-off (25 a page)
UNKNOWN_RETRY_S = 10.0  # a hand-off without a Chatwoot conversation is looked up again after this
PARIS = ZoneInfo("Europe/Paris")
INCOMING, OUTGOING = 0, 1
WHO = {"usager": "Usager", "assistant": "Assistant", "agent": "Agent"}
NOT_DELIVERED_NOTE = "Message non transmis : l'usager n'est plus en relation avec un agent."
ENDED_NOTE = {
    "citizen_left": "L'usager est revenu à l'assistant. Conversation close.",
    "not_taken": "Personne n'a répondu à temps : l'assistant a donné le contact du service.",
}


def enabled() -> bool:
    return os.environ.get("GRU_HANDOFF", "live") == "chatwoot"


class ChatwootUnavailable(Exception):
    """Chatwoot did not answer, or answered an error: the caller falls back, never the citizen."""


@dataclass(frozen=True)
class ChatwootConfig:
    base_url: str
    account_id: int
    inbox_id: int
    token: str
    webhook_secret: str
    timeout_s: float = 5.0
    poll_s: float = 3.0

    @classmethod
    def from_env(cls) -> ChatwootConfig:
        """GRU_CHATWOOT_URL, _ACCOUNT_ID, _INBOX_ID, _TOKEN, _WEBHOOK_SECRET (see README)."""
        try:
            return cls(
                base_url=os.environ.get("GRU_CHATWOOT_URL", "http://127.0.0.1:3000").rstrip("/"),
                account_id=int(os.environ.get("GRU_CHATWOOT_ACCOUNT_ID", "1")),
                inbox_id=int(os.environ.get("GRU_CHATWOOT_INBOX_ID", "0")),
                token=os.environ.get("GRU_CHATWOOT_TOKEN", ""),
                webhook_secret=os.environ.get("GRU_CHATWOOT_WEBHOOK_SECRET", ""),
                timeout_s=float(os.environ.get("GRU_CHATWOOT_TIMEOUT", "5")),
                poll_s=float(os.environ.get("GRU_CHATWOOT_POLL_SECONDS", "3")),
            )
        except ValueError as exc:
            raise ValueError("GRU_CHATWOOT_ACCOUNT_ID and GRU_CHATWOOT_INBOX_ID must be numbers") from exc


class ChatwootClient:
    """The Application API calls the bridge needs, with a total timeout that can fire."""

    def __init__(self, config: ChatwootConfig) -> None:
        self.config = config
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ChatwootClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _url(self, tail: str) -> str:
        return f"{self.config.base_url}/api/v1/accounts/{self.config.account_id}/{tail}"

    async def _request(self, method: str, tail: str, **kwargs: Any) -> Any:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_s),
                headers={"api_access_token": self.config.token, "Accept": "application/json"},
            )
        try:
            async with self.session.request(method, self._url(tail), **kwargs) as response:
                if response.status >= 400:
                    raise ChatwootUnavailable(
                        f"chatwoot answered {response.status} to {method} {_route(tail)}"
                    )
                return await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ChatwootUnavailable(f"{type(exc).__name__} on {method} {_route(tail)}") from exc

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    # -- contacts ---------------------------------------------------------------------------

    async def contact_for(self, pseudonym: str) -> Tuple[int, str]:
        """The contact of this pseudonym (the same citizen's earlier hand-offs stay together in
        Chatwoot) and a source id of the API inbox for a new conversation."""
        found = await self._request("GET", "contacts/search", params={"q": pseudonym})
        for contact in (found or {}).get("payload") or []:
            if contact.get("identifier") == pseudonym:
                inbox = await self._request(
                    "POST",
                    f"contacts/{int(contact['id'])}/contact_inboxes",
                    json={"inbox_id": self.config.inbox_id},
                )
                return int(contact["id"]), str(inbox["source_id"])
        created = await self._request(
            "POST",
            "contacts",
            json={
                "inbox_id": self.config.inbox_id,
                "name": f"Usager {pseudonym[:6]}",
                "identifier": pseudonym,
            },
        )
        payload = created["payload"]
        return int(payload["contact"]["id"]), str(payload["contact_inbox"]["source_id"])

    # -- conversations ----------------------------------------------------------------------

    async def create_conversation(self, source_id: str, contact_id: int, attributes: Dict[str, Any]) -> int:
        created = await self._request(
            "POST",
            "conversations",
            json={
                "source_id": source_id,
                "inbox_id": self.config.inbox_id,
                "contact_id": contact_id,
                "custom_attributes": attributes,
                "status": "open",
            },
        )
        return int(created["id"])

    async def label(self, conversation_id: int, labels: List[str]) -> None:
        await self._request("POST", f"conversations/{conversation_id}/labels", json={"labels": labels})

    async def post(
        self, conversation_id: int, content: str, *, incoming: bool = False, private: bool = False
    ) -> int:
        created = await self._request(
            "POST",
            f"conversations/{conversation_id}/messages",
            json={
                "content": content,
                "message_type": "incoming" if incoming else "outgoing",
                "private": private,
            },
        )
        return int(created.get("id") or 0)

    async def incoming_count(self, conversation_id: int) -> int:
        """The citizen's messages already in the conversation (the bridge alone writes them: an
        API inbox has no other source), walking back the pages of 20."""
        count, before = 0, None
        for _ in range(MAX_PAGES):
            params = {"before": str(before)} if before is not None else {}
            page = (
                await self._request("GET", f"conversations/{conversation_id}/messages", params=params)
            ) or {}
            messages = page.get("payload") or []
            count += sum(1 for m in messages if _is_incoming(m) and not m.get("private"))
            if len(messages) < PAGE_SIZE:
                return count
            before = min(int(m["id"]) for m in messages)
        raise ChatwootUnavailable("conversation too long to count")

    async def handoff_conversations(self, wanted: set) -> Dict[int, Tuple[int, float]]:
        """handoff_requests.id → (Chatwoot conversation id, gru_since) for the `wanted` hand-offs,
        from the inbox's conversations (most recent activity first: stops once all are found)."""
        found: Dict[int, Tuple[int, float]] = {}
        for page in range(1, MAX_LIST_PAGES + 1):
            data = await self._request(
                "GET",
                "conversations",
                params={
                    "inbox_id": str(self.config.inbox_id),
                    "status": "all",
                    "assignee_type": "all",
                    "page": str(page),
                },
            )
            items = ((data or {}).get("data") or {}).get("payload") or []
            for item in items:
                attributes = item.get("custom_attributes") or {}
                request_id = _handoff_id(attributes)
                since = attributes.get("gru_since")
                if request_id in wanted and isinstance(since, (int, float)):
                    found.setdefault(request_id, (int(item["id"]), float(since)))
            if not items or wanted <= set(found):
                break
        return found

    async def resolve(self, conversation_id: int) -> None:
        await self._request(
            "POST", f"conversations/{conversation_id}/toggle_status", json={"status": "resolved"}
        )


def _route(tail: str) -> str:
    """The route for logs, ids replaced (a search query is never logged)."""
    return "/".join("{id}" if part.isdigit() else part for part in tail.split("?")[0].split("/"))


def _is_incoming(message: Dict[str, Any]) -> bool:
    return message.get("message_type") in (INCOMING, "incoming")


def _handoff_id(attributes: Any) -> int | None:
    if not isinstance(attributes, dict):
        return None
    try:
        return int(attributes["gru_handoff_id"])
    except (KeyError, TypeError, ValueError):
        return None


# ---- opening a hand-off (called by action_human_handoff) -------------------------------------


def _clock(at: Any) -> str:
    try:
        return datetime.fromtimestamp(float(at), PARIS).strftime("%H:%M ")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def transcript_note(tracker: Dict[str, Any], service_name: str, topic: str | None, channel: str) -> str:
    """What the built-in console shows beside a conversation, as one private note."""
    lines = [
        "Demande transmise par l'assistant.",
        f"Service : {service_name}. Sujet : {topic_label(topic)}. Canal : {channel}.",
    ]
    answers = context_slots(tracker)
    if answers:
        lines.append("Réponses déjà données : " + ", ".join(f"{k} = {v}" for k, v in answers.items()))
    lines.append("")
    lines.append("Échange avec l'assistant :")
    lines.extend(f"{_clock(line['at'])}{WHO[line['who']]} : {line['text']}" for line in transcript(tracker))
    note = "\n".join(lines)
    return note if len(note) <= MAX_NOTE_CHARS else "…" + note[-MAX_NOTE_CHARS:]


def last_stamp(events: List[Dict[str, Any]]) -> float:
    """The time of the latest event: what the note holds; later user messages are forwarded."""
    stamps = [float(e["timestamp"]) for e in events if isinstance(e.get("timestamp"), (int, float))]
    return max(stamps) if stamps else time.time()


async def open_conversation(
    client: ChatwootClient,
    *,
    request_id: int,
    pseudonym: str,
    service: str,
    service_name: str,
    topic: str | None,
    channel: str,
    tracker: Dict[str, Any],
) -> int:
    """Contact, conversation (labels, custom attributes) and the transcript note; the
    conversation id. Raises ChatwootUnavailable."""
    contact_id, source_id = await client.contact_for(pseudonym)
    attributes = {
        "gru_handoff_id": request_id,
        "gru_service": service,
        "gru_topic": topic or "",
        "gru_channel": channel,
        "gru_since": last_stamp(tracker.get("events") or []),
    }
    conversation_id = await client.create_conversation(source_id, contact_id, attributes)
    await client.label(conversation_id, [label for label in (service, topic) if label])
    await client.post(conversation_id, transcript_note(tracker, service_name, topic, channel), private=True)
    logger.info("hand-off %d opened in chatwoot as conversation %d", request_id, conversation_id)
    return conversation_id


def citizen_messages(tracker: Dict[str, Any], since: float) -> List[str]:
    """The citizen's messages after `since`, oldest first (the hand-off request is in the note)."""
    found = []
    for event in tracker.get("events") or []:
        text = event.get("text")
        stamp = event.get("timestamp")
        if (
            event.get("event") == "user"
            and isinstance(text, str)
            and text.strip()
            and not text.startswith("EXTERNAL: ")
            and isinstance(stamp, (int, float))
            and stamp > since
        ):
            found.append((stamp, text))
    return [text for _, text in sorted(found, key=lambda item: item[0])]


# ---- the console side: forwarding and webhooks ----------------------------------------------


@dataclass
class Forwarded:
    conversation_id: int
    since: float
    count: int | None = None  # incoming messages known to be in Chatwoot (None: ask Chatwoot)


class ChatwootBridge:
    """Runs in the console process (handoff/console.py starts it)."""

    def __init__(self, console: Console, client: ChatwootClient) -> None:
        self.console = console
        self.client = client
        self.config = client.config
        self.known: Dict[int, Forwarded] = {}  # handoff_requests.id → its Chatwoot conversation
        self.unknown: Dict[int, float] = {}  # handoff_requests.id → when it was last looked for
        self.deliveries: OrderedDict[str, None] = OrderedDict()
        self.lock = asyncio.Lock()

    @classmethod
    def from_env(cls, console: Console) -> ChatwootBridge:
        return cls(console, ChatwootClient(ChatwootConfig.from_env()))

    @property
    def rasa(self) -> RasaApi:
        return self.console.rasa

    def _rows(self, ids: List[int] | None = None) -> Dict[int, Dict[str, Any]]:
        with self.console._db() as s:
            query = s.query(HandoffRequest)
            query = (
                query.filter(HandoffRequest.id.in_(ids))
                if ids is not None
                else query.filter(HandoffRequest.status.in_(queue.ACTIVE))
            )
            return {
                r.id: {
                    "conversation_id": r.conversation_id,
                    "channel": r.channel,
                    "status": r.status,
                    "close_reason": r.close_reason,
                }
                for r in query
            }

    # -- forwarding the citizen's messages ---------------------------------------------------

    async def forward_once(self) -> int:
        """One pass: new citizen messages of every active hand-off to Chatwoot; the hand-offs
        ended on our side resolved there. Returns the number of messages forwarded."""
        async with self.lock:
            active = await asyncio.to_thread(self._rows)
            await self._end_closed(set(active))
            await self._find_missing(active)
            sent = 0
            for request_id, row in active.items():
                entry = self.known.get(request_id)
                if entry is None:
                    continue
                try:
                    sent += await self._forward(request_id, row, entry)
                except (ChatwootUnavailable, RasaUnavailable) as exc:
                    entry.count = None  # a post may have gone through: count again from Chatwoot
                    logger.error("hand-off %d: messages not forwarded yet: %s", request_id, exc)
            return sent

    async def _forward(self, request_id: int, row: Dict[str, Any], entry: Forwarded) -> int:
        tracker = await self.rasa.tracker(row["conversation_id"])
        messages = citizen_messages(tracker, entry.since)
        if entry.count is None:
            entry.count = await self.client.incoming_count(entry.conversation_id)
        sent = 0
        for text in messages[entry.count :]:
            await self.client.post(entry.conversation_id, text, incoming=True)
            entry.count += 1
            sent += 1
        if sent:
            logger.info("hand-off %d: %d message(s) forwarded to chatwoot", request_id, sent)
        return sent

    async def _find_missing(self, active: Dict[int, Dict[str, Any]]) -> None:
        """The Chatwoot conversation of hand-offs this process does not know yet (opened by the
        action server, or before a restart); one looked for in vain is tried again later."""
        now = time.monotonic()
        missing = {
            i
            for i in active
            if i not in self.known and now - self.unknown.get(i, -UNKNOWN_RETRY_S) >= UNKNOWN_RETRY_S
        }
        if not missing:
            return
        try:
            found = await self.client.handoff_conversations(missing)
        except ChatwootUnavailable as exc:
            logger.error("chatwoot conversations not listed: %s", exc)
            return
        for request_id in missing:
            if request_id in found:
                self.known[request_id] = Forwarded(*found[request_id])
                self.unknown.pop(request_id, None)
            else:
                self.unknown[request_id] = now

    async def _end_closed(self, active: set) -> None:
        """Hand-offs closed here (the citizen went back, nobody answered in time): resolved in
        Chatwoot with a note, so no agent answers into a conversation nobody reads."""
        ended = [i for i in self.known if i not in active]
        if not ended:
            return
        rows = await asyncio.to_thread(self._rows, ended)
        for request_id in ended:
            entry = self.known[request_id]
            reason = (rows.get(request_id) or {}).get("close_reason")
            try:
                if reason in ENDED_NOTE:
                    await self.client.post(entry.conversation_id, ENDED_NOTE[reason], private=True)
                if reason != "answered":
                    await self.client.resolve(entry.conversation_id)
            except ChatwootUnavailable as exc:
                logger.error("hand-off %d not resolved in chatwoot: %s", request_id, exc)
                continue
            del self.known[request_id]

    async def forward_forever(self) -> None:
        while True:
            try:
                await self.forward_once()
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                logger.exception("chatwoot forwarding failed")
            await asyncio.sleep(self.config.poll_s)

    # -- webhooks ------------------------------------------------------------------------------

    def _verified(self, request: web.Request, body: bytes) -> None:
        """401 without a (fresh) signature, 403 with a wrong one; no secret configured, nothing
        is accepted."""
        secret = self.config.webhook_secret
        stamp = request.headers.get("X-Chatwoot-Timestamp", "")
        given = request.headers.get("X-Chatwoot-Signature", "")
        if not secret:
            logger.error("chatwoot webhook refused: GRU_CHATWOOT_WEBHOOK_SECRET is not set")
            raise web.HTTPUnauthorized(text="unsigned")
        if not stamp.isdigit() or not given:
            raise web.HTTPUnauthorized(text="unsigned")
        if abs(time.time() - int(stamp)) > SIGNATURE_TOLERANCE_S:
            raise web.HTTPUnauthorized(text="stale")
        digest = hmac.new(
            secret.encode("utf-8"), stamp.encode("ascii") + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(given, f"sha256={digest}"):
            raise web.HTTPForbidden(text="bad signature")

    def _handled(self, delivery: str) -> None:
        """Remember a delivery once handled: Chatwoot's job may send it again (a retry after a
        timeout); one that failed here (502) is not remembered, so its retry is handled."""
        if delivery:
            self.deliveries[delivery] = None
            while len(self.deliveries) > 1000:
                self.deliveries.popitem(last=False)

    async def webhook(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_WEBHOOK_BYTES, actual_size=request.content_length
            )
        body = await request.read()  # the console app's client_max_size (64 KiB) bounds a chunked body: 413
        self._verified(request, body)
        try:
            payload = json.loads(body)
        except ValueError:
            raise web.HTTPBadRequest(text="json expected") from None
        delivery = request.headers.get("X-Chatwoot-Delivery", "")
        if not isinstance(payload, dict) or delivery in self.deliveries:
            return web.json_response({"ok": True})
        account = payload.get("account") or {}
        if isinstance(account, dict) and account.get("id") not in (None, self.config.account_id):
            return web.json_response({"ok": True})  # another account's webhook: not ours
        event = payload.get("event")
        if event == "message_created":
            await self._agent_message(payload)
        elif (
            event in ("conversation_status_changed", "conversation_resolved")
            and payload.get("status") == "resolved"
        ):
            await self._resolved(payload)
        self._handled(delivery)
        return web.json_response({"ok": True})

    async def _request_of(self, conversation: Dict[str, Any]) -> Tuple[int, Dict[str, Any]] | None:
        """The hand-off a Chatwoot conversation carries (custom attribute gru_handoff_id)."""
        try:
            conversation_id = int(conversation.get("id"))
        except (TypeError, ValueError):
            return None
        request_id = _handoff_id(conversation.get("custom_attributes"))
        if request_id is None:
            request_id = next(
                (i for i, e in self.known.items() if e.conversation_id == conversation_id), None
            )
        if request_id is None:
            return None
        rows = await asyncio.to_thread(self._rows, [request_id])
        row = rows.get(request_id)
        if row is None:
            return None
        if request_id in self.known and self.known[request_id].conversation_id != conversation_id:
            return None  # the id does not belong to this conversation: ignored
        return request_id, row

    async def _agent_message(self, payload: Dict[str, Any]) -> None:
        if payload.get("message_type") not in ("outgoing", OUTGOING) or payload.get("private"):
            return  # the citizen's messages (forwarded by us), private notes, activity
        sender = payload.get("sender") or {}
        if sender.get("type") not in (None, "user"):
            return  # an agent bot or the contact: not an agent's reply
        text = str(payload.get("content") or "").strip()[:MAX_AGENT_TEXT]
        found = await self._request_of(payload.get("conversation") or {})
        if not text or found is None:
            return
        request_id, row = found
        if row["status"] not in queue.ACTIVE:
            try:  # the agent learns at once that the citizen will not read it
                await self.client.post(int(payload["conversation"]["id"]), NOT_DELIVERED_NOTE, private=True)
            except ChatwootUnavailable as exc:
                logger.error("hand-off %d: note not posted: %s", request_id, exc)
            return
        name = str(sender.get("available_name") or sender.get("name") or "Agent")[:80]

        def take() -> None:
            with self.console._db(write=True) as s:
                queue.taken_outside(s, request_id, self.console.now())

        if row["status"] == "waiting":
            await asyncio.to_thread(take)
        try:
            await self.rasa.say(row["conversation_id"], row["channel"], text, name)
        except RasaUnavailable as exc:
            logger.error("hand-off %d: agent message not delivered: %s", request_id, exc)
            raise web.HTTPBadGateway(text="rasa unavailable") from None
        logger.info("hand-off %d: agent message delivered", request_id)

    async def _resolved(self, payload: Dict[str, Any]) -> None:
        from handoff.console import CLOSED_TEXT, SUBJECT_BUTTONS  # the console imports this module

        found = await self._request_of(payload)
        if found is None or found[1]["status"] not in queue.ACTIVE:
            return
        request_id, row = found
        try:
            await self.rasa.close_and_resume(
                row["conversation_id"], row["channel"], CLOSED_TEXT, buttons=SUBJECT_BUTTONS
            )
        except RasaUnavailable as exc:
            logger.error("hand-off %d not handed back to the assistant: %s", request_id, exc)
            raise web.HTTPBadGateway(text="rasa unavailable") from None

        def close() -> None:
            with self.console._db(write=True) as s:
                found_row = s.get(HandoffRequest, request_id)
                if found_row is not None and found_row.status in queue.ACTIVE:
                    queue.close(s, found_row, "answered", self.console.now())

        await asyncio.to_thread(close)
        self.known.pop(request_id, None)
        logger.info("hand-off %d resolved in chatwoot", request_id)

    def routes(self) -> List[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.webhook)]
