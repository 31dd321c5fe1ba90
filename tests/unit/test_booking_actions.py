"""The booking forms' reading of citizens' answers, run on rasa-sdk trackers and a real
(temporary) booking database, without a Rasa server."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import book, manage, reading, slots
from actions.common import clean_surname, is_name_answer
from actions.forms import FAILURES_SLOT, OUTCOME_SLOT
from booking import engine
from booking.seed import prepare_database
from core import clock
from core.dates import When
from tests.unit.responses import buttons_of, said


def message(intent="inform", text="", entities=()):
    return {
        "intent": {"name": intent, "confidence": 0.95},
        "entities": [{"entity": e, "value": v} for e, v in entities],
        "text": text,
    }


def tracker(
    latest, slots=None, sender="citizen-1", channel="rest", loop="booking_form", action="action_listen"
):
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": latest["text"], "parse_data": latest, "input_channel": channel},
    ]
    if action != "action_listen":  # Rasa's temporary tracker: the form's own action last
        events.append({"event": "action", "name": action})
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if loop else {},
        latest_action_name=action,
    )


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'gru.db'}"
    monkeypatch.setenv("GRU_DATABASE_URL", url)
    for name in ("GRU_ANTS_API_URL", "GRU_ANTS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    prepare_database(url)
    return url


async def extract(slot, latest, slots=None, form=None, sender="citizen-1"):
    form = form or book.ValidateBookingForm()
    dispatcher = CollectingDispatcher()
    result = await getattr(form, f"extract_{slot}")(dispatcher, tracker(latest, slots, sender=sender), {})
    return result, said(dispatcher.messages)


@pytest.mark.parametrize(
    "text, expected",
    [("2", 2), ("nous serons trois", 3), ("juste moi", 1), ("une", 1), ("moi et ma fille", 2), ("4 pers", 4)],
)
def test_person_count_from_free_text(text, expected):
    assert reading.parse_person_count(tracker(message(text=text)), requested=True) == expected


def test_un_passeport_is_not_a_head_count():
    assert (
        reading.parse_person_count(tracker(message(text="finalement un passeport")), requested=True) is None
    )


@pytest.mark.parametrize(
    "text, ids",
    [
        ("4F7K2M9QXZ et 7hc3p4r8wa", ["4F7K2M9QXZ", "7HC3P4R8WA"]),
        ("mon numéro : 4F7K2M9QXZ.", ["4F7K2M9QXZ"]),
        ("maintenant", []),  # a 10-letter word is not a number
        ("4F7K2M9QX", []),
    ],
)
def test_application_ids_in_text(text, ids):
    assert reading.application_ids_in(text) == ids


@pytest.mark.parametrize(
    "text, surname",
    [
        ("Dupont", "DUPONT"),
        ("c'est au nom de Mme Fontaine", "FONTAINE"),
        ("N'Diaye", "N'DIAYE"),
        ("N’Diaye", "N'DIAYE"),  # a phone's typographic apostrophe
        ("Lœuillet", "LŒUILLET"),
        ("de La Fontaine", "DE LA FONTAINE"),
        ("Le Gall", "LE GALL"),
        ("Müller", "MÜLLER"),
        ("Nguyễn", "NGUYỄN"),
        ("Martin-Dupont", "MARTIN-DUPONT"),
        ("c'est au nom de Mme N’Diaye-Lœuillet", "N'DIAYE-LŒUILLET"),
        ("123", None),
        ("<script>alert(1)</script>", None),
        ("je ne sais pas trop quoi vous dire", None),
    ],
)
def test_surname_cleaning(text, surname):
    assert clean_surname(text) == surname


@pytest.mark.parametrize("text", ["N’Diaye", "Lœuillet", "de La Fontaine", "Le Gall", "Müller", "Nguyễn",
                                  "Martin-Dupont"])  # fmt: skip
async def test_the_booking_surname_question_accepts_french_names(text):
    result, said_ = await extract(
        "booking_surname", message(text=text), {"requested_slot": "booking_surname"}
    )
    assert result["booking_surname"] == clean_surname(text) and result[FAILURES_SLOT] == 0 and said_ == ""


def test_document_type_both_and_change():
    both = tracker(
        message(text="cni et passeport", entities=[("document_type", "cni"), ("document_type", "passeport")])
    )
    assert reading.document_type_in(both, requested=False) == "les_deux"
    assert reading.document_type_in(tracker(message(text="les deux")), requested=True) == "les_deux"
    assert reading.document_type_in(tracker(message(text="les deux")), requested=False) is None


def test_pick_offered_by_rank_or_time():
    offered = ["villebrune-mairie@2030-01-03T09:00", "villebrune-mairie@2030-01-03T10:15"]
    assert reading.pick_offered("le premier", offered) == offered[0]
    assert reading.pick_offered("10h15", offered) == offered[1]
    assert reading.pick_offered("18h", offered) is None


def test_when_round_trip():
    when = When(date(2030, 1, 3), date(2030, 1, 9), None, None, None, False)
    assert reading.when_from_dict(reading.when_to_dict(when)) == when


async def test_change_of_mind_resets_the_chosen_slot():
    slots = {
        "document_type": "cni",
        "booking_slot": "villebrune-mairie@2030-01-03T09:00",
        "requested_slot": "x",
    }
    result, text = await extract(
        "document_type",
        message(text="finalement un passeport", entities=[("document_type", "passeport")]),
        slots,
    )
    assert result["document_type"] == "passeport" and result["booking_slot"] is None
    assert "C'est noté : passeport" in text


DOMAIN = {
    "forms": {
        "booking_form": {
            "required_slots": ["document_type", "person_count", "booking_surname", "booking_confirmed"]
        },
        "cancel_form": {"required_slots": ["appointment_ref", "appointment_surname", "manage_confirmed"]},
    },
    "slots": {},
}


async def validate(latest, slots, form=None, sender="citizen-1", loop="booking_form"):
    """The whole validation action, framework included: (slot values set, what was said)."""
    dispatcher = CollectingDispatcher()
    form = form or book.ValidateBookingForm()
    # As Rasa calls it: a temporary tracker whose latest action is the form itself.
    events = await form.run(dispatcher, tracker(latest, slots, sender=sender, loop=loop, action=loop), DOMAIN)
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, said(dispatcher.messages)


async def test_ways_out_and_questions_are_the_framework_s():
    slots = {"requested_slot": "booking_surname", "document_type": "cni", "person_count": 1}
    for intent, outcome in (
        ("stop", "stopped"),
        ("human_handoff", "handoff"),
        ("cancel_appointment", "stopped"),
    ):
        result, _ = await validate(message(intent=intent, text="euh, laissez tomber"), slots)
        assert result[OUTCOME_SLOT] == outcome and result["requested_slot"] is None
    result, text = await validate(message(intent="bot_challenge", text="vous êtes un robot ?"), slots)
    assert result == {FAILURES_SLOT: 0, "requested_slot": "booking_surname"} and text  # answered, asked again


async def test_a_surname_read_as_a_question_is_the_answer():
    latest = message(intent="help", text="N’Diaye")
    latest["intent"]["confidence"] = 0.58
    result, _ = await validate(
        latest, {"requested_slot": "booking_surname", "document_type": "cni", "person_count": 1}
    )
    assert result["booking_surname"] == "N'DIAYE"


async def test_no_pre_application_read_as_a_question_is_the_answer(db):
    latest = message(intent="id_documents_info", text="je n'ai pas de pré-demande")
    slots = {"requested_slot": "application_ids", "person_count": 1, "document_type": "cni"}
    domain = {
        "forms": {"booking_form": {"required_slots": ["document_type", "person_count", "application_ids"]}}
    }
    dispatcher = CollectingDispatcher()
    events = await book.ValidateBookingForm().run(
        dispatcher, tracker(latest, slots, action="booking_form"), domain
    )
    assert {e["name"]: e["value"] for e in events}["application_ids"] == "papier"


async def test_third_failure_ends_the_form_with_the_way_out():
    slots = {"requested_slot": "booking_surname", FAILURES_SLOT: 1}
    result, text = await extract("booking_surname", message(text="123"), slots)
    assert result["booking_surname"] is None and result[FAILURES_SLOT] == 2 and OUTCOME_SLOT not in result
    assert "nom de famille" in text
    slots[FAILURES_SLOT] = 2
    result, _ = await extract("booking_surname", message(text="123"), slots)
    assert result[OUTCOME_SLOT] == "failed"


async def test_the_way_out_after_three_failures_gives_the_phone_and_keeps_the_answers():
    done = book.ActionBookingDone()
    dispatcher = CollectingDispatcher()
    slots = {OUTCOME_SLOT: "failed", FAILURES_SLOT: 3, "document_type": "passeport", "person_count": 2}
    events = await done.run(dispatcher, tracker(message(text="123"), slots, loop=None), {})
    assert "01 99 00 10 10" in said(dispatcher.messages)
    titles = {b["title"]: b["payload"] for b in buttons_of(dispatcher.messages)}
    assert titles == {"Reprendre": "/book_appointment", "Parler à un agent": "/human_handoff"}
    forgotten = {e["name"] for e in events}
    assert "document_type" not in forgotten and OUTCOME_SLOT in forgotten


@pytest.mark.parametrize("text", ["peut-être", "123", "je sais pas", "mardi"])
async def test_anything_but_yes_or_no_at_the_confirmation_is_a_failure(text):
    slots = {"requested_slot": "booking_confirmed", FAILURES_SLOT: 2}
    result, said_ = await extract("booking_confirmed", message(intent="inform", text=text), slots)
    assert result["booking_confirmed"] is None and result[OUTCOME_SLOT] == "failed"
    assert "« oui »" in said_


@pytest.mark.parametrize(
    "text, fragment",
    [("hier", "déjà passé"), ("le 31 février", "n'existe pas"), ("bof", "Je n'ai pas compris la date")],
)
async def test_bad_dates_are_explained(text, fragment):
    result, text_ = await extract("booking_when", message(text=text), {"requested_slot": "booking_when"})
    assert result["booking_when"] is None and fragment in text_


async def test_paper_form_when_no_pre_application(db):
    slots = {"requested_slot": "application_ids", "person_count": 1}
    result, text = await extract("application_ids", message(intent="deny", text="non j'en ai pas"), slots)
    assert result["application_ids"] == "papier" and "formulaire papier" in text


async def test_ids_are_collected_one_person_at_a_time(db):
    slots = {"requested_slot": "application_ids", "person_count": 2}
    result, _ = await extract("application_ids", message(text="4F7K2M9QXZ"), slots)
    assert result["application_ids"] is None and result["application_ids_partial"] == ["4F7K2M9QXZ"]
    slots["application_ids_partial"] = ["4F7K2M9QXZ"]
    result, _ = await extract("application_ids", message(text="7HC3P4R8WA"), slots)
    assert result["application_ids"] == ["4F7K2M9QXZ", "7HC3P4R8WA"]


def at_confirmation(slot: engine.Slot) -> dict:
    """The booking form's slots when the summary of a paper-form CNI booking was shown."""
    return {
        "requested_slot": "booking_confirmed",
        "document_type": "cni",
        "person_count": 1,
        "application_ids": "papier",
        "booking_slot": slot.key,
        "booking_surname": "PETIT",
    }


