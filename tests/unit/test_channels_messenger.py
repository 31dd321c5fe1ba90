"""Messenger's batched webhooks, size limits, signatures and background tasks, checked without
Rasa (the Graph API client is a recorder; the webhook's body limit on a real Sanic server)."""

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest
from sanic import Sanic

from channels.facebook import GuardedFacebookInput, GuardedMessenger, event_kind
from channels.limits import MAX_MESSAGE_CHARS, MAX_MESSENGER_BODY_BYTES, MESSAGE_TOO_LONG
from tests.conftest import free_port

SECRET = "app-secret-for-the-tests"


class Recorder:
    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append(message)


class FakeClient:
    def __init__(self):
        self.sent = []

    def send(self, payload, recipient_id, messaging_type):
        self.sent.append((recipient_id, payload))

    def send_action(self, action, recipient_id):
        self.sent.append((recipient_id, {"sender_action": action}))


def event(psid, text=None, **extra):
    body = {"sender": {"id": psid}, "recipient": {"id": "page"}, "timestamp": 0}
    if text is not None:
        body["message"] = {"mid": "m", "text": text}
    body.update(extra)
    return body


def run_batch(events):
    on_new_message = Recorder()
    messenger = GuardedMessenger("token", on_new_message)
    messenger.client = FakeClient()
    asyncio.run(messenger.handle({"entry": [{"messaging": events[:2]}, {"messaging": events[2:]}]}, None))
    return on_new_message.messages, messenger.client.sent


def test_messenger_handles_every_event_of_a_batch():
    messages, _ = run_batch([event("p1", "Bonjour"), event("p2", "horaires"), event("p3", "merci")])
    assert [(m.sender_id, m.text) for m in messages] == [
        ("p1", "Bonjour"),
        ("p2", "horaires"),
        ("p3", "merci"),
    ]


def test_messenger_refuses_a_long_text_through_the_graph_api():
    messages, sent = run_batch([event("p1", "a" * (MAX_MESSAGE_CHARS + 1)), event("p2", "Bonjour")])
    assert [m.sender_id for m in messages] == ["p2"]
    assert ("p1", {"text": MESSAGE_TOO_LONG}) in sent


def test_messenger_logs_unsupported_events_by_kind_only(caplog):
    secret = event("p1", read={"watermark": 1}, extra="jeanne@example.fr")
    location = event("p2")
    location["message"] = {"mid": "m", "attachments": [{"type": "location", "payload": {"lat": 48.1}}]}
    with caplog.at_level("INFO", logger="channels.facebook"):
        messages, _ = run_batch([secret, location])
    assert messages == []
    assert "jeanne" not in caplog.text and "48.1" not in caplog.text and "p1" not in caplog.text
    assert "read" in caplog.text and "message/attachments:location" in caplog.text
    assert event_kind({"postback": {}}) == "postback"


@pytest.mark.parametrize("header", ["sha1=é" + "0" * 39, "sha256=\u2603", "sha1="])
def test_messenger_non_ascii_or_empty_signatures_are_refused(header):
    assert GuardedFacebookInput.validate_hub_signature("secret", b"{}", header) is False


def test_messenger_background_tasks_are_kept_until_done_and_failures_logged(caplog):
    channel = GuardedFacebookInput("verify", "secret", "token")
    channel.blueprint(Recorder())

    async def fail():
        raise RuntimeError("jeanne@example.fr")

    async def main():
        task = channel.run_later(fail())
        assert task in channel.tasks
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)

    with caplog.at_level("ERROR", logger="channels.facebook"):
        asyncio.run(main())
    assert channel.tasks == set()
    assert "RuntimeError" in caplog.text and "jeanne" not in caplog.text


# ---- the webhook's body is bounded while it is read (Sanic on a free port, aiohttp as Meta) ----


@pytest.fixture
async def messenger_webhook(monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)  # several apps in one process
    app = Sanic("gru_messenger_body_test", configure_logging=False)
    on_new_message = Recorder()
    channel = GuardedFacebookInput("verify", SECRET, "token")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/facebook")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.start_serving()
    async with aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{port}/webhooks/facebook/webhook", on_new_message
    await server.close()


def signed(body: bytes) -> dict:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}


def batch(events: list) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": "page", "time": 0, "messaging": events}]}).encode()


async def test_messenger_body_over_the_limit_is_refused_while_read(messenger_webhook):
    session, url, on_new_message = messenger_webhook
    # Signed, so that only the size refuses it; declared in Content-Length, then sent in chunks.
    body = batch([event("p1", "Bonjour", padding="x" * MAX_MESSENGER_BODY_BYTES)])
    async with session.post(url, data=body, headers=signed(body)) as answer:
        assert answer.status == 413

    async def chunks():
        for _ in range(3 * MAX_MESSENGER_BODY_BYTES // 65536):
            yield b"x" * 65536

    async with session.post(url, data=chunks(), headers=signed(b"")) as answer:
        assert answer.status == 413
    assert on_new_message.messages == []


async def test_messenger_body_under_the_limit_is_acknowledged(messenger_webhook):
    session, url, _ = messenger_webhook
    body = batch([event("p1", read={"watermark": 1})])  # handled without a Graph API call
    async with session.post(url, data=body, headers=signed(body)) as answer:
        assert (answer.status, await answer.text()) == (200, "success")
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as answer:
        assert answer.status == 403
