"""Appointment reminders (booking/reminders.py) on a seeded SQLite database with a fake clock
(``now=`` everywhere), against local servers speaking the real shapes: SMTP (aiosmtpd), the JSON
SMS gateway of core/sms.py, and Meta's Send API. Exactly once: across passes, deadlines, moves,
cancellations, opt-outs, failures and concurrent schedulers."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import select

import alerts.senders
import core.mail
from booking import engine, reminders
from booking.links import read_manage_token
from booking.models import AppointmentReminder
from core.db import session_scope
from core.http import close_all
from core.mail import SmtpSettings
from core.sms import JsonSmsSender, french_mobile
from tests.conftest import free_port
from tests.unit.local_server import serving

PARIS = ZoneInfo("Europe/Paris")
BOOKED_AT = datetime(2026, 11, 30, 8, 0)  # Monday, Paris wall-clock time
MAIRIE = "villebrune-mairie"
EMAIL = "marie.durand@exemple.fr"
MOBILE = "+33612345678"
PSID = "psid-4242"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An aware moment of December 2026 (the fake clock)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS)


# ---- local servers ---------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
            )
        return "250 Message accepted"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.settings = SmtpSettings(
        "127.0.0.1",
        controller.port,
        starttls=False,
        sender="rdv@villebrune.example",
        sender_name="Mairie de Villebrune",
    )
    yield inbox
    controller.stop()


@dataclass
class Gateways:
    """The SMS gateway (POST /sms/messages) and Meta's Send API (POST /v19.0/me/messages)."""

    sms_mode: str = "ok"
    sms: list = field(default_factory=list)  # deliveries: one per reference
    sms_requests: int = 0  # every POST, retries included
    messenger: list = field(default_factory=list)
    base_url: str = ""

    async def sms_messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer sms-secret":
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.sms_mode == "503":
            return web.json_response({"error": "busy"}, status=503)
        if self.sms_mode == "400":
            return web.json_response({"error": "invalid number"}, status=400)
        self.sms_requests += 1
        body = await request.json()
        # As the adapter's contract says (core/sms.py): a request whose reference was already
        # accepted is a no-op, so a retry after a lost answer delivers nothing twice.
        known = [i for i, sent in enumerate(self.sms) if sent.get("reference") == body.get("reference")]
        if not known:
            self.sms.append(body)
        return web.json_response({"id": f"sms-{(known[0] if known else len(self.sms) - 1) + 1}"})

    async def graph_messages(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != "page-token":
            return web.json_response({"error": {"code": 190}}, status=400)
        self.messenger.append(await request.json())
        return web.json_response({"recipient_id": PSID, "message_id": "m1"})

    def application(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/sms/messages", self.sms_messages),
                web.post("/v19.0/me/messages", self.graph_messages),
            ]
        )
        return app


@pytest.fixture
async def gateways():
    fake = Gateways()
    async with serving(fake.application()) as base_url:
        fake.base_url = base_url
        yield fake
    await close_all()


def senders_for(smtp: Inbox, gateways: Gateways) -> dict:
    return {
        "email": reminders.EmailReminderSender(smtp.settings),
        "sms": reminders.SmsReminderSender(JsonSmsSender(f"{gateways.base_url}/sms", "sms-secret", "MAIRIE")),
        "messenger": reminders.MessengerReminderSender(f"{gateways.base_url}/v19.0", "page-token"),
    }


async def run(senders: dict, now: datetime, url: str, **env: str) -> dict:
    return await reminders.run_pass(senders, now=now, url=url, env=env)


# ---- bookings ----------------------------------------------------------------------------------------


def book(url: str, *, channel: str = "rest", sender: str = "alice", day: date = date(2026, 12, 3),
         now: datetime = BOOKED_AT, reason: str = "PASSPORT", ids=None, surname: str = "Durand"):  # fmt: skip
    if ids is None:  # one pre-application number per citizen
        ids = ((sender.upper().replace("-", "") + "X" * 10)[:10],)
    slot = engine.available_slots([MAIRIE], day, day, engine.duration_for(reason, 1), now=now, url=url)[0]
    return engine.book(slot, reason=reason, people=1, surname=surname, channel=channel, sender_id=sender,
                       application_ids=ids, now=now, url=url)  # fmt: skip