async def test_confirmation_books_and_a_taken_slot_offers_others(db):
    slot = engine.first_available(["villebrune-coteaux"], 15, after=engine.local_now().date())
    slots = at_confirmation(slot)
    result, _ = await extract("booking_confirmed", message(intent="affirm", text="oui"), slots)
    assert result["booking_confirmed"] is True and result["booking_reference"].startswith("RDV-")
    # The coteaux site has one station: a second citizen confirming the same slot is told so.
    result, text = await extract("booking_confirmed", message(intent="affirm", text="oui"), slots)
    assert result["booking_slot"] is None and "vient d'être pris" in text


async def test_second_factor_is_required_from_another_sender(db):
    slot = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(slot, reason="CNI", people=1, surname="Lefèvre", channel="rest", sender_id="owner")
    form = manage.ValidateCancelForm()
    slots = {"requested_slot": "appointment_surname", "appointment_ref": appt.reference}
    result, text = await extract(
        "appointment_surname", message(text="Durand"), slots, form, sender="stranger"
    )
    assert result["appointment_surname"] is None and result["appointment_ref"] is None
    assert "verify_attempts" not in result and "ne correspondent à aucun rendez-vous" in text
    result, _ = await extract("appointment_surname", message(text="lefevre"), slots, form, sender="stranger")
    assert result["appointment_surname"] == "LEFEVRE"
    # Two more wrong answers (3 in all on this reference, whoever gave them) end the attempt.
    result, _ = await extract("appointment_surname", message(text="Xavier"), slots, form, sender="s")
    assert result["appointment_surname"] is None
    result, text = await extract("appointment_surname", message(text="Xavier"), slots, form, sender="s")
    assert result == {OUTCOME_SLOT: "blocked"} and "01 99 00 10 10" in text


