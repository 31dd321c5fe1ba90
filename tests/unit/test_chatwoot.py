"""The Chatwoot adapter of the live hand-off (GRU_HANDOFF=chatwoot) against a local Chatwoot
(tests/unit/fake_chatwoot.py) and a local Rasa HTTP API (FakeRasa of test_handoff_console):
opening from action_human_handoff, forwarding the citizen's messages, the signed webhooks."""

import dataclasses
import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from rasa_sdk.events import ActionExecuted, ConversationPaused

from actions import handoff
from actions.context import pseudonym
from core.db import session_scope
from handoff import chatwoot, queue
from handoff.console import CHATWOOT_BRIDGE, Console, create_app
from handoff.models import HandoffRequest
from handoff.rasa_api import RasaApi
from staff.auth import utcnow
from tests.unit import test_handoff_console
from tests.unit.fake_chatwoot import FakeChatwoot
from tests.unit.local_server import serving
from tests.unit.test_actions import run, tracker, user
from tests.unit.test_handoff_console import TOKEN

rasa = test_handoff_console.rasa  # the fixture: a local Rasa HTTP API (FakeRasa)
T0 = time.time() - 600  # the conversation began ten minutes ago


def stamped(event, at):
    return {**event, "timestamp": T0 + at}


def citizen(text, at, channel, intent="inform"):
    return stamped({**user(intent, text), "input_channel": channel}, at)


def handoff_tracker(channel="socketio"):
    return tracker(
        stamped({"event": "session_started"}, 0),
        citizen("je veux un rdv pour ma carte d'identité", 1, channel, "book_appointment"),
        stamped({"event": "bot", "text": "Pour quel document ?"}, 2),
        stamped({**user("human_handoff", "je veux parler à un agent"), "input_channel": channel}, 3),
        slots={"document_type": "cni", "requested_slot": "site"},
    )


@pytest.fixture
async def fake():
    server = FakeChatwoot()
    async with serving(server.app()) as url:
        server.url = url
        yield server


@pytest.fixture
def chatwoot_env(monkeypatch, db_url, fake):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.setenv("GRU_HANDOFF", "chatwoot")
    monkeypatch.setenv("GRU_CHATWOOT_URL", fake.url)
    monkeypatch.setenv("GRU_CHATWOOT_ACCOUNT_ID", str(fake.account_id))
    monkeypatch.setenv("GRU_CHATWOOT_INBOX_ID", str(fake.inbox_id))
    monkeypatch.setenv("GRU_CHATWOOT_TOKEN", fake.token)
    monkeypatch.setenv("GRU_CHATWOOT_WEBHOOK_SECRET", fake.secret)
    monkeypatch.setattr(handoff, "service_open", lambda key: True)


@pytest.fixture
async def console(chatwoot_env, db_url, rasa):
    client = TestClient(TestServer(create_app(Console(RasaApi(rasa.url, TOKEN), db_url=db_url), sweep=False)))
    await client.start_server()
    client.bridge = client.server.app[CHATWOOT_BRIDGE]
    client.webhook = str(client.make_url(chatwoot.WEBHOOK_PATH))
    yield client
    await client.close()


def rows(db_url):
    with session_scope(db_url) as s:
        return [
            (r.id, r.conversation_id, r.channel, r.status, r.close_reason) for r in s.query(HandoffRequest)
        ]


async def opened(fake, channel="socketio"):
    """action_human_handoff for citizen-1; the Chatwoot conversation it opened."""
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker(channel))
    assert events == [ConversationPaused(), ActionExecuted("action_listen")], messages
    [conversation] = fake.conversations.values()
    return conversation, messages


