"""The action server is closed: a shared secret, a bounded body, short error answers,
no CORS, 127.0.0.1 by default. The app runs for real (Sanic on a free port) with the
toy actions below, and aiohttp plays Rasa or an attacker."""

from __future__ import annotations

import json
import sys
import zlib

import aiohttp
import pytest
from rasa_sdk import Action
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Sanic

from ops import action_server
from ops.action_server import SECRET_HEADER, ConfigError, create_app, settings
from tests.conftest import free_port

SECRET = "s3cret-for-the-tests-0123456789"
SURNAME = "Dupont-Martinez"
APPLICATION_ID = "AB12CD34EF"
RUNS: list = []


class ActionTestEcho(Action):
    def name(self):
        return "action_test_echo"

    async def run(self, dispatcher, tracker, domain):
        RUNS.append(tracker.sender_id)
        dispatcher.utter_message(text=f"Bonjour {tracker.get_slot('surname')}")
        return []


class ActionTestBoom(Action):
    def name(self):
        return "action_test_boom"

    async def run(self, dispatcher, tracker, domain):
        RUNS.append(tracker.sender_id)
        raise RuntimeError(
            f"lookup failed for {tracker.get_slot('surname')} {tracker.get_slot('application_id')}"
        )


class ActionTestReject(Action):
    def name(self):
        return "action_test_reject"

    async def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name(), "no slot extracted")


def action_call(action: str, sender: str = "citizen-42") -> dict:
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {"surname": SURNAME, "application_id": APPLICATION_ID},
            "latest_message": {"text": f"je suis {SURNAME}", "intent": {}, "entities": []},
            "events": [{"event": "user", "text": f"je suis {SURNAME}"}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture
async def server():
    Sanic.test_mode = True  # several apps named alike in one process
    app = create_app(SECRET, sys.modules[__name__], max_body_bytes=64 * 1024, name="gru_actions_test")
    port = free_port()
    srv = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await srv.startup()
    await srv.start_serving()
    RUNS.clear()
    async with aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{port}"
    await srv.close()
    Sanic.test_mode = False


async def test_forged_call_without_secret_is_refused_and_runs_nothing(server):
    session, url = server
    async with session.post(f"{url}/webhook", json=action_call("action_test_echo")) as resp:
        assert resp.status == 401
        body = await resp.text()
    assert json.loads(body) == {"error": "unauthorized"}
    assert RUNS == []


@pytest.mark.parametrize("given", ["wrong-secret-0123456789", SECRET[:-1], SECRET + "x", ""])
async def test_wrong_secret_is_refused(server, given):
    session, url = server
    headers = {SECRET_HEADER: given}
    async with session.post(f"{url}/webhook", json=action_call("action_test_echo"), headers=headers) as resp:
        assert resp.status == 401
    async with session.get(f"{url}/actions", headers=headers) as resp:
        assert resp.status == 401
    assert RUNS == []


async def test_right_secret_runs_the_action(server):
    session, url = server
    headers = {SECRET_HEADER: SECRET}
    async with session.post(f"{url}/webhook", json=action_call("action_test_echo"), headers=headers) as resp:
        assert resp.status == 200
        result = await resp.json()
    assert result["responses"][0]["text"] == f"Bonjour {SURNAME}"
    assert RUNS == ["citizen-42"]


async def test_deflated_call_runs_too(server):
    session, url = server
    body = zlib.compress(json.dumps(action_call("action_test_echo")).encode())
    headers = {SECRET_HEADER: SECRET, "Content-Encoding": "deflate", "Content-Type": "application/json"}
    async with session.post(f"{url}/webhook", data=body, headers=headers) as resp:
        assert resp.status == 200
    assert RUNS == ["citizen-42"]


async def test_health_needs_no_secret(server):
    session, url = server
    async with session.get(f"{url}/health") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


async def test_body_too_large_is_refused(server):
    session, url = server
    call = action_call("action_test_echo")
    call["tracker"]["events"] = [{"event": "user", "text": "x" * 1000}] * 100  # ~100 kB > 64 kB
    headers = {SECRET_HEADER: SECRET}
    async with session.post(f"{url}/webhook", json=call, headers=headers) as resp:
        assert resp.status == 413
    assert RUNS == []


async def test_deflate_bomb_is_refused(server):
    session, url = server
    call = action_call("action_test_echo")
    call["tracker"]["events"] = [{"event": "user", "text": "x" * 1000}] * 1000  # 1 MB, compresses to ~kB
    body = zlib.compress(json.dumps(call).encode())
    assert len(body) < 64 * 1024
    headers = {SECRET_HEADER: SECRET, "Content-Encoding": "deflate", "Content-Type": "application/json"}
    async with session.post(f"{url}/webhook", data=body, headers=headers) as resp:
        assert resp.status == 413
    assert RUNS == []


async def test_failing_action_answers_a_generic_body_without_the_tracker(server, caplog):
    session, url = server
    headers = {SECRET_HEADER: SECRET}
    async with session.post(f"{url}/webhook", json=action_call("action_test_boom"), headers=headers) as resp:
        # Rasa turns any non-400 error into "Failed to execute custom action", as before.
        assert resp.status == 500
        body = await resp.text()
    assert json.loads(body) == {"error": "action failed"}
    for value in (SURNAME, APPLICATION_ID, "citizen-42", "lookup failed"):
        assert value not in body
    assert RUNS == ["citizen-42"]


async def test_rejection_keeps_the_400_rasa_expects(server):
    session, url = server
    headers = {SECRET_HEADER: SECRET}
    async with session.post(
        f"{url}/webhook", json=action_call("action_test_reject"), headers=headers
    ) as resp:
        assert resp.status == 400
        body = await resp.json()
    # rasa.core.actions.action.RemoteAction reads these two keys to raise ActionExecutionRejection.
    assert body == {"error": "no slot extracted", "action_name": "action_test_reject"}


async def test_bad_json_gets_a_short_400(server):
    session, url = server
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    async with session.post(f"{url}/webhook", data=b"{not json", headers=headers) as resp:
        assert resp.status == 400
        assert await resp.json() == {"error": "invalid body"}


async def test_unknown_action_gets_a_404(server):
    session, url = server
    headers = {SECRET_HEADER: SECRET}
    async with session.post(f"{url}/webhook", json=action_call("action_nope"), headers=headers) as resp:
        assert resp.status == 404


async def test_cors_preflight_from_another_origin_is_not_allowed(server):
    session, url = server
    headers = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": f"content-type,{SECRET_HEADER}",
    }
    async with session.options(f"{url}/webhook", headers=headers) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert resp.status >= 400
    async with session.get(f"{url}/health", headers={"Origin": "https://evil.example"}) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers


def test_listens_on_localhost_by_default():
    assert settings({"GRU_ACTION_SECRET": SECRET}) == ("127.0.0.1", SECRET)
    assert settings({"GRU_ACTION_SECRET": SECRET, "GRU_ACTION_HOST": "10.0.0.5"})[0] == "10.0.0.5"


@pytest.mark.parametrize("env", [{}, {"GRU_ACTION_SECRET": ""}, {"GRU_ACTION_SECRET": "short"}])
def test_refuses_to_start_without_a_real_secret(env):
    with pytest.raises(ConfigError):
        settings(env)


def test_main_exits_without_a_secret(monkeypatch, capsys):
    monkeypatch.delenv("GRU_ACTION_SECRET", raising=False)
    monkeypatch.setattr(action_server.os, "umask", lambda mask: 0o022)
    assert action_server.main(["--port", "1"]) == 2
    assert "GRU_ACTION_SECRET" in capsys.readouterr().err
