"""A local Chatwoot speaking the Application API shapes handoff/chatwoot.py uses, and sending
its webhooks, for the tests.

Routes under /api/v1/accounts/<account_id>/ (header api_access_token, 401 otherwise, as
Chatwoot answers): contacts (create, search, contact_inboxes), conversations (create, list
with its {data: {payload}} envelope, labels, toggle_status), messages (create; list of the 20
latest before `before`, message_type as integers, as messages/index.json.jbuilder renders it).
Every message created (by the API or by `agent_reply`) and every status change queues a
webhook shaped like Message#webhook_data / the conversation's webhook data; `deliver` POSTs
them to the console signed as lib/webhooks/trigger.rb does (X-Chatwoot-Timestamp,
X-Chatwoot-Delivery, X-Chatwoot-Signature: sha256=HMAC(secret, "<ts>.<body>")).
`down = True` answers 503 to everything.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Dict, List

import aiohttp
from aiohttp import web

MESSAGE_TYPES = {"incoming": 0, "outgoing": 1, "activity": 2}


@dataclass
class FakeChatwoot:
    account_id: int = 7
    inbox_id: int = 3
    token: str = "chatwoot-token"
    secret: str = "webhook-secret"
    down: bool = False
    contacts: Dict[int, dict] = field(default_factory=dict)
    conversations: Dict[int, dict] = field(default_factory=dict)
    calls: List[tuple] = field(default_factory=list)  # (method, path after the account)
    outbox: List[dict] = field(default_factory=list)  # webhooks not delivered yet
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(100))

    # -- state helpers -------------------------------------------------------------------------

    def messages(self, conversation_id: int) -> List[dict]:
        return self.conversations[conversation_id]["messages"]

    def incoming(self, conversation_id: int) -> List[str]:
        return [m["content"] for m in self.messages(conversation_id) if m["message_type"] == "incoming"]

    def _webhook_conversation(self, conversation: dict) -> dict:
        return {
            "id": conversation["id"],
            "inbox_id": self.inbox_id,
            "status": conversation["status"],
            "custom_attributes": conversation["custom_attributes"],
            "labels": conversation["labels"],
            "meta": {"sender": {"id": conversation["contact_id"], "type": "contact"}},
        }

    def _add_message(
        self, conversation: dict, content: str, message_type: str, private: bool, sender: dict | None
    ):
        message = {
            "id": next(self._message_ids),
            "content": content,
            "message_type": message_type,
            "private": private,
            "created_at": int(time.time()),
            "sender": sender,
        }
        conversation["messages"].append(message)
        self.outbox.append(
            {
                "event": "message_created",
                **{k: message[k] for k in ("id", "content", "message_type", "private")},
                "content_type": "text",
                "content_attributes": {},
                "source_id": None,
                "sender": sender,
                "inbox": {"id": self.inbox_id, "name": "Assistant"},
                "conversation": self._webhook_conversation(conversation),
                "account": {"id": self.account_id, "name": "Mairie"},
            }
        )
        return message

    def agent_reply(
        self, conversation_id: int, text: str, name: str = "Claire Martin", private: bool = False
    ):
        """An agent answers (or writes a private note) in Chatwoot's dashboard."""
        sender = {"id": 11, "name": name, "available_name": name, "type": "user"}
        self._add_message(self.conversations[conversation_id], text, "outgoing", private, sender)

    def set_status(self, conversation_id: int, status: str) -> None:
        conversation = self.conversations[conversation_id]
        conversation["status"] = status
        self.outbox.append(
            {
                "event": "conversation_status_changed",
                **self._webhook_conversation(conversation),
                "changed_attributes": [{"status": {"current_value": status}}],
                "account": {"id": self.account_id},
            }
        )

    def signed(self, body: bytes, stamp: int | None = None, secret: str | None = None) -> Dict[str, str]:
        stamp = int(time.time()) if stamp is None else stamp
        digest = hmac.new(
            (secret or self.secret).encode(), f"{stamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-Chatwoot-Timestamp": str(stamp),
            "X-Chatwoot-Delivery": str(uuid.uuid4()),
            "X-Chatwoot-Signature": f"sha256={digest}",
        }

    async def deliver(self, url: str) -> List[int]:
        """POST the queued webhooks to `url`, signed; their HTTP statuses."""
        statuses = []
        pending, self.outbox = self.outbox, []
        async with aiohttp.ClientSession() as session:
            for payload in pending:
                body = json.dumps(payload).encode()
                async with session.post(url, data=body, headers=self.signed(body)) as response:
                    statuses.append(response.status)
        return statuses

    # -- the API -------------------------------------------------------------------------------

    @web.middleware
    async def guard(self, request: web.Request, handler):
        if self.down:
            return web.json_response({"error": "unavailable"}, status=503)
        if request.headers.get("api_access_token") != self.token:
            return web.json_response({"errors": ["Invalid Access Token"]}, status=401)
        if request.match_info.get("account") != str(self.account_id):
            return web.json_response({"error": "account not found"}, status=404)
        tail = request.path.split(f"/accounts/{self.account_id}/", 1)[1]
        self.calls.append((request.method, tail))
        return await handler(request)

    def _conversation(self, request: web.Request) -> dict:
        found = self.conversations.get(int(request.match_info["id"]))
        if found is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "Resource could not be found"}))
        return found

    async def create_contact(self, request: web.Request) -> web.Response:
        body = await request.json()
        if int(body["inbox_id"]) != self.inbox_id:
            return web.json_response({"message": "Inbox not found"}, status=422)
        if any(c["identifier"] == body.get("identifier") for c in self.contacts.values()):
            return web.json_response({"message": "Identifier has already been taken"}, status=422)
        contact_id = next(self._ids)
        self.contacts[contact_id] = {"id": contact_id, **body}
        source_id = str(uuid.uuid4())
        return web.json_response(
            {
                "payload": {
                    "contact": {
                        "id": contact_id,
                        "name": body.get("name"),
                        "identifier": body.get("identifier"),
                    },
                    "contact_inbox": {"inbox": {"id": self.inbox_id}, "source_id": source_id},
                }
            }
        )

    async def search_contacts(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        found = [c for c in self.contacts.values() if q and q in (c.get("identifier") or "")]
        return web.json_response({"meta": {"count": len(found), "current_page": 1}, "payload": found})

    async def contact_inbox(self, request: web.Request) -> web.Response:
        if int(request.match_info["id"]) not in self.contacts:
            raise web.HTTPNotFound()
        body = await request.json()
        return web.json_response({"source_id": str(uuid.uuid4()), "inbox": {"id": int(body["inbox_id"])}})

    async def create_conversation(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("source_id") or int(body["contact_id"]) not in self.contacts:
            return web.json_response({"error": "contact inbox not found"}, status=422)
        conversation_id = next(self._ids)
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "contact_id": int(body["contact_id"]),
            "status": body.get("status", "open"),
            "custom_attributes": dict(body.get("custom_attributes") or {}),
            "labels": [],
            "messages": [],
        }
        return web.json_response(
            {"id": conversation_id, "account_id": self.account_id, "inbox_id": self.inbox_id}
        )

    async def list_conversations(self, request: web.Request) -> web.Response:
        page = int(request.query.get("page", "1"))
        items = [
            self._webhook_conversation(c)
            for c in sorted(self.conversations.values(), key=lambda c: -c["id"])
            if request.query.get("status") == "all" or c["status"] == request.query.get("status", "open")
        ]
        chunk = items[(page - 1) * 25 : page * 25]
        return web.json_response({"data": {"meta": {"all_count": len(items)}, "payload": chunk}})

    async def labels(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        conversation["labels"] = list((await request.json())["labels"])
        return web.json_response({"payload": conversation["labels"]})

    async def toggle_status(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        self.set_status(conversation["id"], (await request.json())["status"])
        return web.json_response(
            {
                "payload": {
                    "success": True,
                    "current_status": conversation["status"],
                    "conversation_id": conversation["id"],
                }
            }
        )

    async def create_message(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        body = await request.json()
        if body.get("message_type", "outgoing") not in ("incoming", "outgoing") or not body.get("content"):
            return web.json_response({"error": "invalid message"}, status=422)
        bot = {"id": 2, "name": "Assistant GRU", "type": "agent_bot"}
        message = self._add_message(
            conversation,
            body["content"],
            body.get("message_type", "outgoing"),
            bool(body.get("private")),
            bot,
        )
        return web.json_response({**message, "conversation_id": conversation["id"]})

    async def list_messages(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        messages = conversation["messages"]
        if "before" in request.query:
            messages = [m for m in messages if m["id"] < int(request.query["before"])]
        page = messages[-20:]
        return web.json_response(
            {
                "meta": {"labels": conversation["labels"], "contact_id": conversation["contact_id"]},
                "payload": [
                    {
                        "id": m["id"],
                        "content": m["content"],
                        "inbox_id": self.inbox_id,
                        "conversation_id": conversation["id"],
                        "message_type": MESSAGE_TYPES[m["message_type"]],
                        "created_at": m["created_at"],
                        "private": m["private"],
                        "source_id": None,
                    }
                    for m in page
                ],
            }
        )

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard])
        base = "/api/v1/accounts/{account}"
        app.router.add_post(f"{base}/contacts", self.create_contact)
        app.router.add_get(f"{base}/contacts/search", self.search_contacts)
        app.router.add_post(f"{base}/contacts/{{id}}/contact_inboxes", self.contact_inbox)
        app.router.add_post(f"{base}/conversations", self.create_conversation)
        app.router.add_get(f"{base}/conversations", self.list_conversations)
        app.router.add_post(f"{base}/conversations/{{id}}/labels", self.labels)
        app.router.add_post(f"{base}/conversations/{{id}}/toggle_status", self.toggle_status)
        app.router.add_post(f"{base}/conversations/{{id}}/messages", self.create_message)
        app.router.add_get(f"{base}/conversations/{{id}}/messages", self.list_messages)
        return app
