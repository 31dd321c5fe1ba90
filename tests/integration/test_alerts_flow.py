"""Crisis alerts through the running assistant, on REST, the website's socketio and
Messenger: subscribe (consent, e-mail double opt-in through the real link, Meta's opt-in
event with its token), broadcast through the operators' endpoint, the alert reaching the
local fake Graph API with the token, the local SMTP server and the local SMS gateway exactly
once, the welcome telling the active alert, then STOP and unsubscription.

This module starts its own assistant (the shared one has no SMTP or SMS configured)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import ROOT, free_port
from tests.integration.conftest import FACEBOOK, Chat, FakeGraph, rows
from tests.integration.test_messenger import message, post, postback, sent_to

pytestmark = pytest.mark.integration

ALERTS_TOKEN = "alerts-operator-token-123"
SMS_TOKEN = "sms-gateway-token"


class FakeSms(BaseHTTPRequestHandler):
    """A JSON SMS gateway: POST /messages {to, from, text, reference}, bearer token."""

    sent: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        ok = self.headers.get("Authorization") == f"Bearer {SMS_TOKEN}" and self.path == "/messages"
        if ok:
            FakeSms.sent.append(body)
        data = json.dumps({"id": f"sms-{len(FakeSms.sent)}"} if ok else {"error": "unauthorized"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, mail.get_content()))  # the decoded text body
        return "250 Message accepted"


@pytest.fixture(scope="module")
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def sms_gateway():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeSms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def app_db(tmp_path_factory):
    return tmp_path_factory.mktemp("alerts") / "gru.db"


@pytest.fixture(scope="module")
def stack(graph, app_db, inbox, sms_gateway, tmp_path_factory):
    from ops import servers

    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    base = tmp_path_factory.mktemp("alerts-stack")
    rasa_port = free_port()
    env = dict(os.environ)
    env.update(
        GRU_TRACKER_STORE_URL=f"sqlite:///{base / 'rasa.db'}",
        GRU_DATABASE_URL=f"sqlite:///{app_db}",
        GRU_FACEBOOK_GRAPH_URL=f"http://127.0.0.1:{graph.server_port}/v19.0",
        GRU_PUBLIC_URL=f"http://127.0.0.1:{rasa_port}",
        GRU_ALERTS_TOKEN=ALERTS_TOKEN,
        GRU_ALERTS_SECRET="alerts-secret-for-the-tests-0123456789",
        GRU_SMTP_HOST="127.0.0.1",
        GRU_SMTP_PORT=str(inbox.port),
        GRU_SMTP_STARTTLS="0",
        GRU_SMTP_FROM="alertes@villebrune.example",
        GRU_SMS_URL=f"http://127.0.0.1:{sms_gateway.server_port}",
        GRU_SMS_TOKEN=SMS_TOKEN,
        GRU_SMS_WEBHOOK_TOKEN="inbound-sms-token",
        **FACEBOOK,
    )
    env.pop("GRU_LOCK_STORE_URL", None)
    log = open(base / "servers.log", "ab")
    running = servers.start_stack(
        rasa_port=rasa_port, action_port=free_port(), env=env, run_dir=base / "run", log=log
    )
    yield running
    running.stop()
    log.close()


def http(url, body=None, token=None, method=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def subscribe_rest(chat: Chat, first: str, channel: str, contact: str | None = None) -> None:
    chat.say(first)
    if "Quels sujets" in chat.text:
        chat.click("Tous les sujets")
    assert "Pour quel quartier" in chat.text, chat.text
    chat.click("Toute la commune")
    assert "Où voulez-vous recevoir" in chat.text, chat.text
    chat.click(channel)
    if contact:
        chat.say(contact)
    assert "J'accepte" in chat.buttons, chat.text
    assert "confidentialite" in chat.text  # the privacy page is linked from the consent


def broadcast(stack, topic: str, text: str) -> dict:
    url = f"{stack.url}/webhooks/alerts/broadcast"
    assert http(f"{url}/preview", {"topic": topic, "text": text})[0] == 401
    assert http(f"{url}/preview", {"topic": topic, "text": text}, token="wrong")[0] == 401
    status, body = http(f"{url}/preview", {"topic": topic, "sectors": [], "text": text}, token=ALERTS_TOKEN)
    assert status == 200, body
    preview = json.loads(body)
    status, body = http(f"{url}/confirm", {"preview_id": preview["preview_id"]}, token=ALERTS_TOKEN)
    assert status == 202, body
    deadline = time.monotonic() + 30
    while True:
        status, body = http(f"{url}/{preview['preview_id']}", token=ALERTS_TOKEN)
        counts = json.loads(body)["counts"]
        pending = sum(n for c in counts.values() for s, n in c.items() if s in ("pending", "sending"))
        if not pending or time.monotonic() > deadline:
            return {"preview": preview, "counts": counts}
        time.sleep(0.3)


def confirmed_id(data) -> str:
    return data.get("session_id") if isinstance(data, dict) else data


async def socketio_chat(url: str, messages: list[str]) -> list[dict]:
    """The website's widget protocol: session_request, then user_uttered; bot_uttered back."""
    import socketio

    client = socketio.AsyncClient()
    received: list = []
    session = {"id": None}
    client.on("bot_uttered", lambda data: received.append(data))
    client.on(
        "session_confirm",
        lambda data: session.update(id=data.get("session_id") if isinstance(data, dict) else data),
    )
    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    await client.emit("session_request", {"session_id": None})
    for _ in range(50):
        if session["id"]:
            break
        await asyncio.sleep(0.1)
    for text in messages:
        before = len(received)
        await client.emit("user_uttered", {"message": text, "session_id": session["id"]})
        for _ in range(100):
            await asyncio.sleep(0.1)
            if len(received) > before:
                await asyncio.sleep(0.5)  # the rest of the answer
                break
    await client.disconnect()
    return received


