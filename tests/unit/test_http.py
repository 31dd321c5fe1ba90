"""core.http: one shared session, a time budget that fires, retries for idempotent calls only, two
errors, one log line per call without query values -- against a real local aiohttp server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from booking.ants import AntsClient, AntsSettings, AntsUnavailable
from core import http
from core.http import JsonClient, Rejected, Unavailable, timeout_from_env

TOKEN = "tok-123"
log = logging.getLogger("tests.http")


@dataclass
class Fake:
    """Answers per path from a script of (status, JSON body) and records peers (TCP connections)."""

    script: dict = field(default_factory=dict)  # path -> list of (status, body); last one repeats
    hits: dict = field(default_factory=dict)
    peers: set = field(default_factory=set)
    delay_s: float = 0.0
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.peers.add(request.transport.get_extra_info("peername"))
        count = self.hits.get(request.path, 0)
        self.hits[request.path] = count + 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        answers = self.script.get(request.path) or [(200, {"ok": True})]
        status, body = answers[min(count, len(answers) - 1)]
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="application/json")
        return web.json_response(body, status=status)


@asynccontextmanager
async def serving(app: web.Application, prefix: str = "/api") -> AsyncIterator[str]:
    """Run ``app`` on a free local port; yields its base URL. Closes the shared sessions after."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{prefix}"
    finally:
        await http.close_all()
        await runner.cleanup()


@pytest.fixture
async def fake():
    server = Fake()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    async with serving(app) as base_url:
        server.base_url = base_url
        yield server


def client(fake: Fake, **kwargs) -> JsonClient:
    kwargs.setdefault("timeout_s", 2.0)
    return JsonClient(
        "Test", fake.base_url, logger=log, timeout_env="GRU_TEST_TIMEOUT", timeout_default=1, **kwargs
    )


# --- one session --------------------------------------------------------------------------------------


async def test_ants_calls_reuse_one_session_and_one_connection(fake):
    fake.script["/api/status"] = [(200, {"ABCDE12345": {"status": "validated", "appointments": []}})]
    fake.script["/api/appointments"] = [(200, {"success": True})]
    settings = AntsSettings(base_url=fake.base_url, token=TOKEN, timeout_s=2.0)
    for _ in range(3):  # three clients, as the actions create one per conversation turn
        async with AntsClient(settings) as ants:
            await ants.check(["ABCDE12345"], "mp-1")
            await ants.check(["ABCDE12345"], "mp-1")
    assert fake.hits["/api/status"] == 6
    assert len(fake.peers) == 1  # one kept-alive connection: one session, not one per call
    session = http.get_session()
    assert http.get_session() is session and not session.closed
    await http.close_all()
    assert session.closed
    assert http.get_session() is not session  # a new one after close_all


async def test_a_passed_session_is_used_and_left_open(fake):
    import aiohttp

    async with aiohttp.ClientSession() as own:
        reply = await client(fake, session=own).request("GET", "/x")
        assert reply.data == {"ok": True}
        assert not own.closed
    assert not http._sessions  # the shared session was never created


# --- time budget ----------------------------------------------------------------------------------------


async def test_slow_server_triggers_the_timeout(fake):
    fake.delay_s = 3.0
    started = time.monotonic()
    with pytest.raises(Unavailable) as excinfo:
        await client(fake, timeout_s=0.3).request("GET", "/slow")
    assert excinfo.value.kind == "timeout"
    assert 0.25 <= time.monotonic() - started < 1.2  # the budget covers retries too
    assert fake.hits["/api/slow"] == 1


