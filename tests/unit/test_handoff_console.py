"""The agent console's handlers (aiohttp test client) against a local server that speaks the
shape of Rasa's HTTP API (GET /conversations/<id>/tracker, POST …/tracker/events)."""

import re
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.db import session_scope
from handoff import queue
from handoff.console import Console, create_app
from handoff.models import HandoffRequest
from handoff.rasa_api import RasaApi
from staff import auth

NOW = datetime(2026, 12, 1, 9, 0)
PASSWORD = "correct horse battery"
TOKEN = "rasa-token"


class FakeRasa:
    """Rasa's conversation endpoints, in memory: the events appended, the tracker returned."""

    def __init__(self):
        self.appended = []  # (conversation id, query, events)
        self.trackers = {}
        self.triggered = []  # (conversation id, intent, output channel)

    async def tracker(self, request):
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "unauthorized"}, status=401)
        return web.json_response(self.trackers.get(request.match_info["id"], {"events": [], "slots": {}}))

    async def events(self, request):
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "unauthorized"}, status=401)
        self.appended.append((request.match_info["id"], dict(request.query), await request.json()))
        return web.json_response({"sender_id": request.match_info["id"]})

    async def trigger(self, request):
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "unauthorized"}, status=401)
        body = await request.json()
        self.triggered.append((request.match_info["id"], body["name"], request.query.get("output_channel")))
        return web.json_response({"tracker": {}})

    def app(self):
        app = web.Application()
        app.router.add_post("/conversations/{id}/trigger_intent", self.trigger)
        app.router.add_get("/conversations/{id}/tracker", self.tracker)
        app.router.add_post("/conversations/{id}/tracker/events", self.events)
        return app


@pytest.fixture
async def rasa():
    fake = FakeRasa()
    server = TestServer(fake.app())
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
def clock():
    return {"now": NOW}


@pytest.fixture
async def client(db_url, rasa, clock):
    with session_scope(db_url, write=True) as s:
        for login, role, services in (("jeanne", "agent", ["etat_civil"]), ("paul", "agent", ["etat_civil"]),
                                      ("stats", "statistiques", ["etat_civil"])):  # fmt: skip
            auth.create_agent(s, login=login, display_name=login.title(), password=PASSWORD, role=role,
                              services=services, now=NOW)  # fmt: skip
    console = Console(RasaApi(rasa.url, TOKEN), db_url=db_url, now=lambda: clock["now"])
    test_client = TestClient(TestServer(create_app(console, sweep=False)))
    await test_client.start_server()
    test_client.console = console
    yield test_client
    await test_client.close()


def waiting(db_url, conversation="citizen-1", channel="socketio"):
    with session_scope(db_url, write=True) as s:
        return queue.join(s, conversation_id=conversation, channel=channel, service="etat_civil",
                          topic="appointments", agents_on_duty=1, now=NOW).request_id  # fmt: skip


async def sign_in(client, login="jeanne", password=PASSWORD):
    form = await client.get("/connexion")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await form.text()).group(1)
    return await client.post("/connexion", data={"csrf": csrf, "login": login, "password": password},
                             allow_redirects=False)  # fmt: skip


async def csrf_of(client):
    return re.search(r'data-csrf="([^"]+)"', await (await client.get("/")).text()).group(1)


async def test_sign_in_page_is_french_and_labelled(client):
    response = await client.get("/connexion")
    text = await response.text()
    assert '<html lang="fr">' in text and '<label for="login">' in text and '<label for="password">' in text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "http" not in text.replace("http-equiv", "")  # nothing loaded from elsewhere