def test_subscribe_everywhere_broadcast_once_then_stop(stack, app_db, inbox, graph):
    # 1. REST (the website's conversation): alerts shown at the next visit
    web = Chat(stack)
    subscribe_rest(web, "je veux recevoir les alertes canicule", "Ici")
    web.click("J'accepte")
    assert "prochaine visite" in web.text, web.text
    assert rows(app_db, "SELECT channel, topics, status, consent_version FROM alert_subscriptions") == [
        ("web", "canicule", "active", "2026-12-01")
    ]

    # 2. E-mail: nothing is sent before the link of the confirmation e-mail is followed
    mail = Chat(stack)
    subscribe_rest(mail, "recevoir les alertes par mail", "Par e-mail", "Marie.Durand@Exemple.fr")
    mail.click("J'accepte")
    assert "marie.durand@exemple.fr" in mail.text and "confirmer" in mail.text, mail.text
    (rcpt, content), *_ = inbox.messages
    assert rcpt == ["marie.durand@exemple.fr"]
    link = re.search(r"http://\S+/webhooks/alerts/confirm\?token=\S+", content).group(0)
    assert rows(app_db, "SELECT status FROM alert_subscriptions WHERE channel = 'email'") == [("pending",)]
    status, page = http(link)
    assert status == 200 and "C'est confirmé" in page
    assert http(link[:-3] + "abc")[0] == 400  # an altered link is refused
    assert rows(app_db, "SELECT status FROM alert_subscriptions WHERE channel = 'email'") == [("active",)]

    # 3. SMS
    sms = Chat(stack)
    subscribe_rest(sms, "inscription alerte SMS", "Par SMS", "06 12 34 56 78")
    sms.click("J'accepte")
    assert "par SMS" in sms.text, sms.text

    # 4. Messenger: the opt-in request, then Meta's opt-in event with the token
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    post(stack, message(psid, "je veux recevoir les alertes canicule"))
    sent_to(psid, since)
    for payload in ('/inform{"choice":"all"}', '/inform{"choice":"here"}', '/inform{"choice":"accept"}'):
        since = len(FakeGraph.sent)
        post(stack, postback(psid, payload))
        calls = sent_to(psid, since)
    templates = [
        c["body"]["message"]["attachment"]["payload"] for c in calls if "attachment" in c["body"]["message"]
    ]
    assert any(t.get("template_type") == "notification_messages" for t in templates), calls
    expiry_ms = int((time.time() + 180 * 86400) * 1000)
    optin = {"sender": {"id": psid}, "recipient": {"id": "page"}, "timestamp": 0, "optin": {
        "type": "notification_messages", "payload": "ALERTS_OPTIN", "notification_messages_token": "nmt-123",
        "notification_messages_frequency": "DAILY", "notification_messages_timezone": "Europe/Paris",
        "token_expiry_timestamp": expiry_ms, "user_token_status": "NOT_REFRESHED",
        "notification_messages_status": "RESUME_NOTIFICATIONS", "title": "Alertes"}}  # fmt: skip
    since = len(FakeGraph.sent)
    assert post(stack, optin) == (200, "success")
    deadline = time.monotonic() + 10
    while not rows(app_db, "SELECT 1 FROM alert_subscriptions WHERE channel='messenger' AND status='active'"):
        assert time.monotonic() < deadline, "the opt-in was not recorded"
        time.sleep(0.2)

    # 5. The operators' broadcast: each subscriber once, on their channel
    graph_before, mails_before = len(FakeGraph.sent), len(inbox.messages)
    result = broadcast(stack, "canicule", "Canicule : restez au frais, buvez de l'eau.")
    assert result["preview"]["recipients"] == {"messenger": 1, "email": 1, "sms": 1, "web": 1}
    assert result["counts"] == {c: {"sent": 1} for c in ("messenger", "email", "sms", "web")}, result
    tokens = [
        c
        for c in FakeGraph.sent[graph_before:]
        if "notification_messages_token" in c["body"].get("recipient", {})
    ]
    assert len(tokens) == 1 and tokens[0]["body"]["recipient"] == {"notification_messages_token": "nmt-123"}
    assert "restez au frais" in tokens[0]["body"]["message"]["text"]
    assert [m[0] for m in inbox.messages[mails_before:]] == [["marie.durand@exemple.fr"]]
    assert "/webhooks/alerts/unsubscribe?token=" in inbox.messages[-1][1]
    assert [s["to"] for s in FakeSms.sent] == ["+33612345678"] and "STOP" in FakeSms.sent[0]["text"]

    # 6. The welcome of a new visit tells the active alert: REST and the website's socketio
    assert "Alerte en cours" in Chat(stack).say("Bonjour")
    uttered = asyncio.run(socketio_chat(stack.url, ["/greet"]))
    assert any("Alerte en cours" in (u.get("text") or "") for u in uttered), uttered

    # 7. STOP by SMS (the gateway's inbound webhook) and on Messenger end them at once
    inbound = f"{stack.url}/webhooks/alerts/sms"
    assert http(inbound, {"from": "+33612345678", "text": "STOP"})[0] == 401
    status, body = http(inbound, {"from": "+33612345678", "text": "Stop"}, token="inbound-sms-token")
    assert status == 200 and json.loads(body) == {"stopped": True}
    since = len(FakeGraph.sent)
    post(stack, message(psid, "STOP"))
    deadline = time.monotonic() + 10
    while rows(app_db, "SELECT 1 FROM alert_subscriptions WHERE channel IN ('sms', 'messenger')"):
        assert time.monotonic() < deadline, "STOP did not end the subscriptions"
        time.sleep(0.2)

    # 8. Unsubscription in the conversation
    web.say("je ne veux plus recevoir les alertes")
    assert "C'est fait" in web.text, web.text
    assert rows(app_db, "SELECT channel FROM alert_subscriptions") == [("email",)]
    # another alert reaches the one subscriber left
    again = broadcast(stack, "canicule", "Canicule : second message.")
    assert again["preview"]["recipients"]["email"] == 1
    # the first alert asked again (an operator's re-run) is the same alert: nobody gets it twice
    mails_before = len(inbox.messages)
    rerun = broadcast(stack, "canicule", "Canicule : restez au frais, buvez de l'eau.")
    assert rerun["preview"]["preview_id"] == result["preview"]["preview_id"]
    assert rerun["preview"]["confirmed_at"] and rerun["preview"]["recipients"]["email"] == 0
    assert rerun["counts"]["email"] == {"sent": 1} and len(inbox.messages) == mails_before, rerun


def test_refused_consent_and_bad_answers_store_nothing(stack, app_db):
    chat = Chat(stack)
    before = rows(app_db, "SELECT count(*) FROM alert_subscriptions")
    chat.say("m'inscrire aux alertes inondation")
    chat.click("Toute la commune")
    chat.click("Par e-mail")
    chat.say("pas une adresse 😀")
    assert "ne semble pas valide" in chat.text, chat.text
    chat.say("jean@exemple.fr")
    chat.click("Non merci")
    assert "rien enregistré" in chat.text, chat.text
    assert rows(app_db, "SELECT count(*) FROM alert_subscriptions") == before


def test_broadcast_endpoint_refuses_bad_input(stack):
    url = f"{stack.url}/webhooks/alerts/broadcast/preview"
    status, body = http(url, {"topic": "zombies", "text": "x"}, token=ALERTS_TOKEN)
    assert status == 400 and "inconnu" in json.loads(body)["error"]
    status, body = http(url, {"topic": "canicule", "text": "x" * 5000}, token=ALERTS_TOKEN)
    assert status == 400
    status, _ = http(
        f"{stack.url}/webhooks/alerts/broadcast/confirm", {"preview_id": "nope"}, token=ALERTS_TOKEN
    )
    assert status == 404
