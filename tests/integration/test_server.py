"""The assistant as citizens reach it: the real Rasa server and action server, over
REST and socketio, with hostile input. Needs a trained model in models/ (make test
trains one first)."""

import asyncio
import json
import sqlite3
import urllib.error
import urllib.request
import uuid

import pytest
import socketio

from ops import servers
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.integration

FRENCH_HINTS = ("vous", "Désolé", "Bonjour", "Je ")


def _start(db_path, log_path):
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    env = dict(**__import__("os").environ)
    env["GRU_TRACKER_STORE_URL"] = f"sqlite:///{db_path}"
    env.pop("GRU_LOCK_STORE_URL", None)
    log = open(log_path, "ab")
    return servers.start_stack(
        rasa_port=free_port(), action_port=free_port(), env=env, run_dir=db_path.parent / "run", log=log
    )


def start_with_widget_page(env, run_dir, log):
    """The action server and Rasa on free ports, Rasa allowing only the origin of a widget page
    to be served on `.page_port`, as `make run` allows only its demo page (no wildcard CORS)."""
    from ops import web

    page_port = free_port()
    running = servers.start_stack(
        rasa_port=free_port(),
        action_port=free_port(),
        env=env,
        run_dir=run_dir,
        log=log,
        cors=web.page_origins(page_port),
    )
    running.page_port = page_port
    return running


@pytest.fixture(scope="module")
def stack_paths(tmp_path_factory):
    base = tmp_path_factory.mktemp("stack")
    return base / "rasa.db", base / "servers.log"


@pytest.fixture(scope="module")
def stack(stack_paths):
    running = _start(*stack_paths)
    yield running
    running.stop()