def with_contacts(url: str, appt: engine.AppointmentView, sender=("rest", "alice")) -> None:
    assert reminders.set_contact(appt.reference, "email", EMAIL, sender=sender, url=url)
    assert reminders.set_contact(appt.reference, "sms", MOBILE, sender=sender, url=url)


def rows(url: str) -> list[tuple]:
    with session_scope(url) as session:
        return [
            (r.channel, r.hours_before, r.status, r.attempts, r.last_error_kind)
            for r in session.execute(select(AppointmentReminder).order_by(AppointmentReminder.id)).scalars()
        ]


# ---- the messages ------------------------------------------------------------------------------------------


async def test_email_and_sms_48h_then_24h_before_each_once(db_url, smtp, gateways):
    appt = book(db_url)
    assert appt.start == datetime(2026, 12, 3, 8, 45)
    with_contacts(db_url, appt)
    senders = senders_for(smtp, gateways)
    assert await run(senders, at(1, 8, 0), db_url) == {"sent": 0, "retry": 0, "failed": 0}  # 48 h 45 before
    assert await run(senders, at(1, 8, 50), db_url) == {"sent": 2, "retry": 0, "failed": 0}
    assert await run(senders, at(1, 9, 0), db_url) == {"sent": 0, "retry": 0, "failed": 0}
    assert await run(senders, at(2, 8, 45), db_url) == {"sent": 2, "retry": 0, "failed": 0}
    assert await run(senders, at(3, 8, 0), db_url) == {"sent": 0, "retry": 0, "failed": 0}
    assert sorted(rows(db_url)) == [("email", 24, "sent", 1, None), ("email", 48, "sent", 1, None),
                                    ("sms", 24, "sent", 1, None), ("sms", 48, "sent", 1, None)]  # fmt: skip
    assert len(smtp.messages) == 2 and len(gateways.sms) == 2

    recipients, mail = smtp.messages[0]
    assert recipients == [EMAIL]
    assert mail["Subject"].startswith("Rappel : votre rendez-vous du jeudi 3 décembre")
    assert mail["Subject"].endswith(f"({appt.reference})")
    assert mail["From"].addresses[0].display_name == "Mairie de Villebrune"
    plain = mail.get_body(("plain",)).get_content()
    page = mail.get_body(("html",)).get_content()
    for body in (plain, page):
        assert "jeudi 3 décembre" in body and "à 8 h 45" in body and "Mairie de Villebrune" in body
        assert "justificatif de domicile" in body and "timbre fiscal pour le passeport" in body
        assert "pré-demande" in body
    manage = next(w for w in plain.split() if "/rendez-vous/" in w)
    assert read_manage_token(manage.split("?t=")[1]) == appt.reference
    assert '<html lang="fr">' in page and "Ne plus recevoir de rappel" in page
    stop = mail["List-Unsubscribe"].strip("<>")
    assert "/webhooks/reminders/stop?t=" in stop and stop in plain

    sms = gateways.sms[0]
    assert sms["to"] == MOBILE and sms["from"] == "MAIRIE" and sms["reference"].startswith("rappel-")
    assert appt.reference in sms["text"] and "/rendez-vous/" in sms["text"] and "timbre fiscal" in sms["text"]
    for sender in senders.values():
        await sender.close()


async def test_messenger_booking_is_reminded_with_the_confirmed_event_update_tag(db_url, smtp, gateways):
    appt = book(db_url, channel="facebook", sender=PSID, reason="CNI", ids=())
    senders = senders_for(smtp, gateways)
    assert (await run(senders, at(2, 9, 0), db_url))["sent"] == 1
    (body,) = gateways.messenger
    assert body["recipient"] == {"id": PSID}
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "CONFIRMED_EVENT_UPDATE"
    payload = body["message"]["attachment"]["payload"]
    assert payload["template_type"] == "button" and appt.reference in payload["text"]
    assert len(payload["text"]) <= 640 and all(len(b["title"]) <= 20 for b in payload["buttons"])
    assert [b["title"] for b in payload["buttons"]] == ["Déplacer ou annuler", "Plus de rappel"]
    assert smtp.messages == [] and gateways.sms == []  # no address given: Messenger only


