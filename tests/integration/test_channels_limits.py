"""Safe to put on the internet: the size limits of every channel on the running assistant
(REST, socketio, Messenger), Messenger's batched webhooks answered at once, and the
Rasa server's memory when a client sends a huge request."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

import psutil
import pytest
import socketio

from channels.limits import (
    BODY_TOO_LARGE,
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    MESSAGE_TOO_LONG,
    METADATA_TOO_LARGE,
    TOO_MANY_MESSAGES,
)
from channels.rate import DEFAULT_PER_SENDER
from tests.integration.conftest import FACEBOOK, FakeGraph
from tests.integration.test_messenger import message, send, webhook_url
from tests.integration.test_server import post as http_post
from tests.integration.test_server import say

pytestmark = pytest.mark.integration


def rasa_rss(stack) -> int:
    """Resident memory of the Rasa server process (started after the action server)."""
    (rasa,) = [p for p in stack.processes if "--model" in p.args]
    return psutil.Process(rasa.pid).memory_info().rss


def rest(stack, body: bytes):
    """(status, the French message of a refusal, or the raw answer)."""
    status, response = http_post(f"{stack.url}/webhooks/rest/webhook", body)
    try:
        answer = json.loads(response)
    except ValueError:
        return status, response.decode("utf-8", "replace")
    return status, answer.get("message", response.decode()) if isinstance(answer, dict) else answer


def test_rest_body_over_the_limit_is_refused_before_it_is_read(stack):
    before = rasa_rss(stack)
    padding = "x" * (MAX_BODY_BYTES + 1)
    status, response = rest(stack, json.dumps({"sender": "x", "message": "Bonjour", "pad": padding}).encode())
    assert status == 413 and BODY_TOO_LARGE in response
    status, response = rest(stack, b'{"sender": "x", "message": "' + b"x" * 20_000_000 + b'"}')
    assert status == 413 and BODY_TOO_LARGE in response
    assert rasa_rss(stack) - before < 100 * 2**20
    assert say(stack, f"after-{uuid.uuid4()}", "Bonjour")


def test_rest_message_and_metadata_over_their_limits_get_a_french_413(stack):
    sender = f"limits-{uuid.uuid4()}"
    long = json.dumps({"sender": sender, "message": "a" * (MAX_MESSAGE_CHARS + 1)}).encode()
    status, response = rest(stack, long)
    assert status == 413 and MESSAGE_TOO_LONG in response
    heavy = json.dumps({"sender": sender, "message": "Bonjour", "metadata": {"blob": "x" * 5_000}}).encode()
    status, response = rest(stack, heavy)
    assert status == 413 and METADATA_TOO_LARGE in response
    light = json.dumps({"sender": sender, "message": "Bonjour", "metadata": {"lang": "fr"}}).encode()
    assert rest(stack, light)[0] == 200


class Widget:
    """The website widget's side of the socketio channel, with session persistence."""

    def __init__(self, stack):
        self.url, self.session_id = stack.url, uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: asyncio.Queue = asyncio.Queue()
        for event in ("session_confirm", "bot_uttered"):
            self.client.on(event, self._on(event))

    def _on(self, event):
        async def handler(data):
            await self.received.put((event, data))

        return handler

    async def __aenter__(self):
        # Long-polling: engineio's websocket client needs an aiohttp newer than Rasa's pin.
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await self.next() == ("session_confirm", self.session_id)
        return self

    async def __aexit__(self, *exc):
        await self.client.disconnect()

    async def next(self, timeout: float = 60):
        return await asyncio.wait_for(self.received.get(), timeout)

    async def say(self, message: str, **extra):
        await self.client.emit("user_uttered", {"message": message, "session_id": self.session_id, **extra})
        return await self.next()


async def test_socketio_huge_message_is_refused_in_french_without_the_nlu(stack):
    async with Widget(stack) as widget:
        before = rasa_rss(stack)
        kind, data = await widget.say("a" * 200_000)
        after = rasa_rss(stack)
        assert (kind, data) == ("bot_uttered", {"text": MESSAGE_TOO_LONG})
        print(
            f"Rasa RSS: {before / 2**20:.0f} MB before, {after / 2**20:.0f} MB after a 200,000-char message"
        )
        assert after - before < 100 * 2**20
        # The same session goes on: its answers reach the widget (the room was entered).
        kind, data = await widget.say("Bonjour")
        assert kind == "bot_uttered" and data["text"].startswith("Bonjour et bienvenue")