@pytest.mark.parametrize("channel", ["socketio", "facebook"])
async def test_a_hand_off_opens_a_contact_a_conversation_and_a_note(chatwoot_env, db_url, fake, channel):
    conversation, messages = await opened(fake, channel)
    assert "la prochaine personne" in messages[0]["text"] and "Service état civil" in messages[0]["text"]
    [(request_id, sender, row_channel, status, _)] = rows(db_url)
    assert (sender, row_channel, status) == ("citizen-1", channel, "waiting")
    [contact] = fake.contacts.values()
    assert contact["identifier"] == pseudonym("citizen-1") and contact["inbox_id"] == fake.inbox_id
    assert "citizen-1" not in json.dumps(contact) and set(contact) == {"id", "inbox_id", "name", "identifier"}
    assert contact["name"] == f"Usager {pseudonym('citizen-1')[:6]}"
    attributes = conversation["custom_attributes"]
    assert attributes["gru_handoff_id"] == request_id and attributes["gru_channel"] == channel
    assert (attributes["gru_service"], attributes["gru_topic"]) == ("etat_civil", "appointments")
    assert attributes["gru_since"] == pytest.approx(T0 + 3)
    assert conversation["labels"] == ["etat_civil", "appointments"]
    [note] = conversation["messages"]
    assert note["private"] and note["message_type"] == "outgoing"
    assert "Service : Service état civil. Sujet : Rendez-vous CNI / passeport" in note["content"]
    assert "Usager : je veux un rdv pour ma carte d'identité" in note["content"]
    assert "Assistant : Pour quel document ?" in note["content"] and "document_type = cni" in note["content"]
    assert "requested_slot" not in note["content"]


async def test_the_same_citizen_keeps_one_contact(chatwoot_env, db_url, fake):
    await opened(fake)
    with session_scope(db_url, write=True) as s:
        queue.close(s, queue.active_for(s, "citizen-1"), "answered", utcnow())
    await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert len(fake.contacts) == 1 and len(fake.conversations) == 2
    assert ("POST", f"contacts/{next(iter(fake.contacts))}/contact_inboxes") in fake.calls


async def test_chatwoot_down_gives_the_service_contact_and_leaves_no_row(chatwoot_env, db_url, fake):
    fake.down = True
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert "01 99 00 10 10" in messages[0]["text"] and events == []
    assert rows(db_url) == [] and fake.conversations == {}


async def test_a_half_opened_conversation_also_gives_the_contact(chatwoot_env, db_url, fake, monkeypatch):
    async def broken_labels(self, conversation_id, labels):
        raise chatwoot.ChatwootUnavailable("chatwoot answered 500")

    monkeypatch.setattr(chatwoot.ChatwootClient, "label", broken_labels)
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert "01 99 00 10 10" in messages[0]["text"] and events == [] and rows(db_url) == []


async def test_citizen_messages_are_forwarded_exactly_once_across_a_restart(console, db_url, fake, rasa):
    conversation, _ = await opened(fake)
    history = handoff_tracker().events
    rasa.trackers["citizen-1"] = {"events": [*history, citizen("mon numéro est 1234ABCD56", 10, "socketio")]}
    assert await console.bridge.forward_once() == 1
    assert await console.bridge.forward_once() == 0
    rasa.trackers["citizen-1"]["events"] += [
        {"event": "user", "text": "EXTERNAL: human_handoff", "timestamp": T0 + 11},
        citizen("vous êtes là ?", 12, "socketio"),
    ]
    assert await console.bridge.forward_once() == 1
    assert fake.incoming(conversation["id"]) == ["mon numéro est 1234ABCD56", "vous êtes là ?"]
    # A new console process knows nothing: what Chatwoot holds says what was forwarded.
    rasa.trackers["citizen-1"]["events"].append(citizen("merci", 13, "socketio"))
    restarted = chatwoot.ChatwootBridge.from_env(console.bridge.console)
    try:
        assert await restarted.forward_once() == 1 and await restarted.forward_once() == 0
    finally:
        await restarted.client.close()
    assert fake.incoming(conversation["id"]) == ["mon numéro est 1234ABCD56", "vous êtes là ?", "merci"]
    # Chatwoot sends back a webhook for each message the bridge created: none reaches the citizen.
    assert set(await fake.deliver(console.webhook)) == {200} and rasa.appended == []