async def test_a_deadline_past_at_booking_time_is_skipped(db_url, smtp, gateways):
    appt = book(db_url, now=datetime(2026, 12, 1, 12, 0))  # 44 h before: the 48 h reminder is no use
    with_contacts(db_url, appt)
    senders = senders_for(smtp, gateways)
    assert (await run(senders, at(1, 12, 5), db_url))["sent"] == 0
    assert (await run(senders, at(2, 9, 0), db_url))["sent"] == 2
    assert {r[1] for r in rows(db_url)} == {24}


async def test_the_scheduler_down_sends_the_latest_deadline_only(db_url, smtp, gateways):
    appt = book(db_url)
    with_contacts(db_url, appt)
    assert (await run(senders_for(smtp, gateways), at(2, 20, 0), db_url))["sent"] == 2
    assert {r[1] for r in rows(db_url)} == {24}


async def test_a_moved_appointment_gets_new_reminders_a_cancelled_one_none(db_url, smtp, gateways):
    appt = book(db_url)
    with_contacts(db_url, appt)
    senders = senders_for(smtp, gateways)
    assert (await run(senders, at(1, 9, 0), db_url))["sent"] == 2  # 48 h before the 3rd
    day = date(2026, 12, 4)
    slot = engine.available_slots([MAIRIE], day, day, appt.duration_minutes, now=BOOKED_AT, url=db_url)[0]
    moved = engine.reschedule(appt.reference, slot, sender=("rest", "alice"), now=at(1, 10, 0), url=db_url)
    assert moved.start == datetime(2026, 12, 4, 8, 45)
    assert (await run(senders, at(2, 9, 0), db_url))["sent"] == 2  # 48 h before the 4th
    assert (await run(senders, at(3, 9, 0), db_url))["sent"] == 2  # 24 h before the 4th
    engine.cancel(appt.reference, sender=("rest", "alice"), now=at(3, 10, 0), url=db_url)
    other = book(db_url, sender="bob", day=date(2026, 12, 8))
    with_contacts(db_url, other, sender=("rest", "bob"))
    engine.cancel(other.reference, sender=("rest", "bob"), now=at(3, 10, 0), url=db_url)
    assert (await run(senders, at(7, 9, 0), db_url))["sent"] == 0
    assert len(smtp.messages) == 3 and len(gateways.sms) == 3


async def test_the_opt_out_link_stops_the_reminders(db_url, smtp, gateways):
    appt = book(db_url)
    with_contacts(db_url, appt)
    senders = senders_for(smtp, gateways)
    await run(senders, at(1, 9, 0), db_url)
    stop = smtp.messages[0][1]["List-Unsubscribe"].strip("<>")
    token = stop.split("?t=")[1]
    assert reminders.reference_of_stop_token(token) == appt.reference
    with pytest.raises(reminders.BadToken):
        reminders.reference_of_stop_token(token[:-2] + "xx")
    assert reminders.stop_reminders(appt.reference, now=at(1, 10, 0), url=db_url)
    assert (await run(senders, at(2, 9, 0), db_url))["sent"] == 0
    assert not reminders.stop_reminders("RDV-ZZZZZZ", url=db_url)


async def test_without_an_address_or_an_adapter_nothing_is_claimed(db_url, smtp, gateways):
    book(db_url)  # web booking, no e-mail or phone given
    assert (await run(senders_for(smtp, gateways), at(2, 9, 0), db_url))["sent"] == 0
    appt = book(db_url, sender="bob")
    with_contacts(db_url, appt, sender=("rest", "bob"))
    only_mail = {"email": reminders.EmailReminderSender(smtp.settings)}
    assert (await run(only_mail, at(2, 9, 0), db_url))["sent"] == 1
    assert rows(db_url) == [("email", 24, "sent", 1, None)]
    assert (await run(senders_for(smtp, gateways), at(2, 9, 0), db_url, GRU_REMINDERS_HOURS="off"))[
        "sent"
    ] == 0


# ---- failures ---------------------------------------------------------------------------------------


