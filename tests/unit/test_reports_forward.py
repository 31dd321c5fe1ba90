"""Reports reach the back-office (reports/forward.py): a Publik w.c.s. form submission against a
local server speaking its shape (signed query, {"data": …}, {"err": 0, "data": {"id", …}}, its
errors and a timeout), an e-mail through a local SMTP server (aiosmtpd) with and without a login,
and the outbox that retries what failed and never sends a report twice."""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from PIL import Image

from reports import forward
from reports.forward import (
    EmailForwarder,
    ForwardError,
    SmtpSettings,
    WcsForwarder,
    forward_now,
    process_outbox,
)
from reports.photos import store_photo
from reports.store import NewReport, Place, find_report, save_report
from tests.conftest import free_port
from tests.unit import test_reports_photos
from tests.unit.test_http import serving
from tracking.publik import check_signature

KEY = "wcs-shared-key"
ORIG = "gru-assistant"
NOW = datetime(2026, 11, 30, 9, 0)
url = test_reports_photos.url  # the fixture: a fresh database and uploads folder


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "green").save(out, format="PNG")
    return out.getvalue()


def new_report(url, *, photo: bool = False, forward_it: bool = True, now=NOW, north_m: float = 0):
    photo_id = store_photo(photo_bytes(), "socketio", "s1", url=url) if photo else None
    return save_report(
        NewReport(
            category="voirie",
            service="services_techniques",
            place=Place(
                "location", "Position partagée (47.90290, 1.90930)", 47.9029 + north_m / 111_195, 1.9093
            ),
            description="Trou profond au milieu de la chaussée",
            channel="socketio",
            sender_id="s1",
            photo_id=photo_id,
            contact_email="marie@example.fr",
        ),
        forward=forward_it,
        now=now,
        url=url,
    ).report


# ---- w.c.s. -----------------------------------------------------------------------------------------------


@dataclass
class FakeWcs:
    mode: str = "ok"  # ok | down | refuse | err | slow | malformed
    calls: list = field(default_factory=list)

    async def submit(self, request: web.Request) -> web.Response:
        raw_query = request.rel_url.raw_query_string
        body = await request.json()
        self.calls.append((request.match_info["slug"], raw_query, body))
        if request.content_type != "application/json":
            return web.json_response({"err": 1, "err_desc": "Expected JSON"}, status=400)
        if not check_signature(raw_query, KEY, now=datetime.now(timezone.utc)):
            return web.json_response(
                {"err": 1, "err_class": "Access denied", "err_desc": "invalid signature"}, status=403
            )
        if self.mode == "down":
            return web.Response(status=502, text="Bad Gateway")
        if self.mode == "refuse":
            return web.json_response({"err": 1, "err_desc": "Disabled form."}, status=403)
        if self.mode == "err":
            return web.json_response({"err": 1, "err_desc": "oops"})
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "malformed":
            return web.Response(text="<html>", content_type="text/html")
        number = len(self.calls)
        slug = request.match_info["slug"]
        return web.json_response(
            {
                "err": 0,
                "data": {
                    "id": f"{number}",
                    "url": f"https://demarches.example/{slug}/{number}/",
                    "backoffice_url": f"https://demarches.example/backoffice/management/{slug}/{number}/",
                    "api_url": f"https://demarches.example/api/forms/{slug}/{number}/",
                },
            }
        )


@pytest.fixture
async def wcs():
    fake = FakeWcs()
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app.router.add_post("/api/formdefs/{slug}/submit", fake.submit)
    async with serving(app, prefix="") as base_url:
        fake.base_url = base_url
        yield fake


