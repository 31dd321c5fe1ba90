"""The alerts adapters against local servers speaking the real shapes: Meta's Send API with a
notification_messages token, a JSON SMS gateway, and SMTP (aiosmtpd) — successes, refusals,
server errors and timeouts."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from alerts.senders import JsonSmsSender, MessengerSender, Outgoing, SendFailed, SmtpSender, SmtpSettings
from core.http import close_all
from tests.conftest import free_port

MESSAGE = Outgoing("alert1-7", "+33612345678", "tok-1", "Alerte Canicule : forte chaleur.", "Alerte")


@pytest.fixture
async def server():
    """A local HTTP server whose behaviour each test sets: `state["mode"]`."""
    state = {"mode": "ok", "requests": []}

    async def messages(request: web.Request) -> web.Response:
        state["requests"].append(
            {
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": await request.json(),
            }  # fmt: skip
        )
        mode = state["mode"]
        if mode == "slow":
            await asyncio.sleep(2)
        if mode == "500":
            return web.json_response({"error": {"message": "oops"}}, status=500)
        if mode == "400":
            return web.json_response({"error": {"message": "token expired", "code": 10}}, status=400)
        if mode == "429":
            return web.json_response({"error": "slow down"}, status=429)
        return web.json_response({"message_id": "m1", "id": "sms-1"})

    app = web.Application()
    app.router.add_post("/v19.0/me/messages", messages)
    app.router.add_post("/sms/messages", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state["url"] = f"http://127.0.0.1:{port}"
    yield state
    await close_all()
    await runner.cleanup()


async def test_messenger_sends_with_the_notification_token(server):
    sender = MessengerSender(f"{server['url']}/v19.0", "page-token", timeout_s=1)
    await sender.send(MESSAGE)
    (request,) = server["requests"]
    assert request["body"] == {
        "recipient": {"notification_messages_token": "tok-1"},
        "message": {"text": "Alerte Canicule : forte chaleur."},
    }
    assert request["query"] == {"access_token": "page-token"}


@pytest.mark.parametrize("mode, permanent", [("400", True), ("500", False), ("429", False), ("slow", False)])
async def test_messenger_errors(server, mode, permanent):
    server["mode"] = mode
    sender = MessengerSender(f"{server['url']}/v19.0", "page-token", timeout_s=0.5)
    with pytest.raises(SendFailed) as failure:
        await sender.send(MESSAGE)
    assert failure.value.permanent is permanent


async def test_messenger_without_token_is_not_sent(server):
    sender = MessengerSender(f"{server['url']}/v19.0", "page-token", timeout_s=1)
    with pytest.raises(SendFailed) as failure:
        await sender.send(Outgoing("a-1", "psid", None, "x"))
    assert failure.value.permanent and server["requests"] == []


async def test_sms_gateway_shape(server):
    sender = JsonSmsSender(f"{server['url']}/sms", "sms-secret", "MAIRIE", timeout_s=1)
    await sender.send(MESSAGE)
    (request,) = server["requests"]
    assert request["headers"]["Authorization"] == "Bearer sms-secret"
    assert request["body"] == {
        "to": "+33612345678",
        "from": "MAIRIE",
        "text": "Alerte Canicule : forte chaleur.",
        "reference": "alert1-7",
    }


@pytest.mark.parametrize("mode, permanent", [("400", True), ("500", False), ("slow", False)])
async def test_sms_errors(server, mode, permanent):
    server["mode"] = mode
    sender = JsonSmsSender(f"{server['url']}/sms", "sms-secret", "MAIRIE", timeout_s=0.5)
    with pytest.raises(SendFailed) as failure:
        await sender.send(MESSAGE)
    assert failure.value.permanent is permanent


class Inbox:
    def __init__(self, refuse: str | None = None):
        self.messages, self.refuse = [], refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    inbox = Inbox(refuse="nobody@exemple.fr")
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


async def test_smtp_sends_and_reuses_its_connection(smtp):
    inbox, port = smtp
    sender = SmtpSender(
        SmtpSettings("127.0.0.1", port, starttls=False, sender="alertes@villebrune.fr"), workers=1
    )
    for i in range(3):
        await sender.send(Outgoing(f"a-{i}", f"p{i}@exemple.fr", None, "Forte chaleur.", "Alerte canicule"))
    await sender.close()
    assert [rcpt for rcpt, _ in inbox.messages] == [["p0@exemple.fr"], ["p1@exemple.fr"], ["p2@exemple.fr"]]
    assert "Subject: Alerte canicule" in inbox.messages[0][1]
    assert len(sender.connections) == 0  # closed; one connection was opened for the three


async def test_smtp_refused_recipient_is_permanent(smtp):
    _, port = smtp
    sender = SmtpSender(SmtpSettings("127.0.0.1", port, starttls=False), workers=1)
    with pytest.raises(SendFailed) as failure:
        await sender.send(Outgoing("a-1", "nobody@exemple.fr", None, "x", "y"))
    await sender.close()
    assert failure.value.permanent


async def test_smtp_down_is_temporary():
    sender = SmtpSender(SmtpSettings("127.0.0.1", free_port(), starttls=False, timeout_s=0.5), workers=1)
    with pytest.raises(SendFailed) as failure:
        await sender.send(Outgoing("a-1", "p@exemple.fr", None, "x", "y"))
    await sender.close()
    assert not failure.value.permanent


def test_smtp_settings_from_the_environment():
    assert SmtpSettings.from_env({}) is None
    settings = SmtpSettings.from_env(
        {"GRU_SMTP_HOST": "smtp.x.fr", "GRU_SMTP_PORT": "2525", "GRU_SMTP_STARTTLS": "0"}
    )
    assert (settings.host, settings.port, settings.starttls) == ("smtp.x.fr", 2525, False)