async def test_a_temporary_failure_is_retried_a_refusal_is_not(db_url, smtp, gateways):
    appt = book(db_url)
    assert reminders.set_contact(appt.reference, "sms", MOBILE, sender=("rest", "alice"), url=db_url)
    senders = senders_for(smtp, gateways)
    gateways.sms_mode = "503"
    assert await run(senders, at(1, 9, 0), db_url) == {"sent": 0, "retry": 1, "failed": 0}
    assert await run(
        senders,
        at(
            1,
            9,
            0,
        ),
        db_url,
    ) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
    gateways.sms_mode = "ok"
    assert await run(senders, at(1, 9, 2), db_url) == {"sent": 1, "retry": 0, "failed": 0}
    assert rows(db_url) == [("sms", 48, "sent", 2, None)]
    gateways.sms_mode = "400"
    assert await run(senders, at(2, 9, 0), db_url) == {"sent": 0, "retry": 0, "failed": 1}
    assert await run(senders, at(2, 10, 0), db_url) == {"sent": 0, "retry": 0, "failed": 0}
    assert rows(db_url)[-1] == ("sms", 24, "failed", 1, "rejected 400")
    assert len(gateways.sms) == 1


async def test_smtp_down_is_retried_then_given_up_before_the_appointment(db_url, smtp, gateways):
    appt = book(db_url)
    assert reminders.set_contact(appt.reference, "email", EMAIL, sender=("rest", "alice"), url=db_url)
    down = {
        "email": reminders.EmailReminderSender(
            SmtpSettings("127.0.0.1", free_port(), starttls=False, timeout_s=1)
        )
    }
    assert (await run(down, at(2, 9, 0), db_url, GRU_REMINDERS_MAX_ATTEMPTS="2"))["retry"] == 1
    assert (await run(down, at(2, 9, 5), db_url, GRU_REMINDERS_MAX_ATTEMPTS="2"))["failed"] == 1
    assert rows(db_url) == [("email", 24, "failed", 2, "connection")]


async def test_a_pass_that_died_while_sending_never_sends_again(db_url, smtp, gateways):
    appt = book(db_url)
    assert reminders.set_contact(appt.reference, "email", EMAIL, sender=("rest", "alice"), url=db_url)
    claimed = reminders.claim_new([48, 24], ["email"], datetime(2026, 12, 2, 9, 0), db_url)
    assert len(claimed) == 1  # ... and the process dies here, the message maybe sent
    senders = senders_for(smtp, gateways)
    assert (await run(senders, at(2, 9, 5), db_url))["sent"] == 0  # the lease holds
    assert (await run(senders, at(2, 9, 30), db_url))["sent"] == 0  # after it: failed, not resent
    assert rows(db_url) == [("email", 24, "failed", 0, "interrupted")]
    assert smtp.messages == []


async def test_two_schedulers_at_once_send_each_reminder_once(db_url, smtp, gateways):
    appointments = [
        book(db_url, sender=f"citizen-{i}", day=date(2026, 12, 3 + i % 2), surname="Martin" + "abcdef"[i])
        for i in range(6)
    ]
    for i, appt in enumerate(appointments):
        with_contacts(db_url, appt, sender=("rest", f"citizen-{i}"))
    start = threading.Barrier(4)
    results: list = []

    def scheduler() -> None:
        async def one_pass():
            senders = senders_for(smtp, gateways)
            start.wait()
            try:
                return await run(senders, at(2, 9, 0), db_url)
            finally:
                for sender in senders.values():
                    await sender.close()
                await close_all()

        results.append(asyncio.run(one_pass()))

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    # each scheduler in its own thread and event loop; this loop keeps serving the SMS gateway
    await asyncio.gather(*(asyncio.to_thread(thread.join, 60) for thread in threads))
    assert len(results) == 4
    # Under load a fake server may drop a connection (« ClientConnectionError »): that reminder
    # is retried a minute later, never sent twice. Later passes finish the work.
    senders = senders_for(smtp, gateways)
    for minutes in (2, 10):
        results.append(await run(senders, at(2, 9, minutes), db_url))
    for sender in senders.values():
        await sender.close()
    # 6 appointments × (e-mail + SMS): 3 on the 3rd (24 h reminder), 3 on the 4th (48 h reminder)
    assert sum(r["sent"] for r in results) == 12
    assert len(smtp.messages) == 6 and len(gateways.sms) == 6
    assert len({s["reference"] for s in gateways.sms}) == 6
    assert sorted(r[0] for r in smtp.messages) == sorted([EMAIL] for _ in range(6))