async def test_wcs_submission_is_signed_and_carries_the_report(url, wcs):
    report = new_report(url, photo=True)
    forwarder = WcsForwarder(wcs.base_url, ORIG, KEY, timeout_s=2)
    assert await forward_now(report.reference, forwarder, now=NOW, url=url) == "sent"
    ((slug, query, body),) = wcs.calls
    assert slug == "signalement-voirie"
    assert (
        "algo=sha256" in query
        and f"orig={ORIG}" in query
        and query.rsplit("&", 1)[1].startswith("signature=")
    )
    data = body["data"]
    assert data["reference"] == report.reference and data["categorie"] == "voirie"
    assert data["localisation"] == {"lat": 47.9029, "lon": 1.9093}
    assert data["email"] == "marie@example.fr" and data["description"].startswith("Trou")
    photo = base64.b64decode(data["photo"]["content"])
    assert photo.startswith(b"\x89PNG") and data["photo"]["content_type"] == "image/png"
    stored = find_report(report.reference, url=url)
    assert stored.forward_status == "sent" and stored.backoffice_url.endswith("/signalement-voirie/1/")


async def test_wcs_down_keeps_the_report_and_the_outbox_sends_it_later(url, wcs):
    report = new_report(url)
    forwarder = WcsForwarder(wcs.base_url, ORIG, KEY, timeout_s=2)
    wcs.mode = "down"
    assert await forward_now(report.reference, forwarder, now=NOW, url=url) == "retry"
    stored = find_report(report.reference, url=url)
    assert stored.forward_status == "pending" and stored.next_attempt_at == NOW + timedelta(minutes=1)
    assert (await process_outbox(forwarder, now=NOW, url=url))["sent"] == 0  # not due yet
    wcs.mode = "ok"
    summary = await process_outbox(forwarder, now=NOW + timedelta(minutes=2), url=url)
    assert summary == {"sent": 1, "retry": 0, "given_up": 0, "pending": 0}
    assert (await process_outbox(forwarder, now=NOW + timedelta(hours=5), url=url))["sent"] == 0
    assert len(wcs.calls) == 2  # one failure, one success: never twice


@pytest.mark.parametrize(
    "mode, timeout_s, outcome",
    [
        ("refuse", 2, "given_up"),  # a refusal: the same request would be refused again
        ("err", 2, "given_up"),
        ("slow", 0.5, "retry"),  # a timeout or a malformed answer: tried again later
        ("malformed", 2, "retry"),
    ],
)
async def test_refusals_are_given_up_timeouts_and_malformed_answers_retried(
    url, wcs, mode, timeout_s, outcome
):
    report = new_report(url)
    wcs.mode = mode
    forwarder = WcsForwarder(wcs.base_url, ORIG, KEY, timeout_s=timeout_s)
    assert await forward_now(report.reference, forwarder, now=NOW, url=url) == outcome
    expected = "given_up" if outcome == "given_up" else "pending"
    assert find_report(report.reference, url=url).forward_status == expected


async def test_a_wrong_key_is_refused_by_wcs(url, wcs):
    report = new_report(url)
    forwarder = WcsForwarder(wcs.base_url, ORIG, "another-key", timeout_s=2)
    assert await forward_now(report.reference, forwarder, now=NOW, url=url) == "given_up"


async def test_given_up_after_the_maximum_number_of_attempts(url, wcs):
    report = new_report(url)
    wcs.mode = "down"
    forwarder = WcsForwarder(wcs.base_url, ORIG, KEY, timeout_s=2)
    moment = NOW
    assert await forward_now(report.reference, forwarder, now=moment, url=url, max_attempts=3) == "retry"
    for _ in range(2):
        moment += timedelta(hours=4)
        summary = await process_outbox(forwarder, now=moment, url=url, max_attempts=3)
    assert summary["given_up"] == 1 and find_report(report.reference, url=url).forward_status == "given_up"


async def test_two_passes_at_once_send_a_report_once(url, wcs):
    for index in range(3):
        new_report(url, north_m=100 * index)  # three places: three reports
    forwarder = WcsForwarder(wcs.base_url, ORIG, KEY, timeout_s=2)
    first, second = await asyncio.gather(
        process_outbox(forwarder, now=NOW, url=url), process_outbox(forwarder, now=NOW, url=url)
    )
    assert first["sent"] + second["sent"] == 3 and len(wcs.calls) == 3


# ---- e-mail ----------------------------------------------------------------------------------------------