async def manage_tries(reference: str, surnames, senders) -> list:
    """What each try of the cancel form's surname question gives: (slots set, text said)."""
    form = manage.ValidateCancelForm()
    answers = []
    for surname, sender in zip(surnames, senders, strict=True):
        # A fresh tracker every time: a new conversation, or the same one after « /restart ».
        slots = {"requested_slot": "appointment_surname", "appointment_ref": reference}
        answers.append(
            await extract("appointment_surname", message(text=surname), slots, form, sender=sender)
        )
    return answers


async def test_a_script_gets_no_new_tries_from_new_sender_ids_or_a_restart(db):
    slot = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(slot, reason="CNI", people=1, surname="Lefèvre", channel="rest", sender_id="owner")
    guesses = await manage_tries(appt.reference, ["Martin", "Bernard", "Thomas"], ["s1", "s2", "s3"])
    assert guesses[-1][0] == {OUTCOME_SLOT: "blocked"}
    # The right surname now, from a new sender id, and again after a restart: still refused.
    for sender in ("s4", "s4"):
        ((result, text),) = await manage_tries(appt.reference, ["Lefèvre"], [sender])
        assert result == {OUTCOME_SLOT: "blocked"} and "Appelez le service état civil" in text
    # One conversation cannot try many references either.
    for ref in ("RDV-AAAAAA", "RDV-BBBBBB", "RDV-CCCCCC"):
        await manage_tries(ref, ["Martin"], ["one"])
    ((result, _),) = await manage_tries(appt.reference, ["Lefèvre"], ["one"])
    assert result == {OUTCOME_SLOT: "blocked"}
    assert engine.get_appointment(appt.reference, sender=("rest", "owner")).status == "booked"