def post(url, body: bytes, content_type="application/json"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def say(stack, sender, message):
    status, body = post(
        f"{stack.url}/webhooks/rest/webhook", json.dumps({"sender": sender, "message": message}).encode()
    )
    assert status == 200, body
    return json.loads(body)


def assert_healthy(stack):
    with urllib.request.urlopen(f"{stack.url}/", timeout=10) as response:
        assert response.status == 200
    assert say(stack, f"health-{uuid.uuid4()}", "Bonjour")


def test_rest_bonjour_gets_the_french_welcome_with_buttons(stack):
    replies = say(stack, f"citizen-{uuid.uuid4()}", "Bonjour")
    assert replies[0]["text"].startswith(
        "Bonjour et bienvenue ! Je suis l'assistant en ligne de la mairie de Villebrune"
    )
    payloads = [b["payload"] for b in replies[0]["buttons"]]
    assert "/book_appointment" in payloads and "/human_handoff" in payloads


def test_rest_opening_hours_flow(stack):
    sender = f"citizen-{uuid.uuid4()}"
    replies = say(stack, sender, "c'est ouvert quand la mairie ?")
    assert replies[0]["text"].startswith("Accueil de la mairie — horaires d'ouverture :")
    other = replies[0]["buttons"][0]
    replies = say(stack, sender, other["payload"])
    assert replies[0]["text"].startswith(f"{other['title']} — horaires d'ouverture :")


async def test_socketio_bonjour(stack):
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue = asyncio.Queue()
    session_id = uuid.uuid4().hex

    @client.on("session_confirm")
    async def _confirm(data):
        await received.put(("session_confirm", data))

    @client.on("bot_uttered")
    async def _bot(data):
        await received.put(("bot_uttered", data))

    # Long-polling: engineio's websocket client needs aiohttp >= 3.10, newer than Rasa's pin.
    # The server side (Rasa's socketio channel) is the same for both transports.
    await client.connect(stack.url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": session_id})
        kind, _ = await asyncio.wait_for(received.get(), 30)
        assert kind == "session_confirm"
        await client.emit("user_uttered", {"message": "Bonjour", "session_id": session_id})
        kind, data = await asyncio.wait_for(received.get(), 60)
        assert kind == "bot_uttered"
        assert data["text"].startswith("Bonjour et bienvenue")
        assert any(button["payload"] == "/opening_hours" for button in data["quick_replies"])
    finally:
        await client.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        "a" * 10_000,
        ("Bonjour, je voudrais savoir " * 400)[:10_000],
        "😀😀🙏🙏🎉",
        "",
        "   ",
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "'; DROP TABLE events; --",
        "1 OR 1=1",
        "{{7*7}} ${jndi:ldap://x}",
        "\u0000\u0001\u0002",
        '/greet{"service": [1, 2, {"x": null}]}',
        "/nonexistent_intent",
    ],
    ids=[
        "10k-chars",
        "10k-sentence",
        "emojis",
        "empty",
        "spaces",
        "script",
        "img-onerror",
        "sql-drop",
        "sql-or",
        "template-injection",
        "control-chars",
        "malformed-entities",
        "unknown-intent",
    ],
)
def test_hostile_messages_get_a_clear_french_answer(stack, message):
    replies = say(stack, f"hostile-{uuid.uuid4()}", message)
    assert replies, "the assistant must always answer"
    texts = " ".join(r.get("text", "") for r in replies)
    assert any(hint in texts for hint in FRENCH_HINTS), texts
    for forbidden in ("Traceback", "Exception", "<script", "DROP TABLE"):
        assert forbidden not in texts
    assert_healthy(stack)


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"this is not json", "application/json"),
        (b"", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"sender": "x"}', "application/json"),
        (b'{"message": {"nested": true}, "sender": "x"}', "application/json"),
        (b'{"message": "Bonjour", "sender": {"id": 1}}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b'{"message": "Bonjour", "sender": true}', "application/json"),
        (b'{"message": "Bonjour", "sender": "x", "metadata": "oops"}', "application/json"),
        (b'{"message": "' + b"x" * 2_000_000 + b'", "sender": "x"}', "application/json"),
    ],
    ids=[
        "not-json",
        "empty-body",
        "json-list",
        "no-message",
        "message-object",
        "sender-object",
        "binary",
        "sender-bool",
        "metadata-string",
        "2MB",
    ],
)
def test_malformed_rest_payloads_get_a_clean_4xx(stack, body, content_type):
    status, response = post(f"{stack.url}/webhooks/rest/webhook", body, content_type)
    assert 400 <= status < 500, (status, response[:300])
    assert b"Traceback" not in response
    assert_healthy(stack)


def test_logs_carry_no_personal_data(stack, stack_paths):
    _, log_path = stack_paths
    sender = f"privacy-{uuid.uuid4()}"
    say(stack, sender, "je suis Jeanne Testeuse-Unique, 0612345678, ma mère ne peut plus vivre seule")
    say(stack, sender, "zxqv blorp fnord")  # a fallback, which the action server logs
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "conversation=" in log
    for secret in ("Testeuse-Unique", "0612345678", "blorp", sender):
        assert secret not in log


def test_conversations_survive_a_restart(stack, stack_paths):
    db_path, log_path = stack_paths
    sender = f"persistent-{uuid.uuid4()}"
    say(stack, sender, "Bonjour")
    say(stack, sender, "horaires du ccas")

    def rows(type_name):
        with sqlite3.connect(db_path) as db:
            return db.execute(
                "select data from events where sender_id = ? and type_name = ?", (sender, type_name)
            ).fetchall()

    def user_messages():
        return [json.loads(row[0])["text"] for row in rows("user")]

    assert user_messages() == ["Bonjour", "horaires du ccas"]
    stack.stop()
    restarted = _start(db_path, log_path)
    try:
        replies = say(restarted, sender, "et ses horaires ?")
        assert replies
        assert user_messages() == ["Bonjour", "horaires du ccas", "et ses horaires ?"]
        # Restored, not restarted: the session begun before the restart goes on.
        assert len(rows("session_started")) == 1
    finally:
        restarted.stop()
