"""Messenger's batched webhooks, size limit, signatures and background tasks, checked
without a running server (the Graph API client is a recorder)."""

import asyncio

import pytest

from channels.facebook import GuardedFacebookInput, GuardedMessenger, event_kind
from channels.limits import MAX_MESSAGE_CHARS, MESSAGE_TOO_LONG


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
