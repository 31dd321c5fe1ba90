"""Request-rate limits: the sliding-window limiter, its settings, and the socketio and
Messenger channels refusing in French without reaching the assistant."""

import asyncio
from types import SimpleNamespace
from unittest import mock

import pytest

from channels.facebook import GuardedMessenger
from channels.limits import TOO_MANY_MESSAGES
from channels.rate import (
    ALLOW,
    REFUSE,
    REFUSE_SILENTLY,
    ChannelRates,
    RateLimiter,
    client_address,
    parse_rate,
)
from channels.socketio import GuardedSocketIOInput


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_limit_within_the_window_then_the_window_slides():
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [ALLOW] * 3
    assert limiter.hit("a") == REFUSE
    assert limiter.hit("a") == REFUSE_SILENTLY  # already told within this window
    clock.now += 59.9
    assert limiter.hit("a") == REFUSE_SILENTLY
    clock.now += 0.2  # the first three hits are now older than 60 s
    assert limiter.hit("a") == ALLOW


def test_refused_messages_are_not_counted_and_the_refusal_is_told_again_next_window():
    clock = Clock()
    limiter = RateLimiter(2, 10, clock=clock)
    limiter.hit("a"), limiter.hit("a")
    assert limiter.hit("a") == REFUSE
    clock.now += 5
    assert limiter.hit("a") == REFUSE_SILENTLY
    clock.now += 5.1
    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("a")] == [ALLOW, ALLOW, REFUSE]


def test_keys_are_counted_separately():
    limiter = RateLimiter(1, 60, clock=Clock())
    assert limiter.hit("a") == ALLOW
    assert limiter.hit("a") == REFUSE
    assert limiter.hit("b") == ALLOW


def test_stale_keys_are_evicted_and_the_number_of_keys_is_capped():
    clock = Clock()
    limiter = RateLimiter(1, 60, max_keys=100, clock=clock)
    for i in range(50):
        limiter.hit(f"old-{i}")
    clock.now += 61
    limiter.hit("new")
    assert list(limiter.keys) == ["new"]
    for i in range(1000):
        limiter.hit(f"k-{i}")
    assert len(limiter) == 100
    assert "k-999" in limiter.keys and "k-0" not in limiter.keys  # least recently seen forgotten


def test_a_recently_seen_key_survives_the_cap():
    limiter = RateLimiter(5, 60, max_keys=3, clock=Clock())
    for key in ("a", "b", "c", "a", "d"):
        limiter.hit(key)
    assert set(limiter.keys) == {"c", "a", "d"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20/60", (20, 60.0)),
        (" 5/1.5 ", (5, 1.5)),
        ("30", (30, 60.0)),
        ("off", None),
        ("0", None),
        ("", (20, 60.0)),
        (None, (20, 60.0)),
        ("abc", (20, 60.0)),
        ("-3/60", (20, 60.0)),
    ],
)
def test_parse_rate(text, expected):
    assert parse_rate(text, "20/60") == expected


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRU_RATE_PER_SENDER", "2/30")
    monkeypatch.setenv("GRU_RATE_PER_ADDRESS", "off")
    rates = ChannelRates.from_env()
    assert (rates.per_sender.limit, rates.per_sender.window) == (2, 30.0)
    assert rates.per_address is None
    monkeypatch.delenv("GRU_RATE_PER_SENDER")
    monkeypatch.delenv("GRU_RATE_PER_ADDRESS")
    rates = ChannelRates.from_env()
    assert (rates.per_sender.limit, rates.per_address.limit) == (20, 60)
    assert ChannelRates.from_env(by_address=False).per_address is None


async def test_an_address_cycling_sender_ids_is_stopped_and_loopback_is_not_limited():
    rates = ChannelRates(RateLimiter(5, 60, clock=Clock()), RateLimiter(3, 60, clock=Clock()))
    decisions = [await rates.check(f"sender-{i}", "203.0.113.7") for i in range(4)]
    assert decisions == [ALLOW, ALLOW, ALLOW, REFUSE]
    assert await rates.check("sender-x", "198.51.100.1") == ALLOW
    assert all([await rates.check(f"local-{i}", "127.0.0.1") == ALLOW for i in range(10)])
    assert all([await rates.check(f"local6-{i}", "::1") == ALLOW for i in range(10)])
    assert all([await rates.check("same", None) == ALLOW for _ in range(5)])
    assert await rates.check("same", None) == REFUSE


def test_client_address_prefers_the_trusted_forwarded_address():
    assert client_address(SimpleNamespace(remote_addr="203.0.113.7", ip="127.0.0.1")) == "203.0.113.7"
    assert client_address(SimpleNamespace(remote_addr="", ip="198.51.100.1")) == "198.51.100.1"
    assert client_address(None) is None


class Recorder:
    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append(message)


def test_socketio_refuses_in_french_past_the_limit_without_the_assistant(monkeypatch):
    monkeypatch.setenv("GRU_RATE_PER_SENDER", "3/60")
    channel = GuardedSocketIOInput(session_persistence=True)
    on_new_message = Recorder()
    channel.blueprint(on_new_message)
    channel.sio.emit = mock.AsyncMock()
    handle = channel.sio.handlers["/"]["user_uttered"]

    async def talk():
        for _ in range(4):
            await handle("sid1", {"message": "Bonjour", "session_id": "s1"})
        await handle("sid2", {"message": "Bonjour", "session_id": "s2"})

    asyncio.run(talk())
    assert [m.sender_id for m in on_new_message.messages] == ["s1", "s1", "s1", "s2"]
    channel.sio.emit.assert_awaited_once_with(
        "bot_uttered", {"text": TOO_MANY_MESSAGES}, room="sid1", namespace=None
    )


class FakeClient:
    def __init__(self):
        self.sent = []

    def send(self, payload, recipient_id, messaging_type):
        self.sent.append((recipient_id, payload))

    def send_action(self, action, recipient_id):
        self.sent.append((recipient_id, {"sender_action": action}))


def test_messenger_tells_the_refusal_once_per_window_and_drops_the_messages():
    on_new_message = Recorder()
    rates = ChannelRates(RateLimiter(2, 60, clock=Clock()), None)
    messenger = GuardedMessenger("token", on_new_message, rates)
    messenger.client = FakeClient()
    events = [
        {"sender": {"id": psid}, "recipient": {"id": "page"}, "message": {"mid": "m", "text": "Bonjour"}}
        for psid in ["p1"] * 5 + ["p2"]
    ]
    asyncio.run(messenger.handle({"entry": [{"messaging": events}]}, None))
    assert [m.sender_id for m in on_new_message.messages] == ["p1", "p1", "p2"]
    texts = [payload for psid, payload in messenger.client.sent if "text" in payload]
    assert texts == [{"text": TOO_MANY_MESSAGES}]