async def test_slow_ants_triggers_its_timeout(fake):
    fake.delay_s = 3.0
    settings = AntsSettings(base_url=fake.base_url, token=TOKEN, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(AntsUnavailable, match="no answer within 0.3 s"):
        await AntsClient(settings).check(["ABCDE12345"], "mp-1")
    assert time.monotonic() - started < 1.2


def test_timeout_from_env():
    assert timeout_from_env("GRU_X_TIMEOUT", 5, {}) == 5.0
    assert timeout_from_env("GRU_X_TIMEOUT", 5, {"GRU_X_TIMEOUT": " 2.5 "}) == 2.5
    for bad in ("five", "0", "-1", "inf"):
        with pytest.raises(ValueError, match="GRU_X_TIMEOUT"):
            timeout_from_env("GRU_X_TIMEOUT", 5, {"GRU_X_TIMEOUT": bad})


def test_timeout_read_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("GRU_TEST_TIMEOUT", "1.5")
    assert (
        JsonClient("T", "http://x", logger=log, timeout_env="GRU_TEST_TIMEOUT", timeout_default=9).timeout_s
        == 1.5
    )
    monkeypatch.delenv("GRU_TEST_TIMEOUT")
    assert (
        JsonClient("T", "http://x", logger=log, timeout_env="GRU_TEST_TIMEOUT", timeout_default=9).timeout_s
        == 9
    )


# --- retries ----------------------------------------------------------------------------------------------


async def test_get_is_retried_after_a_server_error(fake):
    fake.script["/api/flaky"] = [(503, {"detail": "busy"}), (429, {}), (200, {"n": 1})]
    reply = await client(fake).request("GET", "/flaky")
    assert (reply.status, reply.data, reply.attempts) == (200, {"n": 1}, 3)
    assert fake.hits["/api/flaky"] == 3


async def test_post_is_not_retried_unless_marked_idempotent(fake):
    fake.script["/api/write"] = [(503, {}), (200, {"ok": True})]
    with pytest.raises(Unavailable) as excinfo:
        await client(fake).request("POST", "/write", json_body={"a": 1})
    assert (excinfo.value.kind, excinfo.value.status) == ("server_error", 503)
    assert fake.hits["/api/write"] == 1
    fake.hits.clear()
    reply = await client(fake).request("PUT", "/write", idempotent=True)
    assert (reply.data, reply.attempts, fake.hits["/api/write"]) == ({"ok": True}, 2, 2)


async def test_attempts_are_bounded(fake):
    fake.script["/api/down"] = [(500, "oops")]
    with pytest.raises(Unavailable):
        await client(fake).request("GET", "/down")
    assert fake.hits["/api/down"] == http.DEFAULT_ATTEMPTS


# --- errors -------------------------------------------------------------------------------------------------


async def test_4xx_is_rejected_with_status_and_body_and_not_retried(fake):
    fake.script["/api/bad"] = [(422, {"detail": "missing parameter"})]
    with pytest.raises(Rejected) as excinfo:
        await client(fake).request("GET", "/bad")
    assert (excinfo.value.status, excinfo.value.body) == (422, {"detail": "missing parameter"})
    assert fake.hits["/api/bad"] == 1


async def test_invalid_json_is_unavailable(fake):
    fake.script["/api/broken"] = [(200, "{not json")]
    with pytest.raises(Unavailable) as excinfo:
        await client(fake).request("GET", "/broken")
    assert excinfo.value.kind == "invalid_json" and fake.hits["/api/broken"] == 1


async def test_connection_refused_is_unavailable_without_the_url():
    refused = JsonClient(
        "Test", "http://127.0.0.1:9/api", logger=log, timeout_env="X", timeout_default=1, timeout_s=1.0
    )
    with pytest.raises(Unavailable) as excinfo:
        await refused.request("GET", "/x", params=[("name", "Dupont")])
    assert excinfo.value.kind == "connection"
    assert excinfo.value.__cause__ is None and "Dupont" not in str(excinfo.value)
    await http.close_all()


async def test_pass_statuses_are_returned(fake):
    fake.script["/api/missing"] = [(404, {"err": 1})]
    reply = await client(fake).request("GET", "/missing", pass_statuses=(404,))
    assert (reply.status, reply.data) == (404, None)


# --- logging ------------------------------------------------------------------------------------------------


async def test_one_log_line_per_call_without_query_or_body(fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.script["/api/flaky"] = [(503, {}), (200, {"name": "Jeanne Dupont"})]
    fake.script["/api/bad"] = [(400, {"detail": "Jeanne Dupont"})]
    c = client(fake)
    await c.request("GET", "/flaky", params=[("q", "12 rue des Lilas"), ("id", "ABCDE12345")])
    with pytest.raises(Rejected):
        await c.request("POST", "/bad", json_body={"surname": "Dupont"})
    async with c.call("GET", "/items/ABCDE12345", log_path="/items/<id>") as reply:
        reply.note = "3 result(s)"
    lines = [r for r in caplog.records if r.name == "tests.http"]
    assert len(lines) == 3
    first, second, third = (r.getMessage() for r in lines)
    assert first.startswith("Test GET /flaky -> 200 in ") and first.endswith(" ms (2 attempts)")
    assert second.startswith("Test POST /bad -> 400 in ")
    assert third.startswith("Test GET /items/<id> -> 200 in ") and third.endswith(", 3 result(s)")
    assert [r.levelno for r in lines] == [logging.INFO, logging.WARNING, logging.INFO]
    for secret in ("Lilas", "ABCDE12345", "Dupont", "q=", "127.0.0.1"):
        assert secret not in caplog.text


async def test_an_answer_the_caller_refuses_is_logged_as_a_failure(fake, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError):
        async with client(fake).call("GET", "/x") as reply:
            reply.note = "never shown"
            raise ValueError("not the expected shape")
    (line,) = [r for r in caplog.records if r.name == "tests.http"]
    assert line.levelno == logging.WARNING and "200 invalid answer" in line.getMessage()
    assert "never shown" not in line.getMessage()