async def test_unknown_and_known_references_get_the_same_answers(db):
    slot = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(slot, reason="CNI", people=1, surname="Lefèvre", channel="rest", sender_id="owner")
    names, senders = ["Martin"] * 4, ["a", "b", "c", "d"]
    known = await manage_tries(appt.reference, names, senders)
    unknown = await manage_tries("RDV-ZZZZZZ", names, ["e", "f", "g", "h"])
    assert known == unknown
    assert (
        known[0][1] == "Cette référence et ce nom ne correspondent à aucun rendez-vous à venir. Vérifiez-les."
    )


async def test_a_success_gives_no_try_back(db):
    slot = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(slot, reason="CNI", people=1, surname="Lefèvre", channel="rest", sender_id="owner")
    answers = await manage_tries(appt.reference, ["Martin", "Martin", "Lefèvre", "Martin"], ["x"] * 4)
    assert answers[2][0]["appointment_surname"] == "LEFÈVRE"
    assert answers[3][0] == {OUTCOME_SLOT: "blocked"}


# ---- a pre-application number never reveals someone else's appointment ------------------------


async def test_a_pre_application_number_does_not_reveal_someone_else_s_appointment(db):
    first = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(first, reason="CNI", people=1, surname="Martin", channel="rest", sender_id="other",
                       application_ids=["4F7K2M9QXZ"])  # fmt: skip
    slots = {"requested_slot": "application_ids", "person_count": 1}
    result, text = await extract("application_ids", message(text="4F7K2M9QXZ"), slots)
    assert result["application_ids"] is None and "a déjà un rendez-vous" in text
    assert appt.reference not in text and str(appt.start.day) not in text.replace("4F7K2M9QXZ", "")
    # Its booker, in the conversation that booked it, is told which appointment it is.
    result, text = await extract("application_ids", message(text="4F7K2M9QXZ"), slots, sender="other")
    assert appt.reference in text


async def test_pre_application_lookups_share_the_server_side_limit(db):
    today = engine.local_now().date()
    taken = ["4F7K2M9QX1", "4F7K2M9QX2", "4F7K2M9QX3"]
    for n, application_id in enumerate(taken):
        slot = engine.first_available(["villebrune-mairie"], 15, after=today)
        engine.book(slot, reason="CNI", people=1, surname=f"Nom{n}", channel="rest", sender_id=f"o{n}",
                    application_ids=[application_id])  # fmt: skip
    slots = {"requested_slot": "application_ids", "person_count": 1}
    for application_id in taken:
        result, text = await extract("application_ids", message(text=application_id), slots, sender="probe")
    assert result == {OUTCOME_SLOT: "blocked"} and "Appelez le service état civil" in text
    # Even a free number is no longer looked up in that conversation.
    result, text = await extract("application_ids", message(text="7HC3P4R8WA"), slots, sender="probe")
    assert result == {OUTCOME_SLOT: "blocked"}