async def test_sign_in_sets_a_strict_http_only_cookie(client, monkeypatch):
    response = await sign_in(client)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies["gru_staff"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    monkeypatch.setenv("GRU_ENV", "production")
    # In production every cookie is Secure (the test client speaks plain HTTP: the login form's).
    assert (await client.get("/connexion")).cookies["gru_login_csrf"]["secure"]


async def test_sign_in_needs_its_csrf_token(client):
    response = await client.post(
        "/connexion", data={"csrf": "forged", "login": "jeanne", "password": PASSWORD}
    )
    assert response.status == 403 and "Jeton de sécurité" in await response.text()


async def test_wrong_passwords_lock_the_account(client):
    for _ in range(auth.MAX_FAILURES):
        response = await sign_in(client, password="wrong password!")
        assert response.status == 401 and "incorrect" in await response.text()
    assert (await sign_in(client)).status == 401  # locked, even with the right password


async def test_the_console_needs_a_session_and_csrf_for_changes(client, db_url):
    assert (await client.get("/", allow_redirects=False)).status == 303
    assert (await client.get("/api/queue")).status == 401
    await sign_in(client)
    request_id = waiting(db_url)
    assert (await client.post(f"/api/handoffs/{request_id}/take")).status == 403
    forged = await client.post(f"/api/handoffs/{request_id}/take", headers={"X-CSRF-Token": "forged"})
    assert forged.status == 403


async def test_statistics_accounts_do_not_get_the_console(client):
    await sign_in(client, login="stats")
    assert (await client.get("/api/queue")).status == 403


async def test_take_read_reply_and_close_through_rasa(client, db_url, rasa, clock):
    request_id = waiting(db_url)
    await sign_in(client)
    console_page = await (await client.get("/")).text()
    assert '<label for="texte">' in console_page and '<label for="motif">' in console_page
    csrf = await csrf_of(client)
    clock["now"] = NOW + timedelta(minutes=4)
    [item] = (await (await client.get("/api/queue")).json())["items"]
    assert (item["id"], item["status"], item["waited_minutes"]) == (request_id, "waiting", 4)
    assert (
        item["topic_label"] == "Rendez-vous CNI / passeport" and item["service_name"] == "Service état civil"
    )
    headers = {"X-CSRF-Token": csrf}
    assert (await client.post(f"/api/handoffs/{request_id}/take", headers=headers)).status == 200
    [(conversation, query, [greeting])] = rasa.appended
    assert conversation == "citizen-1" and query["output_channel"] == "latest"
    assert query["execute_side_effects"] == "true" and greeting["metadata"] == {"handoff_agent": "Jeanne"}
    rasa.trackers["citizen-1"] = {
        "slots": {"document_type": "cni", "requested_slot": "site", "privacy_url": "x"},
        "events": [
            {"event": "user", "text": "old session", "timestamp": 1},
            {"event": "session_started", "timestamp": 2},
            {"event": "user", "text": "je veux parler à un agent", "timestamp": 3},
            {"event": "user", "text": "EXTERNAL: human_handoff", "timestamp": 3},
            {"event": "bot", "text": "Je vous mets en relation", "timestamp": 4, "metadata": {}},
            {
                "event": "bot",
                "text": "Bonjour, je suis Jeanne",
                "timestamp": 5,
                "metadata": {"handoff_agent": "Jeanne"},
            },
        ],
    }
    data = await (await client.get(f"/api/handoffs/{request_id}/conversation")).json()
    assert [line["who"] for line in data["transcript"]] == ["usager", "assistant", "agent"]
    assert data["slots"] == {"document_type": "cni"} and data["topic"] == "Rendez-vous CNI / passeport"
    assert (
        await client.post(f"/api/handoffs/{request_id}/reply", json={"text": "  "}, headers=headers)
    ).status == 400
    reply = await client.post(
        f"/api/handoffs/{request_id}/reply", json={"text": "Votre dossier est complet."}, headers=headers
    )
    assert reply.status == 200 and rasa.appended[-1][2][0]["text"] == "Votre dossier est complet."
    bad = await client.post(f"/api/handoffs/{request_id}/close", json={"reason": "bored"}, headers=headers)
    assert bad.status == 400
    closed = await client.post(
        f"/api/handoffs/{request_id}/close", json={"reason": "answered"}, headers=headers
    )
    assert closed.status == 200
    resume, goodbye = rasa.appended[-1][2]
    assert resume["event"] == "resume" and "assistant reprend" in goodbye["text"]
    with session_scope(db_url) as s:
        row = s.get(HandoffRequest, request_id)
        assert (row.status, row.close_reason) == ("closed", "answered")
    gone = await client.post(f"/api/handoffs/{request_id}/reply", json={"text": "encore"}, headers=headers)
    assert gone.status == 404


async def test_a_conversation_taken_by_a_colleague_is_not_yours(client, db_url, rasa):
    request_id = waiting(db_url)
    with session_scope(db_url, write=True) as s:
        paul = s.query(auth.Agent).filter_by(login="paul").one()
        queue.take(s, request_id, paul, NOW)
    await sign_in(client)
    headers = {"X-CSRF-Token": await csrf_of(client)}
    assert (await client.post(f"/api/handoffs/{request_id}/take", headers=headers)).status == 409
    assert (await client.get(f"/api/handoffs/{request_id}/conversation")).status == 404
    assert (
        await client.post(f"/api/handoffs/{request_id}/reply", json={"text": "x"}, headers=headers)
    ).status == 404
    assert (await client.get("/api/handoffs/abc/conversation")).status == 404
    assert rasa.appended == []


async def test_messenger_replies_carry_the_human_agent_payload(client, db_url, rasa):
    request_id = waiting(db_url, conversation="psid-1", channel="facebook")
    await sign_in(client)
    headers = {"X-CSRF-Token": await csrf_of(client)}
    await client.post(f"/api/handoffs/{request_id}/take", headers=headers)
    await client.post(f"/api/handoffs/{request_id}/reply", json={"text": "Bonjour"}, headers=headers)
    event = rasa.appended[-1][2][0]
    assert event["text"] == "Bonjour" and event["data"]["custom"] == {"gru_human_agent": "Bonjour"}


async def test_conversations_nobody_took_go_back_to_the_assistant_with_a_callback(
    client, db_url, rasa, clock
):
    request_id = waiting(db_url)
    assert await client.console.sweep_once() == 0
    clock["now"] = NOW + queue.take_delay() + timedelta(seconds=1)
    assert await client.console.sweep_once() == 1
    resume, apology = rasa.appended[-1][2]
    assert resume["event"] == "resume" and "Aucun agent" in apology["text"]
    assert rasa.triggered == [("citizen-1", "human_handoff", "latest")]
    with session_scope(db_url) as s:
        assert s.get(HandoffRequest, request_id).close_reason == "not_taken"


async def test_sign_out_ends_the_session(client):
    await sign_in(client)
    csrf = await csrf_of(client)
    assert (await client.post("/deconnexion", data={"csrf": "forged"}, allow_redirects=False)).status == 403
    out = await client.post("/deconnexion", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/connexion"
    assert (await client.get("/api/queue")).status == 401
