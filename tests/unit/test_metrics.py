"""Prometheus metrics: Rasa's channels (REST, socketio, Messenger) served by a real Sanic app
registered the way Rasa registers channels, and the action server's /metrics; each scraped
over HTTP. The agent behind the channels answers or fails on a word (the unit under test is
the channel and its figures, not the NLU); Messenger's Graph API is a local HTTP server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys

import aiohttp
import pytest
import socketio
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from rasa.core.channels.channel import register
from rasa_sdk import Action
from sanic import Sanic

from channels.facebook import GuardedFacebookInput
from channels.metrics import MetricsInput
from channels.rest import GuardedRestInput
from channels.socketio import GuardedSocketIOInput
from ops.action_server import SECRET_HEADER, create_app
from tests.conftest import free_port
from tests.unit.local_server import serving

SENDER = "citoyen-7f3a9c"  # must never show in the figures
TEXT = "je suis Mme Durand-Lefèvre"
FAILING = "panne"  # the fake agent raises on this word
APP_SECRET = "messenger-app-secret"
SECRET = "s3cret-for-the-tests-0123456789"


class Agent:
    """Stands for Rasa's agent (app.ctx.agent, what Rasa's channel handler calls)."""

    async def handle_message(self, message):
        if FAILING in message.text:
            raise RuntimeError("the turn failed")
        await message.output_channel.send_text_message(message.sender_id, "Bonjour, je vous écoute.")


def samples(text: str) -> dict:
    """{(sample name, labels as a sorted tuple): value} of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def turns(figures: dict, channel: str) -> tuple[float, float]:
    """(turns timed, turns failed) of a channel."""
    key = (("channel", channel),)
    return figures[("gru_turn_seconds_count", key)], figures[("gru_turn_errors_total", key)]


@pytest.fixture
async def rasa_like(monkeypatch):
    """The channels on a real port, registered by Rasa's own `register`, and a Graph API server."""
    sent = []

    async def graph(request):
        sent.append(await request.json())
        return web.json_response({"recipient_id": "psid", "message_id": "mid"})

    graph_app = web.Application()
    graph_app.router.add_post("/me/messages", graph)
    async with serving(graph_app) as graph_url:
        monkeypatch.setenv("GRU_FACEBOOK_GRAPH_URL", graph_url)
        monkeypatch.setenv("GRU_RATE_PER_SENDER", "off")
        monkeypatch.setenv("GRU_RATE_PER_ADDRESS", "off")
        Sanic.test_mode = True
        app = Sanic("gru_metrics_test", configure_logging=False)
        app.ctx.agent = Agent()
        channels = [
            GuardedRestInput(),
            GuardedSocketIOInput(session_persistence=True, socketio_path="/socket.io"),
            GuardedFacebookInput(fb_verify="verify", fb_secret=APP_SECRET, fb_access_token="token"),
            MetricsInput(),
        ]
        register(channels, app, "/webhooks/")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        await server.startup()
        await server.start_serving()
        async with aiohttp.ClientSession() as session:
            yield session, f"http://127.0.0.1:{port}", sent
        await server.close()
        Sanic.test_mode = False


async def scrape(session, url: str) -> str:
    async with session.get(f"{url}/webhooks/metrics/") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


async def test_rest_turns_move_the_histogram_and_failures_the_error_counter(rasa_like):
    session, url, _ = rasa_like
    before = turns(samples(await scrape(session, url)), "rest")
    async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": SENDER, "message": TEXT}) as resp:
        assert await resp.json() == [{"recipient_id": SENDER, "text": "Bonjour, je vous écoute."}]
    assert turns(samples(await scrape(session, url)), "rest") == (before[0] + 1, before[1])
    async with session.post(
        f"{url}/webhooks/rest/webhook", json={"sender": SENDER, "message": FAILING}
    ) as resp:
        assert resp.status == 200  # the client still gets what was said (nothing here)
    text = await scrape(session, url)
    assert turns(samples(text), "rest") == (before[0] + 2, before[1] + 1)
    assert SENDER not in text and "Durand" not in text and FAILING not in text


