"""A Messenger citizen handed to an agent and back, end to end: signed webhooks to the running
assistant's facebook channel, the agent console (in this process, on its HTTP API), and a local
server standing for graph.facebook.com that records every Send API call. The citizen asks for
an agent and is queued; the agent takes the conversation, reads it and replies — Messenger gets
the reply with the HUMAN_AGENT tag (Meta refuses a plain RESPONSE 24 hours after the person's
last message); meanwhile the bot stays silent and the citizen's words reach the agent's
transcript; the agent closes, the citizen is told, and the bot answers again.

The assistant runs on the territory copy of test_handoff_flow.py (services open all day)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.integration.conftest import FACEBOOK, FakeGraph
from tests.integration.handoff_support import bot_texts, running_handoff_stack, signed_in_console
from tests.integration.test_messenger import message, post, sent_to, texts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def messenger_stack(graph, tmp_path_factory):
    with running_handoff_stack(
        tmp_path_factory.mktemp("handoff-messenger"),
        GRU_FACEBOOK_GRAPH_URL=f"http://127.0.0.1:{graph.server_port}/v19.0",
        **FACEBOOK,
    ) as running:
        yield running


async def citizen_writes(stack, psid: str, text: str) -> list:
    """A signed webhook from `psid`; the Send API messages the assistant answered with."""
    since = len(FakeGraph.sent)
    assert await asyncio.to_thread(post, stack, message(psid, text)) == (200, "success")
    return await asyncio.to_thread(sent_to, psid, since)


async def graph_messages(psid: str, since: int, count: int, timeout: float = 15) -> list:
    """The first `count` Send API messages to `psid` after index `since`, once they arrived."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            c["body"]
            for c in FakeGraph.sent[since:]
            if c["body"].get("recipient", {}).get("id") == psid and "message" in c["body"]
        ]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_a_messenger_citizen_is_handed_to_an_agent_and_back(messenger_stack):
    stack, psid = messenger_stack, f"psid-{uuid.uuid4().hex[:8]}"
    agent = await signed_in_console(stack)
    try:
        queued = texts(await citizen_writes(stack, psid, "je veux parler à un agent"))
        assert "file d'attente" in queued, queued

        items = (await (await agent.get("/api/queue")).json())["items"]
        [mine] = [i for i in items if i["status"] == "waiting" and i["channel"] == "facebook"]
        since = len(FakeGraph.sent)
        taken = await agent.post(f"/api/handoffs/{mine['id']}/take", headers=agent.headers)
        assert taken.status == 200, await taken.text()
        [greeting] = await graph_messages(psid, since, 1)
        assert greeting["message"]["text"].startswith("Bonjour, je suis Jeanne"), greeting
        conversation = await (await agent.get(f"/api/handoffs/{mine['id']}/conversation")).json()
        assert conversation["channel"] == "facebook"
        said = [line["text"] for line in conversation["transcript"] if line["who"] == "usager"]
        assert said[-1] == "je veux parler à un agent", conversation["transcript"]

        since = len(FakeGraph.sent)
        reply = await agent.post(
            f"/api/handoffs/{mine['id']}/reply",
            json={"text": "Votre dossier est complet."},
            headers=agent.headers,
        )
        assert reply.status == 200, await reply.text()
        [sent] = await graph_messages(psid, since, 1)
        # Meta's published shape for a human agent's message outside the 24-hour window.
        assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT"), sent
        assert sent["recipient"] == {"id": psid} and sent["message"] == {"text": "Votre dossier est complet."}

        # The bot stays silent while the agent holds the conversation; the agent reads it.
        assert await citizen_writes(stack, psid, "merci, et pour le passeport ?") == []
        conversation = await (await agent.get(f"/api/handoffs/{mine['id']}/conversation")).json()
        lines = [(line["who"], line["text"]) for line in conversation["transcript"]]
        assert lines[-2:] == [
            ("agent", "Votre dossier est complet."),
            ("usager", "merci, et pour le passeport ?"),
        ], lines

        since = len(FakeGraph.sent)
        closed = await agent.post(
            f"/api/handoffs/{mine['id']}/close", json={"reason": "answered"}, headers=agent.headers
        )
        assert closed.status == 200, await closed.text()
        [told] = await graph_messages(psid, since, 1)
        told_text = told["message"].get("text") or told["message"]["attachment"]["payload"]["text"]
        assert "assistant reprend" in told_text, told
        assert told.get("messaging_type") == "RESPONSE"  # the assistant's own words: no tag
        assert "assistant reprend" in bot_texts(stack, psid)[-1]

        answer = texts(await citizen_writes(stack, psid, "Bonjour"))
        assert "Bonjour et bienvenue" in answer, answer  # the bot is back
    finally:
        await agent.close()