async def test_a_pre_application_number_is_no_way_to_find_an_appointment_to_manage(db):
    first = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    engine.book(first, reason="CNI", people=1, surname="Martin", channel="rest", sender_id="other",
                application_ids=["4F7K2M9QXZ"])  # fmt: skip
    slots = {"requested_slot": "appointment_ref"}
    latest = message(
        text="4F7K2M9QXZ", entities=[("reference", "4F7K2M9QXZ"), ("application_id", "4F7K2M9QXZ")]
    )
    result, text = await extract("appointment_ref", latest, slots, manage.ValidateCancelForm(), sender="x")
    assert result["appointment_ref"] is None and "la forme RDV-" in text  # asked for a booking reference


async def test_a_ligature_and_a_phone_apostrophe_match_the_booking_from_another_device(db):
    first = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(first, reason="CNI", people=1, surname=clean_surname("Lœuillet"), channel="rest",
                       sender_id="owner")  # fmt: skip
    form = manage.ValidateCancelForm()
    slots = {"requested_slot": "appointment_surname", "appointment_ref": appt.reference}
    result, _ = await extract("appointment_surname", message(text="Loeuillet"), slots, form, sender="other")
    assert result["appointment_surname"] == "LOEUILLET"
    second = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(second, reason="CNI", people=1, surname="N'Diaye", channel="rest", sender_id="owner")
    slots["appointment_ref"] = appt.reference
    result, _ = await extract(
        "appointment_surname", message(text="c'est N’Diaye"), slots, form, sender="other"
    )
    assert result["appointment_surname"] == "N'DIAYE"


async def test_anything_but_yes_or_no_when_cancelling_is_a_failure():
    slots = {"requested_slot": "manage_confirmed"}
    result, text = await extract("manage_confirmed", message(text="bof"), slots, manage.ValidateCancelForm())
    assert result["manage_confirmed"] is None and result[FAILURES_SLOT] == 1 and "« oui »" in text
    result, _ = await extract(
        "manage_confirmed", message("affirm", "oui"), slots, manage.ValidateCancelForm()
    )
    assert result["manage_confirmed"] is True


def test_own_appointment_needs_no_second_factor(db):
    slot = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    appt = engine.book(slot, reason="CNI", people=1, surname="Lefèvre", channel="rest", sender_id="owner")
    mine = tracker(message(text="annuler"), sender="owner", loop="cancel_form")
    assert manage.ValidateCancelForm._owns(mine, appt.reference)
    assert not manage.ValidateCancelForm._owns(tracker(message(), sender="other"), appt.reference)


def test_engine_now_is_paris_time():
    assert isinstance(clock.now(), datetime) and clock.now().tzinfo is not None


def test_every_custom_action_of_the_domain_is_served():
    from rasa.shared.core.domain import Domain
    from rasa_sdk.executor import ActionExecutor

    from tests.conftest import ROOT

    domain = Domain.load(str(ROOT / "domain")).as_dict()
    executor = ActionExecutor()
    executor.register_package("actions")
    custom = [a for a in domain["actions"] if not a.startswith("utter_")]
    assert sorted(set(custom) - set(executor.actions)) == []
    for form in domain["forms"]:
        assert f"validate_{form}" in executor.actions


async def test_a_week_without_any_slot_says_so_and_offers_the_nearest(db):
    from booking.models import Closure
    from core.db import session_scope

    today = engine.local_now().date()
    monday = today + timedelta(days=7 - today.weekday())
    with session_scope(write=True) as session:
        for offset in range(7):
            session.add(Closure(site_id=None, day=monday + timedelta(days=offset), reason="travaux"))
    when = When(monday, monday + timedelta(days=6), None, None, None, False)
    slots_ = {"document_type": "cni", "person_count": 1, "booking_when": reading.when_to_dict(when)}
    dispatcher = CollectingDispatcher()
    events = await slots.ActionAskBookingSlot().run(dispatcher, tracker(message(), slots_), {})
    text = said(dispatcher.messages)
    assert text.startswith("Aucun créneau libre") and "les plus proches" in text
    offered = events[0]["value"]
    days = [datetime.fromisoformat(key.split("@")[1]).date() for key in offered]
    assert days and all(day > monday + timedelta(days=6) for day in days)
    assert not dispatcher.messages[0].get("buttons")  # the buttons go with the question
    titles = [b["title"] for b in buttons_of(dispatcher.messages)]
    assert "Un autre jour" in titles


