"""The chat, the citizens' pages, the ANTS hub and the reminders with Publik Chrono as the agenda
(GRU_BOOKING_BACKEND=chrono), against the local fake Chrono: Chrono's slots are offered, bookings
and cancellations reach Chrono, and when Chrono is down the citizen is told so kindly, with the
service's phone, and nothing is recorded."""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from booking import engine, hub, links, reminders
from booking.ants import AntsSettings
from booking.config import load_booking_config
from booking.models import Appointment, AppointmentReminder
from core.db import session_scope
from portal import app as portal
from tests.unit.conftest import next_open_day
from tests.unit.fake_chrono import KEY, ORIG, chrono_served
from tests.unit.local_server import serving
from tests.unit.responses import buttons_of, said
from tests.unit.test_booking_actions import at_confirmation, extract, message, tracker

MAIRIE = "villebrune-mairie"
SERVICE_PHONE = "01 99 00 10 10"  # the appointments service of the fixture territory
HUB_TOKEN = "hub-token"

pytestmark = pytest.mark.usefixtures("fixture_files")


@pytest.fixture
async def chrono(db_url, monkeypatch):
    """A fake Chrono on the real clock, chosen by the environment as the actions and pages do."""
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    for name in ("GRU_ANTS_API_URL", "GRU_ANTS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    async with chrono_served(db_url, load_booking_config(), engine.local_now) as (fake, backend):
        monkeypatch.setenv("GRU_BOOKING_BACKEND", "chrono")
        monkeypatch.setenv("GRU_CHRONO_URL", fake.base_url)
        monkeypatch.setenv("GRU_CHRONO_ORIG", ORIG)
        monkeypatch.setenv("GRU_CHRONO_KEY", KEY)
        monkeypatch.setenv("GRU_CHRONO_TIMEOUT", "1")
        yield fake, backend


async def first_slot(backend, duration: int = 15) -> engine.Slot:
    day = next_open_day()
    return (await backend.available_slots([MAIRIE], day, day, duration, limit=1))[0]


# ---- the chat --------------------------------------------------------------------------------------


async def test_the_chat_offers_chrono_s_slots_and_books_there(chrono):
    from actions.appointments import slots

    fake, backend = chrono
    dispatcher = CollectingDispatcher()
    state = {"document_type": "cni", "person_count": 1, "booking_site": MAIRIE}
    events = await slots.ActionAskBookingSlot().run(dispatcher, tracker(message(), state), {})
    offered = events[0]["value"]
    assert offered and fake.calls_to("datetimes") >= 1 and len(buttons_of(dispatcher.messages)) >= 2
    slot = engine.Slot.from_key(offered[0], 15)
    result, _ = await extract(
        "booking_confirmed", message(intent="affirm", text="oui"), at_confirmation(slot)
    )
    assert result["booking_confirmed"] is True
    (held,) = fake.live()
    assert held.start == slot.start and held.body["gru_reference"] == result["booking_reference"]


async def test_the_chat_says_kindly_when_chrono_is_down(chrono, db_url):
    from actions.appointments import book, slots

    fake, backend = chrono
    slot = await first_slot(backend)
    fake.fail["datetimes"] += ["error500"] * 3
    dispatcher = CollectingDispatcher()
    state = {"document_type": "cni", "person_count": 1, "booking_site": MAIRIE}
    assert await slots.ActionAskBookingSlot().run(dispatcher, tracker(message(), state), {}) == []
    text = said(dispatcher.messages)
    assert "L'agenda des rendez-vous de la mairie ne répond pas" in text and SERVICE_PHONE in text
    assert [b["title"] for b in buttons_of(dispatcher.messages)] == ["Parler à un agent"]

    fake.fail["fillslot"].append("error500")
    domain = {"forms": {"booking_form": {"required_slots": ["booking_confirmed"]}}, "slots": {}}
    dispatcher = CollectingDispatcher()
    events = await book.ValidateBookingForm().run(
        dispatcher, tracker(message("affirm", "oui"), at_confirmation(slot)), domain
    )
    assert {e["name"]: e["value"] for e in events}["form_outcome"] == "blocked"
    assert "Rien n'a été réservé" in said(dispatcher.messages) and SERVICE_PHONE in said(dispatcher.messages)
    assert fake.live() == []
    with session_scope(db_url) as session:
        assert session.execute(select(Appointment)).first() is None


async def test_a_cancellation_in_the_chat_reaches_chrono(chrono):
    from actions.appointments import manage

    fake, backend = chrono
    view = await backend.book(
        await first_slot(backend),
        reason="CNI",
        people=1,
        surname="Petit",
        channel="rest",
        sender_id="citizen-1",
    )
    state = {"appointment_ref": view.reference, "manage_confirmed": True}
    dispatcher = CollectingDispatcher()
    await manage.ActionCancelDone().run(dispatcher, tracker(message(), state, loop=None), {})
    assert view.reference in said(dispatcher.messages) and fake.live() == []
    assert fake.calls_to("cancel") == 1


# ---- the pages and the hub -------------------------------------------------------------------------


async def test_the_pages_show_chrono_s_slots_or_a_french_error_page(chrono, db_url):
    fake, backend = chrono
    app = portal.create_app(
        db_url, public_url="https://rdv.villebrune.example", ants=AntsSettings(None, None)
    )
    query = f"/rendez-vous/creneaux?site={MAIRIE}&motif=cni&personnes=1"
    async with serving(app) as base, aiohttp.ClientSession(base_url=base) as session:
        async with session.get(query) as response:
            assert response.status == 200 and 'name="start"' in await response.text()
        fake.fail["datetimes"] += ["error500"] * 3
        async with session.get(query) as response:
            page = html.unescape(await response.text())
            assert response.status == 503 and "Agenda indisponible" in page and SERVICE_PHONE in page


async def test_a_booking_on_the_pages_is_held_in_chrono_and_cancelled_there(chrono, db_url):
    from tests.unit.test_portal import book_through_callback, pages, post

    fake, backend = chrono
    slot = await first_slot(backend)
    async with pages(db_url, AntsSettings(None, None)) as (_base, session):
        location = await book_through_callback(session, slot, numeros="", papier="oui")
        reference = urlsplit(location).path.rsplit("/", 1)[1]
        (held,) = fake.live()
        assert held.start == slot.start and held.body["gru_reference"] == reference
        cancel = links.manage_url(reference, "cancel").removeprefix(links.pages_url())
        status, _text, response = await post(session, cancel, {})
    assert status == 303 and "etat=annule" in response.headers["Location"] and fake.live() == []


async def test_the_hub_lists_chrono_s_slots_and_answers_503_when_it_is_down(chrono, db_url):
    fake, backend = chrono
    day = next_open_day()
    params = [
        ("meeting_point_ids", MAIRIE),
        ("start_date", day.isoformat()),
        ("end_date", day.isoformat()),
        ("reason", "CNI"),
        ("documents_number", "1"),
    ]
    headers = {hub.AUTH_HEADER: HUB_TOKEN}
    async with serving(hub.create_app(HUB_TOKEN, "https://rdv.villebrune.example", url=db_url)) as base:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/availableTimeSlots", params=params, headers=headers) as response:
                body = await response.json()
            expected = await backend.available_slots([MAIRIE], day, day, 15, service="identity")
            assert response.status == 200 and len(body[MAIRIE]) == len(expected) > 0
            fake.fail["datetimes"] += ["error500"] * 3
            async with session.get(base + "/availableTimeSlots", params=params, headers=headers) as response:
                assert response.status == 503


# ---- reminders -------------------------------------------------------------------------------------


class Outbox:
    """A reminder sender that keeps what it is given (the SMTP and SMS senders have their own tests)."""

    def __init__(self) -> None:
        self.sent: list = []

    async def send_reminder(self, due, texts) -> None:
        self.sent.append(due.reference)

    async def close(self) -> None:
        return None


async def test_no_reminder_for_an_appointment_an_agent_cancelled_in_chrono(db_url):
    booked_at = datetime(2026, 11, 30, 8, 0)
    async with chrono_served(db_url, load_booking_config(), lambda: booked_at) as (fake, backend):
        views = {}
        for name, hour in (("durand", 10), ("martin", 11)):
            views[name] = await backend.book(
                engine.Slot(MAIRIE, datetime(2026, 12, 3, hour, 0), 15),
                reason="CNI",
                people=1,
                surname=name,
                channel="rest",
                sender_id=name,
                email=f"{name}@exemple.fr",
                now=booked_at,
            )
        kept, dropped = views["durand"].reference, views["martin"].reference
        next(b for b in fake.live() if b.body["gru_reference"] == dropped).cancelled = True  # by an agent
        outbox = Outbox()
        summary = await reminders.run_pass(
            {"email": outbox}, now=datetime(2026, 12, 2, 10, 0), url=db_url, env={}, agenda=backend
        )
    assert outbox.sent == [kept] and summary == {"sent": 1, "retry": 0, "failed": 1}
    with session_scope(db_url) as session:
        statuses = dict(session.execute(select(Appointment.reference, Appointment.status)).all())
        kinds = set(session.execute(select(AppointmentReminder.last_error_kind)).scalars())
    assert statuses == {kept: "booked", dropped: "cancelled"} and kinds == {None, "cancelled"}
