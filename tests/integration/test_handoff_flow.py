"""Live hand-off end to end: the running assistant (Rasa + action server) and the agent
console (in this process, on its HTTP API). A citizen over REST asks for an agent, the agent
takes the conversation through the console, replies (Rasa stores the reply in the tracker, a
REST client reads it there; a webchat citizen gets it pushed on socketio), the bot stays
silent meanwhile, the agent closes, the bot answers again; « retour à l'assistant » ends a
hand-off from the citizen's side.

The assistant runs on a copy of the demo territory whose front desk and état civil are open
every day and all day, with no exceptional closure, so that the test does not depend on the
hour it runs at (public holidays still close them: the test is skipped on those days).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import socketio

from core.db import session_scope
from handoff.models import HandoffRequest
from tests.integration.handoff_support import (
    citizen_says,
    running_handoff_stack,
    signed_in_console,
    tracker_events,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handoff_stack(tmp_path_factory):
    with running_handoff_stack(tmp_path_factory.mktemp("handoff")) as running:
        yield running


async def test_citizen_agent_and_back_over_rest(handoff_stack):
    stack, sender = handoff_stack, f"citizen-{uuid.uuid4()}"
    agent = await signed_in_console(stack)  # an agent on duty
    try:
        await citizen_says(stack, sender, "je veux prendre rendez-vous pour une carte d'identité")
        replies = await citizen_says(stack, sender, "je voudrais parler à un agent")
        text = "\n".join(r.get("text", "") for r in replies)
        assert "file d'attente" in text and "Service état civil" in text, text
        assert "Retour à l'assistant" in [b["title"] for r in replies for b in r.get("buttons", [])]
        assert await citizen_says(stack, sender, "vous êtes là ?") == []  # the bot stays silent

        items = (await (await agent.get("/api/queue")).json())["items"]
        [mine] = [item for item in items if item["status"] == "waiting"]
        assert mine["topic_label"] == "Rendez-vous CNI / passeport"
        taken = await agent.post(f"/api/handoffs/{mine['id']}/take", headers=agent.headers)
        assert taken.status == 200, await taken.text()
        data = await (await agent.get(f"/api/handoffs/{mine['id']}/conversation")).json()
        said = [line["text"] for line in data["transcript"] if line["who"] == "usager"]
        assert said[-2:] == ["je voudrais parler à un agent", "vous êtes là ?"], data["transcript"]

        reply = await agent.post(
            f"/api/handoffs/{mine['id']}/reply",
            json={"text": "Votre dossier est complet."},
            headers=agent.headers,
        )
        assert reply.status == 200, await reply.text()
        bots = [e for e in tracker_events(stack, sender) if e["event"] == "bot"]
        # Rasa adds its model_id and assistant_id to the metadata.
        assert (
            bots[-1]["text"] == "Votre dossier est complet."
            and bots[-1]["metadata"]["handoff_agent"] == "Jeanne"
        )
        assert await citizen_says(stack, sender, "merci, et pour le passeport ?") == []  # still the agent's

        closed = await agent.post(
            f"/api/handoffs/{mine['id']}/close", json={"reason": "answered"}, headers=agent.headers
        )
        assert closed.status == 200, await closed.text()
        assert (
            "assistant reprend"
            in [e for e in tracker_events(stack, sender) if e["event"] == "bot"][-1]["text"]
        )
        replies = await citizen_says(stack, sender, "Bonjour")
        assert replies and replies[0]["text"].startswith("Bonjour et bienvenue"), replies  # the bot is back
    finally:
        await agent.close()


async def test_back_to_the_assistant_while_waiting(handoff_stack):
    stack, sender = handoff_stack, f"citizen-{uuid.uuid4()}"
    agent = await signed_in_console(stack)
    try:
        replies = await citizen_says(stack, sender, "je voudrais parler à un agent")
        back = next(b for r in replies for b in r.get("buttons", []) if b["title"] == "Retour à l'assistant")
        replies = await citizen_says(stack, sender, back["payload"])
        assert replies and "Je peux vous aider" in replies[0]["text"], replies
        with session_scope(stack.db_url) as s:
            row = s.query(HandoffRequest).filter_by(conversation_id=sender).one()
            assert (row.status, row.close_reason) == ("closed", "citizen_left")
        assert (await citizen_says(stack, sender, "Bonjour"))[0]["text"].startswith("Bonjour et bienvenue")
    finally:
        await agent.close()


async def test_a_webchat_citizen_gets_the_agents_reply_pushed(handoff_stack):
    stack = handoff_stack
    agent = await signed_in_console(stack)
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue = asyncio.Queue()
    session_id = uuid.uuid4().hex

    @client.on("session_confirm")
    async def _confirm(data):
        await received.put(("session_confirm", data))

    @client.on("bot_uttered")
    async def _bot(data):
        await received.put(("bot_uttered", data))

    async def next_text():
        kind, data = await asyncio.wait_for(received.get(), 60)
        assert kind == "bot_uttered"
        return data.get("text", "")

    await client.connect(stack.url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": session_id})
        assert (await asyncio.wait_for(received.get(), 30))[0] == "session_confirm"
        await client.emit(
            "user_uttered", {"message": "je voudrais parler à un agent", "session_id": session_id}
        )
        text = await next_text()
        while "file d'attente" not in text:  # the welcome alerts may come first
            text = await next_text()
        items = (await (await agent.get("/api/queue")).json())["items"]
        [mine] = [i for i in items if i["status"] == "waiting" and i["channel"] == "socketio"]
        await agent.post(f"/api/handoffs/{mine['id']}/take", headers=agent.headers)
        assert (await next_text()).startswith("Bonjour, je suis Jeanne")
        await agent.post(
            f"/api/handoffs/{mine['id']}/reply", json={"text": "Je regarde."}, headers=agent.headers
        )
        assert await next_text() == "Je regarde."
        await agent.post(
            f"/api/handoffs/{mine['id']}/close", json={"reason": "answered"}, headers=agent.headers
        )
        assert "assistant reprend" in await next_text()
    finally:
        await client.disconnect()
        await agent.close()