async def test_forwarding_counts_past_chatwoots_pages_of_twenty(console, fake, rasa):
    conversation, _ = await opened(fake)
    said = [f"message {n}" for n in range(45)]
    rasa.trackers["citizen-1"] = {
        "events": [citizen(text, 10 + n, "socketio") for n, text in enumerate(said)]
    }
    assert await console.bridge.forward_once() == 45
    for n in range(30):
        fake.agent_reply(conversation["id"], f"réponse {n}")
    rasa.trackers["citizen-1"]["events"].append(citizen("encore une question", 100, "socketio"))
    restarted = chatwoot.ChatwootBridge.from_env(console.bridge.console)
    try:
        assert await restarted.forward_once() == 1
    finally:
        await restarted.client.close()
    assert fake.incoming(conversation["id"]) == [*said, "encore une question"]


async def test_chatwoot_down_while_forwarding_loses_nothing(console, fake, rasa):
    conversation, _ = await opened(fake)
    rasa.trackers["citizen-1"] = {"events": [citizen("bonjour ?", 10, "socketio")]}
    fake.down = True
    assert await console.bridge.forward_once() == 0
    fake.down = False
    assert await console.bridge.forward_once() == 1
    assert fake.incoming(conversation["id"]) == ["bonjour ?"]


@pytest.mark.parametrize("channel", ["socketio", "facebook"])
async def test_an_agent_reply_reaches_the_citizen_through_rasa(console, db_url, fake, rasa, channel):
    conversation, _ = await opened(fake, channel)
    fake.outbox.clear()  # the note's webhook
    fake.agent_reply(conversation["id"], "Bonjour, je regarde votre dossier.")
    fake.agent_reply(conversation["id"], "note pour les collègues", private=True)
    assert await fake.deliver(console.webhook) == [200, 200]
    [(sender, query, [event])] = rasa.appended
    assert sender == "citizen-1" and query["output_channel"] == "latest"
    assert event["text"] == "Bonjour, je regarde votre dossier."
    assert event["metadata"] == {"handoff_agent": "Claire Martin"}
    if channel == "facebook":
        assert event["data"]["custom"] == {"gru_human_agent": "Bonjour, je regarde votre dossier."}
    else:
        assert "custom" not in event["data"]
    [(_, _, _, status, _)] = rows(db_url)
    assert status == "taken"  # answered: the sweep no longer hands it back


async def test_a_retried_delivery_is_said_once_and_a_failed_one_again(console, fake, rasa):
    conversation, _ = await opened(fake)
    fake.outbox.clear()
    fake.agent_reply(conversation["id"], "Un instant.")
    body = json.dumps(fake.outbox[0]).encode()
    headers = fake.signed(body)
    console.bridge.rasa.token = "expired"  # Rasa refuses: the agent's message is not lost
    assert (await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=headers)).status == 502
    console.bridge.rasa.token = TOKEN
    for _ in range(2):  # Chatwoot's retry, then a duplicate of it
        assert (await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=headers)).status == 200
    assert [events[0]["text"] for _, _, events in rasa.appended] == ["Un instant."]


async def test_resolving_in_chatwoot_resumes_the_assistant(console, db_url, fake, rasa):
    conversation, _ = await opened(fake)
    rasa.trackers["citizen-1"] = {"events": []}
    await console.bridge.forward_once()
    fake.outbox.clear()
    fake.set_status(conversation["id"], "resolved")
    assert await fake.deliver(console.webhook) == [200]
    [(_, _, [resume, goodbye])] = rasa.appended
    assert resume["event"] == "resume" and "assistant reprend" in goodbye["text"]
    assert goodbye["data"]["buttons"] == [{"title": "Voir les sujets", "payload": "/help"}]
    [(_, _, _, status, reason)] = rows(db_url)
    assert (status, reason) == ("closed", "answered")
    calls = len(fake.calls)
    await console.bridge.forward_once()
    assert len(fake.calls) == calls  # nothing left to forward or resolve
    fake.set_status(conversation["id"], "resolved")  # told twice: said once
    await fake.deliver(console.webhook)
    assert len(rasa.appended) == 1