async def test_socketio_turns_are_counted_under_their_channel(rasa_like):
    session, url, _ = rasa_like
    before = turns(samples(await scrape(session, url)), "socketio")
    client = socketio.AsyncClient()
    answers: asyncio.Queue = asyncio.Queue()
    client.on("bot_uttered", answers.put)
    await client.connect(
        url, socketio_path="/socket.io", transports=["polling"]
    )  # aiohttp 3.9 lacks the ws client engineio wants
    try:
        await client.emit("session_request", {"session_id": SENDER})
        await client.emit("user_uttered", {"message": TEXT, "session_id": SENDER})
        assert (await asyncio.wait_for(answers.get(), 10))["text"] == "Bonjour, je vous écoute."
        await client.emit("user_uttered", {"message": FAILING, "session_id": SENDER})
        for _ in range(100):  # no answer to wait for: the failed turn shows in the figures
            if turns(samples(await scrape(session, url)), "socketio")[1] > before[1]:
                break
            await asyncio.sleep(0.05)
    finally:  # without waiting for the long-poll in flight (25 s): the server closes next
        await client.eio.disconnect(abort=True)
    assert turns(samples(await scrape(session, url)), "socketio") == (before[0] + 2, before[1] + 1)


async def test_messenger_turns_are_counted_after_the_webhook_s_200(rasa_like):
    session, url, sent = rasa_like
    before = turns(samples(await scrape(session, url)), "facebook")
    events = [
        {
            "sender": {"id": SENDER},
            "recipient": {"id": "page"},
            "timestamp": i,
            "message": {"mid": f"m{i}", "text": t},
        }
        for i, t in enumerate((TEXT, FAILING))
    ]
    body = json.dumps({"object": "page", "entry": [{"id": "page", "time": 0, "messaging": events}]}).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
    async with session.post(f"{url}/webhooks/facebook/webhook", data=body, headers=headers) as resp:
        assert resp.status == 200
    for _ in range(200):  # the events run after the 200
        if turns(samples(await scrape(session, url)), "facebook")[0] >= before[0] + 2:
            break
        await asyncio.sleep(0.05)
    assert turns(samples(await scrape(session, url)), "facebook") == (before[0] + 2, before[1] + 1)
    assert {"text": "Bonjour, je vous écoute."} in [m.get("message") for m in sent]


async def test_every_channel_s_series_exists_before_its_first_turn(rasa_like):
    session, url, _ = rasa_like
    figures = samples(await scrape(session, url))
    for channel in ("rest", "socketio", "facebook"):
        turns(figures, channel)  # KeyError if a series were missing (alerts would see a gap)
    assert any(name == "process_resident_memory_bytes" for name, _ in figures)


class ActionMetricsEcho(Action):
    def name(self):
        return "action_metrics_echo"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="ok")
        return []


class ActionMetricsBoom(Action):
    def name(self):
        return "action_metrics_boom"

    async def run(self, dispatcher, tracker, domain):
        raise RuntimeError(f"failed for {tracker.sender_id}")


def action_call(action: str) -> dict:
    tracker = {"sender_id": SENDER, "slots": {}, "latest_message": {"text": TEXT}, "events": []}
    tracker.update(paused=False, followup_action=None, active_loop={}, latest_action_name=None)
    return {"next_action": action, "sender_id": SENDER, "version": "3.6.21", "domain": {}, "tracker": tracker}


@pytest.fixture
async def action_server():
    Sanic.test_mode = True
    app = create_app(SECRET, sys.modules[__name__], name="gru_actions_metrics_test")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.start_serving()
    async with aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{port}"
    await server.close()
    Sanic.test_mode = False


async def test_action_server_metrics_count_runs_and_failures_per_action(action_server):
    session, url = action_server
    headers = {SECRET_HEADER: SECRET}

    async def figures() -> dict:
        async with session.get(f"{url}/metrics") as resp:  # no secret: like /health
            assert resp.status == 200
            text = await resp.text()
        assert SENDER not in text and "Durand" not in text
        return samples(text)

    def of(found: dict, action: str) -> tuple[float, float]:
        key = (("action", action),)
        return found[("gru_action_seconds_count", key)], found[("gru_action_errors_total", key)]

    assert of(await figures(), "action_metrics_echo") == (0, 0)
    for action, status in (
        ("action_metrics_echo", 200),
        ("action_metrics_echo", 200),
        ("action_metrics_boom", 500),
    ):
        async with session.post(f"{url}/webhook", json=action_call(action), headers=headers) as resp:
            assert resp.status == status
    async with session.post(f"{url}/webhook", json=action_call(f"action_{SENDER}"), headers=headers) as resp:
        assert resp.status == 404  # an invented name is counted as « unknown », never as a label
    found = await figures()
    assert of(found, "action_metrics_echo") == (2, 0)
    assert of(found, "action_metrics_boom") == (1, 1)
    assert of(found, "unknown") == (1, 0)
    assert found[("gru_action_seconds_bucket", (("action", "action_metrics_echo"), ("le", "+Inf")))] == 2
