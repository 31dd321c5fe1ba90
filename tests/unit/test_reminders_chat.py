"""The optional reminder step of the chat (actions/appointments/reminders.py): the offer after a
booking, the channel and address answers (checked, never said back or logged), the address
stored with the appointment. On rasa-sdk trackers and a real (temporary) booking database."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.appointments import book, reminders
from actions.forms import FAILURES_SLOT, OUTCOME_SLOT
from booking import engine
from booking.models import Appointment
from core import clock
from core.db import session_scope
from tests.unit.responses import buttons_of, said
from tests.unit.test_booking_actions import db, message, tracker  # noqa: F401 (db is a fixture)

EMAIL_AND_SMS = {
    "GRU_SMTP_HOST": "smtp.villebrune.example",
    "GRU_SMS_URL": "https://sms.example",
    "GRU_SMS_TOKEN": "t",
}


@pytest.fixture
def configured(monkeypatch):
    for name in (
        "GRU_SMTP_HOST",
        "GRU_SMS_URL",
        "GRU_SMS_TOKEN",
        "FACEBOOK_PAGE_ACCESS_TOKEN",
        "GRU_REMINDERS_HOURS",
    ):
        monkeypatch.delenv(name, raising=False)

    def configure(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return configure


def booked(channel: str = "rest", sender: str = "citizen-1") -> engine.AppointmentView:
    today = engine.local_now().date()
    duration = engine.duration_for("CNI", 1)
    first, last = today + timedelta(days=3), today + timedelta(days=20)
    slot = engine.available_slots(["villebrune-mairie"], first, last, duration, now=clock.now())[0]
    return engine.book(slot, reason="CNI", people=1, surname="Durand", channel=channel, sender_id=sender,
                       now=clock.now())  # fmt: skip


async def booking_done(appt: engine.AppointmentView, channel: str = "rest"):
    dispatcher = CollectingDispatcher()
    slots = {"booking_reference": appt.reference, "booking_confirmed": True}
    events = await book.ActionBookingDone().run(
        dispatcher,
        tracker(message(text="oui"), slots, sender=appt_sender(appt), channel=channel, loop=None),
        {},
    )
    return events, dispatcher.messages


def appt_sender(appt: engine.AppointmentView) -> str:
    with session_scope() as session:
        return session.execute(
            select(Appointment.sender_id).where(Appointment.reference == appt.reference)
        ).scalar_one()


async def validate(slot: str, latest: dict, slots: dict | None = None):
    dispatcher = CollectingDispatcher()
    form = reminders.ValidateReminderForm()
    result = await getattr(form, f"extract_{slot}")(
        dispatcher, tracker(latest, slots, loop="reminder_form"), {}
    )
    return result, said(dispatcher.messages)


# ---- the offer ------------------------------------------------------------------------------------


async def test_the_confirmation_offers_the_configured_channels(db, configured):  # noqa: F811
    configured(**EMAIL_AND_SMS)
    appt = booked()
    events, messages = await booking_done(appt)
    text = said(messages)
    assert appt.reference in text and "Voulez-vous un rappel" in text
    assert [(b["title"], b["payload"]) for b in buttons_of(messages)] == [
        ("Par e-mail", '/reminder_request{"choice": "email"}'),
        ("Par SMS", '/reminder_request{"choice": "sms"}'),
        ("Non merci", '/reminder_request{"choice": "none"}'),
    ]
    assert {"name": "reminder_reference", "value": appt.reference} in [
        {"name": e["name"], "value": e["value"]} for e in events if e.get("event") == "slot"
    ]


async def test_no_offer_when_no_channel_is_configured_or_reminders_are_off(db, configured):  # noqa: F811
    _, messages = await booking_done(booked())
    assert "rappel" not in said(messages) and not any(
        "reminder" in b["payload"] for b in buttons_of(messages)
    )
    configured(GRU_REMINDERS_HOURS="off", **EMAIL_AND_SMS)
    _, messages = await booking_done(booked(sender="citizen-2"))
    assert "Voulez-vous un rappel" not in said(messages)


async def test_a_messenger_booking_is_told_the_reminder_comes_there(db, configured):  # noqa: F811
    configured(FACEBOOK_PAGE_ACCESS_TOKEN="page-token", **EMAIL_AND_SMS)
    _, messages = await booking_done(booked(channel="facebook", sender="psid-1"), channel="facebook")
    text = said(messages)
    assert "Je vous enverrai un rappel ici, sur Messenger, 48 h et 24 h avant le rendez-vous." in text
    assert "Voulez-vous un rappel" not in text


# ---- the answers ------------------------------------------------------------------------------------


async def test_email_chosen_then_a_wrong_then_a_right_address(configured):
    configured(**EMAIL_AND_SMS)
    start = message("reminder_request", '/reminder_request{"choice": "email"}', [("choice", "email")])
    result, _ = await validate("reminder_channel", start)
    assert result == {"reminder_channel": "email", FAILURES_SLOT: 0}
    asked = {"requested_slot": "reminder_contact", "reminder_channel": "email"}
    result, text = await validate("reminder_contact", message(text="marie.durand@"), asked)
    assert result == {"reminder_contact": None, FAILURES_SLOT: 1} and "prenom.nom@exemple.fr" in text
    result, _ = await validate("reminder_contact", message(text="c'est Marie.Durand@Exemple.fr"), asked)
    assert result == {"reminder_contact": "marie.durand@exemple.fr", FAILURES_SLOT: 0}


@pytest.mark.parametrize(
    "text, number",
    [("06 12 34 56 78", "+33612345678"), ("+33 7 81 22 33 44", "+33781223344"), ("mon portable : 0645238910",
     "+33645238910"), ("01 23 45 67 89", None), ("06 12", None), ("x" * 400, None)],
)  # fmt: skip
async def test_sms_needs_a_french_mobile_number(configured, text, number):
    configured(**EMAIL_AND_SMS)
    asked = {"requested_slot": "reminder_contact", "reminder_channel": "sms"}
    result, said_ = await validate("reminder_contact", message(text=text), asked)
    assert result["reminder_contact"] == number
    if number is None:
        assert "06 ou 07" in said_


async def test_channel_and_address_in_one_message(configured):
    configured(**EMAIL_AND_SMS)
    result, _ = await validate(
        "reminder_channel", message("reminder_request", "rappel par mail : a.b@exemple.fr")
    )
    assert result["reminder_channel"] == "email" and result["reminder_contact"] == "a.b@exemple.fr"
    result, _ = await validate("reminder_channel", message("reminder_request", "un rappel svp"))
    assert result == {}  # the channel question comes next


async def test_a_channel_not_configured_is_refused_clearly(configured):
    configured(GRU_SMTP_HOST="smtp.villebrune.example")
    result, text = await validate(
        "reminder_channel", message("reminder_request", "par sms", [("choice", "sms")])
    )
    assert result == {OUTCOME_SLOT: "blocked"} and "pas disponibles" in text


async def test_an_unclear_channel_answer_is_a_failure_with_the_choices(configured):
    configured(**EMAIL_AND_SMS)
    result, text = await validate(
        "reminder_channel", message(text="bof"), {"requested_slot": "reminder_channel"}
    )
    assert result["reminder_channel"] is None and "Par e-mail" in text


def test_an_address_read_as_another_intent_is_still_the_answer():
    form = reminders.ValidateReminderForm()
    for text in ("marie@exemple.fr", "06 12 34 56 78"):
        assert form.is_answer(tracker(message("help", text), loop="reminder_form"), "reminder_contact")
    assert not form.is_answer(tracker(message("help", "aide"), loop="reminder_form"), "reminder_contact")


async def test_non_merci_asks_nothing_more(configured):
    configured(**EMAIL_AND_SMS)
    form = reminders.ValidateReminderForm()
    declined = tracker(message(), {"reminder_channel": "none"}, loop="reminder_form")
    slots = await form.form_slots(
        ["reminder_channel", "reminder_contact"], CollectingDispatcher(), declined, {}
    )
    assert slots == []
    dispatcher = CollectingDispatcher()
    await reminders.ActionReminderDone().run(
        dispatcher, tracker(message(), {"reminder_channel": "none"}, loop=None), {}
    )
    assert "pas de rappel" in said(dispatcher.messages)


# ---- stored with the appointment ------------------------------------------------------------------


async def test_the_address_is_stored_with_the_appointment_never_said_or_logged(db, configured, caplog):  # noqa: F811
    configured(**EMAIL_AND_SMS)
    appt = booked()
    slots = {
        "reminder_channel": "sms",
        "reminder_contact": "+33612345678",
        "reminder_reference": appt.reference,
    }
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.DEBUG):
        events = await reminders.ActionReminderDone().run(
            dispatcher, tracker(message(), slots, loop=None), {}
        )
    text = said(dispatcher.messages)
    assert f"vous recevrez un rappel par SMS 48 h et 24 h avant le rendez-vous {appt.reference}" in text
    assert "612345678" not in text and "612345678" not in caplog.text
    with session_scope() as session:
        assert (
            session.execute(
                select(Appointment.phone).where(Appointment.reference == appt.reference)
            ).scalar_one()
            == "+33612345678"
        )
    forgotten = {e["name"]: e["value"] for e in events}
    assert forgotten["reminder_contact"] is None


async def test_without_an_upcoming_appointment_nothing_is_stored(db, configured):  # noqa: F811
    configured(**EMAIL_AND_SMS)
    slots = {"reminder_channel": "email", "reminder_contact": "a@exemple.fr"}
    dispatcher = CollectingDispatcher()
    await reminders.ActionReminderDone().run(
        dispatcher, tracker(message(), slots, sender="nobody", loop=None), {}
    )
    assert "pas de rendez-vous à venir" in said(dispatcher.messages)


async def test_someone_else_s_reference_in_the_slot_is_not_used(db, configured):  # noqa: F811
    configured(**EMAIL_AND_SMS)
    theirs = booked(sender="someone-else")
    slots = {
        "reminder_channel": "email",
        "reminder_contact": "a@exemple.fr",
        "reminder_reference": theirs.reference,
    }
    dispatcher = CollectingDispatcher()
    await reminders.ActionReminderDone().run(
        dispatcher, tracker(message(), slots, sender="intruder", loop=None), {}
    )
    assert "pas de rendez-vous à venir" in said(dispatcher.messages)
    with session_scope() as session:
        assert (
            session.execute(
                select(Appointment.email).where(Appointment.reference == theirs.reference)
            ).scalar_one()
            is None
        )