async def test_socketio_just_over_the_limit_and_large_metadata_are_refused(stack):
    async with Widget(stack) as widget:
        assert await widget.say("Bonjour " * (MAX_MESSAGE_CHARS // 8 + 1)) == (
            "bot_uttered",
            {"text": MESSAGE_TOO_LONG},
        )
        assert await widget.say("Bonjour", metadata={"blob": "x" * 5_000}) == (
            "bot_uttered",
            {"text": METADATA_TOO_LARGE},
        )


# The stack runs with the default limits; its clients are on loopback, which is not
# limited per address (channels.rate), so only the per-sender limit applies here.
PER_SENDER = int(DEFAULT_PER_SENDER.split("/")[0])


def test_rest_sender_over_its_rate_gets_a_french_429_and_others_still_get_answers(stack):
    sender = f"flood-{uuid.uuid4()}"
    body = json.dumps({"sender": sender, "message": "/greet"}).encode()
    started = time.monotonic()
    statuses = [rest(stack, body)[0] for _ in range(PER_SENDER)]
    assert statuses == [200] * PER_SENDER
    assert time.monotonic() - started < 50, "too slow to test a per-minute limit"
    status, response = rest(stack, body)
    assert status == 429 and TOO_MANY_MESSAGES in response
    assert say(stack, f"other-{uuid.uuid4()}", "Bonjour")


async def test_socketio_session_over_its_rate_gets_the_french_refusal_and_others_go_on(stack):
    async with Widget(stack) as widget:
        started = time.monotonic()
        texts = []
        for _ in range(PER_SENDER + 1):  # each answered (at least its first message) in turn
            kind, data = await widget.say("/greet")
            texts.append(data.get("text"))
        while TOO_MANY_MESSAGES not in texts:  # the rest of the greetings, then the refusal
            try:
                kind, data = await widget.next(timeout=20)
            except asyncio.TimeoutError:
                raise AssertionError(f"no refusal after {len(texts)} messages: {texts[-3:]}") from None
            texts.append(data.get("text"))
        assert time.monotonic() - started < 50, "too slow to test a per-minute limit"
        assert sum(bool(t) and t.startswith("Bonjour et bienvenue") for t in texts) <= PER_SENDER
    async with Widget(stack) as other:
        kind, data = await other.say("Bonjour")
        assert kind == "bot_uttered" and data["text"].startswith("Bonjour et bienvenue")


def messenger_post(stack, events: list, signature: str | None = None):
    """A webhook carrying several events (Messenger batches them), signed unless told."""
    body = json.dumps({"object": "page", "entry": [{"id": "page", "time": 0, "messaging": events}]}).encode()
    secret = FACEBOOK["FACEBOOK_APP_SECRET"].encode()
    signature = signature or "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()
    return send(stack, body, {"Content-Type": "application/json", "X-Hub-Signature": signature})


def graph_calls(psid: str, since: int) -> list:
    return [c["body"] for c in FakeGraph.sent[since:] if c["body"].get("recipient", {}).get("id") == psid]


def wait_for_typing_off(psids: list, since: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(any(b.get("sender_action") == "typing_off" for b in graph_calls(p, since)) for p in psids):
            return
        time.sleep(0.2)
    raise AssertionError("no answer within the timeout")


def test_messenger_batch_is_acknowledged_at_once_and_every_event_answered(stack):
    psids = [f"psid-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    since = len(FakeGraph.sent)
    status, body = messenger_post(stack, [message(p, "Bonjour") for p in psids])
    answered_before_the_200 = [p for p in psids if graph_calls(p, since)]
    assert (status, body) == (200, "success")
    assert answered_before_the_200 != psids, "the webhook waited for the answers"
    wait_for_typing_off(psids, since)
    for psid in psids:
        texts = [b["message"].get("text") or "" for b in graph_calls(psid, since) if "message" in b]
        assert any("bienvenue" in t for t in texts), (psid, texts)


def test_messenger_text_over_the_limit_gets_the_french_refusal(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    assert messenger_post(stack, [message(psid, "a" * (MAX_MESSAGE_CHARS + 1))]) == (200, "success")
    deadline = time.monotonic() + 30
    while not graph_calls(psid, since) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    messages = [b["message"] for b in graph_calls(psid, since) if "message" in b]
    assert messages == [{"text": MESSAGE_TOO_LONG}]


def test_messenger_non_ascii_signature_or_verify_token_is_a_403(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    assert messenger_post(stack, [message(psid, "Bonjour")], signature="sha1=é" + "0" * 39)[0] == 403
    query = "hub.mode=subscribe&hub.verify_token=%C3%A9t%C3%A9&hub.challenge=1"
    url = f"{webhook_url(stack)}?{query}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    assert refused.value.code == 403