async def test_database_down_gets_a_french_answer_not_a_crash(db, monkeypatch):
    from sqlalchemy.exc import OperationalError, TimeoutError

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(engine, "appointments_of", down)
    dispatcher = CollectingDispatcher()
    assert await manage.ActionListAppointments().run(dispatcher, tracker(message(), loop=None), {}) == []
    assert "momentanément indisponible" in said(dispatcher.messages)

    def pool_exhausted(*args, **kwargs):
        raise TimeoutError("QueuePool limit reached")

    monkeypatch.setattr(engine, "book", pool_exhausted)
    slot = engine.first_available(["villebrune-mairie"], 15, after=engine.local_now().date())
    slots = at_confirmation(slot)
    domain = {"forms": {"booking_form": {"required_slots": ["booking_confirmed"]}}, "slots": {}}
    dispatcher = CollectingDispatcher()
    events = await book.ValidateBookingForm().run(
        dispatcher, tracker(message("affirm", "oui"), slots), domain
    )
    assert {e["name"]: e["value"] for e in events} == {OUTCOME_SLOT: "blocked", "requested_slot": None}
    assert "Rien n'a été enregistré" in said(dispatcher.messages)


@pytest.mark.parametrize(
    "intent, confidence, text, is_name",
    [
        ("help", 0.58, "Marchand", True),
        ("opening_hours", 0.99, "horaires mairie", False),
        ("stop", 0.6, "Stop", False),
        ("help", 0.5, "je ne sais pas quoi dire", False),
    ],
)
def test_a_surname_mistaken_for_a_question_is_still_the_answer(intent, confidence, text, is_name):
    latest = message(intent, text)
    latest["intent"]["confidence"] = confidence
    assert is_name_answer(tracker(latest)) is is_name


# ---- limits of active appointments (booking.yml « limits ») -----------------------------------


async def test_a_citizen_over_the_limit_is_told_kindly_with_the_phone(db):
    today = engine.local_now().date()
    for n in range(2):  # the demo allows 2 active appointments per conversation
        slot = engine.first_available(["villebrune-mairie"], 15, after=today)
        engine.book(slot, reason="CNI", people=1, surname=f"Nom{n}", channel="rest", sender_id="citizen-1")
    slot = engine.first_available(["villebrune-mairie"], 15, after=today)
    slots = at_confirmation(slot)
    dispatcher = CollectingDispatcher()
    form = book.ValidateBookingForm()
    result = await form.extract_booking_confirmed(dispatcher, tracker(message("affirm", "oui"), slots), {})
    assert result == {OUTCOME_SLOT: "blocked"}
    assert [m["response"] for m in dispatcher.messages] == ["utter_too_many_appointments"]
    text = said(dispatcher.messages)
    assert "nombre maximum de rendez-vous" in text and "01 99 00 10 10" in text and "PETIT" not in text
    assert len(engine.appointments_of("rest", "citizen-1")) == 2
    # Another citizen still books that slot.
    result, _ = await extract(
        "booking_confirmed", message("affirm", "oui"), slots, form=form, sender="citizen-2"
    )
    assert result["booking_reference"].startswith("RDV-")


async def test_a_second_pickup_at_the_same_address_is_refused_with_the_phone(db):
    from actions.waste_chat import bulky

    offered = bulky.bulky_slots()
    street, number = "rue des Lilas", 12
    address = bulky.address_label(street, number)
    engine.book(offered[0], reason="ENCOMBRANTS", people=1, surname="Martin", channel="rest",
                sender_id="neighbour", address=address, config=bulky.BULKY)  # fmt: skip
    slots = {
        "requested_slot": "bulky_confirmed",
        "bulky_slot": offered[1].key,
        "bulky_street": street,
        "bulky_number": number,
        "bulky_surname": "DURAND",
    }
    dispatcher = CollectingDispatcher()
    result = await bulky.ValidateBulkyForm().extract_bulky_confirmed(
        dispatcher, tracker(message("affirm", "oui"), slots, loop="bulky_form"), {}
    )
    assert result == {OUTCOME_SLOT: "blocked"}
    assert [m["response"] for m in dispatcher.messages] == ["utter_bulky_too_many"]
    assert "déjà prévu" in said(dispatcher.messages) and bulky.BULKY.sites[0].phone in said(
        dispatcher.messages
    )