@pytest.mark.parametrize(
    "reason, note", [("citizen_left", "revenu à l'assistant"), ("not_taken", "Personne n'a répondu à temps")]
)
async def test_a_hand_off_ended_here_is_resolved_in_chatwoot(console, db_url, fake, rasa, reason, note):
    conversation, _ = await opened(fake)
    rasa.trackers["citizen-1"] = {"events": []}
    await console.bridge.forward_once()
    with session_scope(db_url, write=True) as s:
        queue.close(s, queue.active_for(s, "citizen-1"), reason, utcnow())
    await console.bridge.forward_once()
    last = conversation["messages"][-1]
    assert conversation["status"] == "resolved" and last["private"] and note in last["content"]
    await fake.deliver(console.webhook)
    assert rasa.appended == []  # its own resolution changes nothing for the citizen
    fake.agent_reply(conversation["id"], "Vous êtes toujours là ?")  # too late
    assert set(await fake.deliver(console.webhook)) == {200} and rasa.appended == []
    last = conversation["messages"][-1]
    assert last["private"] and "non transmis" in last["content"]


async def test_unsigned_forged_or_stale_webhooks_are_refused(console, fake, rasa):
    conversation, _ = await opened(fake)
    fake.outbox.clear()
    fake.agent_reply(conversation["id"], "Bonjour")
    body = json.dumps(fake.outbox[0]).encode()
    plain = {"Content-Type": "application/json"}
    assert (await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=plain)).status == 401
    forged = fake.signed(body, secret="guessed")
    assert (await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=forged)).status == 403
    tampered = fake.signed(body)
    altered = body.replace(b"Bonjour", b"Payez ici")
    assert (await console.post(chatwoot.WEBHOOK_PATH, data=altered, headers=tampered)).status == 403
    stale = fake.signed(body, stamp=int(time.time()) - 3600)
    assert (await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=stale)).status == 401
    assert rasa.appended == []


async def test_without_a_secret_nothing_is_accepted(console, fake):
    console.bridge.config = dataclasses.replace(console.bridge.config, webhook_secret="")
    body = b'{"event": "message_created"}'
    response = await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=fake.signed(body, secret=""))
    assert response.status == 401


async def test_an_oversized_body_is_refused(console, fake):
    body = json.dumps(
        {"event": "message_created", "content": "x" * (chatwoot.MAX_WEBHOOK_BYTES + 1)}
    ).encode()
    response = await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=fake.signed(body))
    assert response.status == 413


async def test_unknown_events_other_accounts_and_bots_are_ignored(console, fake, rasa):
    conversation, _ = await opened(fake)
    fake.outbox.clear()
    for payload in (
        {"event": "conversation_typing_on", "conversation": {"id": conversation["id"]}},
        {"event": "contact_created", "id": 1},
        {"event": "message_created", "message_type": "outgoing", "content": "x", "account": {"id": 999},
         "conversation": {"id": conversation["id"], "custom_attributes": conversation["custom_attributes"]}},
        {"event": "message_created", "message_type": "outgoing", "content": "x",
         "account": {"id": fake.account_id}, "sender": {"id": 2, "type": "agent_bot"},
         "conversation": {"id": conversation["id"], "custom_attributes": conversation["custom_attributes"]}},
    ):  # fmt: skip
        body = json.dumps(payload).encode()
        assert (await console.post(chatwoot.WEBHOOK_PATH, data=body, headers=fake.signed(body))).status == 200
    assert rasa.appended == []


async def test_the_built_in_console_stays_the_default(db_url, monkeypatch, fake, rasa):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.delenv("GRU_HANDOFF", raising=False)
    monkeypatch.setenv("GRU_CHATWOOT_URL", fake.url)  # configured but not selected
    monkeypatch.setattr(handoff, "service_open", lambda key: True)
    assert not chatwoot.enabled()
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert "01 99 00 10 10" in messages[0]["text"] and events == []  # nobody on the console
    app = create_app(Console(RasaApi(rasa.url, TOKEN), db_url=db_url), sweep=False)
    assert app[CHATWOOT_BRIDGE] is None
    async with TestClient(TestServer(app)) as client:
        body = b'{"event": "message_created"}'
        assert (await client.post(chatwoot.WEBHOOK_PATH, data=body, headers=fake.signed(body))).status in (
            404,
            405,
        )
    assert fake.calls == [] and rows(db_url) == []