async def test_logs_carry_no_address_name_or_reference(db_url, smtp, gateways, caplog):
    appt = book(db_url)
    with_contacts(db_url, appt)
    gateways.sms_mode = "503"
    with caplog.at_level(logging.DEBUG):
        await run(senders_for(smtp, gateways), at(2, 9, 0), db_url)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail."))
    assert "reminder" in text  # the local SMTP server's own log (mail.log) is not ours
    for secret in (EMAIL, MOBILE, "612345678", "Durand", "DURAND", appt.reference):
        assert secret not in text


# ---- settings and the shared modules --------------------------------------------------------------


def test_hours_from_the_booking_file_or_the_environment(fixture_files):
    assert reminders.hours_before(env={}) == [48, 24]
    assert reminders.hours_before(env={"GRU_REMINDERS_HOURS": "24"}) == [24]
    assert reminders.hours_before(env={"GRU_REMINDERS_HOURS": "24, 72"}) == [72, 24]
    assert reminders.hours_before(env={"GRU_REMINDERS_HOURS": "off"}) == []
    for bad in ("demain", "0,24", "500"):
        with pytest.raises(ValueError):
            reminders.hours_before(env={"GRU_REMINDERS_HOURS": bad})
    assert reminders.when_before_fr([48, 24]) == "48 h et 24 h avant"
    assert reminders.channels_configured({"GRU_SMTP_HOST": "smtp.x"}) == ["email"]
    assert reminders.channels_configured({"GRU_SMTP_HOST": "smtp.x", "GRU_REMINDERS_HOURS": "off"}) == []


def test_french_mobile_numbers():
    for text in ("06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78"):
        assert french_mobile(text) == MOBILE
    assert french_mobile("07 12 34 56 78") == "+33712345678"
    for text in ("01 23 45 67 89", "0612", "06123456789", "+44 7700 900123", "", "x" * 500):
        assert french_mobile(text) is None


def test_one_smtp_module():
    assert alerts.senders.SmtpSender is core.mail.SmtpSender
    assert alerts.senders.SmtpSettings is core.mail.SmtpSettings
    assert alerts.senders.SendFailed is core.mail.SendFailed
    assert SmtpSettings.from_env({}) is None
    assert SmtpSettings.from_env({"GRU_SMTP_HOST": "smtp.x.fr"}).from_address == "assistant@smtp.x.fr"
    with pytest.raises(ValueError):
        SmtpSettings.from_env({"GRU_SMTP_HOST": "h", "GRU_SMTP_STARTTLS": "peut-être"})


def test_the_french_subject_and_sender_name_are_encoded(smtp):
    mail = core.mail.compose(
        smtp.settings, to=EMAIL, subject="Rappel : votre rendez-vous à la mairie", text="Été",
        html="<p>Été</p>", attachments=[core.mail.Attachment("reçu.txt", "text/plain", "é".encode())],
        reference="RDV-AB12CD-24h",
    )  # fmt: skip
    raw = bytes(mail)
    assert raw.isascii()  # RFC 2047 / quoted-printable / base64: any server takes it
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Rappel : votre rendez-vous à la mairie"
    assert "RDV.AB12CD.24h" in parsed["Message-ID"]
    assert [p.get_content_type() for p in parsed.walk()][-1] == "text/plain"


def test_the_reminder_row_has_no_personal_data(db_url):
    appt = book(db_url)
    with_contacts(db_url, appt)
    reminders.claim_new([48, 24], ["email", "sms"], datetime(2026, 12, 2, 9, 0), db_url)
    with session_scope(db_url) as session:
        for row in session.execute(select(AppointmentReminder)).scalars():
            values = {c.name: getattr(row, c.name) for c in AppointmentReminder.__table__.columns}
            assert not any(isinstance(v, str) and ("@" in v or "+33" in v) for v in values.values())
