"""Safe to put on the internet: the size limits of the channels on the running assistant
(REST, socketio), and the Rasa server's memory when a client sends a huge request."""

from __future__ import annotations

import asyncio
import json
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
)
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