class Inbox:
    def __init__(self, refuse: bool = False):
        self.messages: list = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword) and auth_data.login == b"gru" and auth_data.password == b"secret"
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield inbox, controller.port
    controller.stop()


async def test_email_reaches_the_service_with_the_photo(url, smtp):
    inbox, port = smtp
    report = new_report(url, photo=True)
    settings = SmtpSettings(
        host="127.0.0.1", port=port, starttls=False, sender="assistant@villebrune.example",
        user="gru", password="secret", timeout_s=3,
    )  # fmt: skip
    forwarder = EmailForwarder(settings)
    assert await forward_now(report.reference, forwarder, now=NOW, url=url) == "sent"
    ((recipients, message),) = inbox.messages
    assert recipients == ["voirie@villebrune.example"]
    assert report.reference in message["Subject"] and "Voirie" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "Trou profond" in body and "47.902900, 1.909300" in body and "marie@example.fr" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "image/png" and attachment.get_content().startswith(b"\x89PNG")


async def test_email_wrong_password_is_retried_refused_recipient_is_given_up(url, smtp):
    inbox, port = smtp
    report = new_report(url)
    bad_login = EmailForwarder(
        SmtpSettings(host="127.0.0.1", port=port, starttls=False, user="gru", password="no", timeout_s=3)
    )
    assert await forward_now(report.reference, bad_login, now=NOW, url=url) == "retry"
    inbox.refuse = True
    good = EmailForwarder(
        SmtpSettings(host="127.0.0.1", port=port, starttls=False, user="gru", password="secret", timeout_s=3)
    )
    summary = await process_outbox(good, now=NOW + timedelta(minutes=2), url=url)
    assert summary["given_up"] == 1 and inbox.messages == []


async def test_smtp_server_down_is_retried(url):
    report = new_report(url)
    down = EmailForwarder(SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, timeout_s=1))
    assert await forward_now(report.reference, down, now=NOW, url=url) == "retry"


def test_starttls_is_required_when_asked_and_the_server_cannot(smtp):
    _, port = smtp
    forwarder = EmailForwarder(SmtpSettings(host="127.0.0.1", port=port, starttls=True, timeout_s=3))
    from email.message import EmailMessage

    with pytest.raises(ForwardError) as error:
        forwarder._deliver(EmailMessage())
    assert not error.value.final  # a configuration to fix: kept in the outbox


# ---- configuration --------------------------------------------------------------------------------------


def test_configuration_from_the_environment():
    assert forward.forwarder_from_env({}) is None
    assert isinstance(
        forward.forwarder_from_env({"GRU_REPORTS_FORWARD": "email", "GRU_SMTP_HOST": "smtp.example"}),
        EmailForwarder,
    )
    wcs = forward.forwarder_from_env(
        {
            "GRU_REPORTS_FORWARD": "wcs",
            "GRU_PUBLIK_URL": "https://demarches.example",
            "GRU_PUBLIK_ORIG": "o",
            "GRU_PUBLIK_KEY": "k",
        }
    )
    assert isinstance(wcs, WcsForwarder)
    settings = SmtpSettings.from_env(
        {"GRU_SMTP_HOST": "smtp.example", "GRU_SMTP_PORT": "2525", "GRU_SMTP_STARTTLS": "false"}
    )
    assert settings.port == 2525 and not settings.starttls and settings.user is None
    for env in (
        {"GRU_REPORTS_FORWARD": "fax"},
        {"GRU_REPORTS_FORWARD": "email"},
        {"GRU_REPORTS_FORWARD": "wcs"},
        {"GRU_REPORTS_FORWARD": "email", "GRU_SMTP_HOST": "h", "GRU_SMTP_PORT": "x"},
    ):
        with pytest.raises(ValueError):
            forward.forwarder_from_env(env)


async def test_nothing_is_forwarded_when_not_configured(url):
    report = new_report(url, forward_it=False)
    assert await forward_now(report.reference, None, now=NOW, url=url) == "none"
    assert find_report(report.reference, url=url).forward_status == "none"
