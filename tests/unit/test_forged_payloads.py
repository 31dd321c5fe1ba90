"""Button payloads are typed by anyone (« /inform{"choice": "..."} »): every value taken from
one is checked against what was offered (the *_offered slots), its format and length, and
the form's service. A forged value gets the form's usual « je n'ai pas compris » failure
(FormValidation.fail): never an exception, never another service's slot."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, List, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import welfare
from actions.appointments import book, manage
from actions.common import offered_choice
from actions.forms import FAILURES_SLOT
from actions.waste_chat import bulky, recycling

IDENTITY = "villebrune-mairie@2030-01-08T09:00"
IDENTITY_OTHER = "villebrune-coteaux@2030-01-08T09:15"
BULKY = "encombrants-villebrune@2030-01-08T08:00"
HUGE = "villebrune-mairie@" + "9" * 20_000

FORGED_VALUES = [
    pytest.param("villebrune-mairie@2030-01-09T11:00", id="made-up key"),
    pytest.param(BULKY, id="another service's key"),
    pytest.param(HUGE, id="huge string"),
    pytest.param(12, id="a number"),
    pytest.param({"site": "villebrune-mairie"}, id="an object"),
    pytest.param(["villebrune-mairie@2030-01-08T09:00"], id="a list"),
    pytest.param("villebrune-mairie@demain", id="not a date"),
    pytest.param("@", id="no site"),
]


def short(value: Any) -> str:
    """A test id: the value's first characters and its length."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:16]}...({len(text)} characters)"


def payload_message(entities: List[Tuple[str, Any]], intent: str = "inform") -> Dict[str, Any]:
    return {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": name, "value": value} for name, value in entities],
        "text": "/inform",  # a button: the text is the payload, no words
    }


def tracker(latest: Dict[str, Any], slots: Dict[str, Any], loop: str) -> Tracker:
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": latest["text"], "parse_data": latest, "input_channel": "rest"},
    ]
    return Tracker("citizen-1", dict(slots), latest, events, False, None, {"name": loop}, "action_listen")


async def extract(form, slot: str, latest, slots, loop: str):
    dispatcher = CollectingDispatcher()
    result = await getattr(form, f"extract_{slot}")(dispatcher, tracker(latest, slots, loop), {})
    return result, [m.get("response") for m in dispatcher.messages]


def is_failure(result: Dict[str, Any], slot: str) -> bool:
    return result.get(slot) is None and result.get(FAILURES_SLOT) == 1


# ---- the slot chosen when booking an identity appointment --------------------------------------


@pytest.mark.parametrize("value", FORGED_VALUES)
async def test_a_forged_slot_key_is_not_booked(value):
    slots = {"requested_slot": "booking_slot", "booking_offered": [IDENTITY, IDENTITY_OTHER]}
    latest = payload_message([("choice", value)])
    result, said = await extract(book.ValidateBookingForm(), "booking_slot", latest, slots, "booking_form")
    assert is_failure(result, "booking_slot")
    assert said == ["utter_slot_not_understood"]


async def test_a_bulky_waste_key_is_refused_by_the_booking_form_even_if_listed():
    """The service check does not rest on the offered list alone."""
    slots = {"requested_slot": "booking_slot", "booking_offered": [BULKY]}
    result, said = await extract(
        book.ValidateBookingForm(),
        "booking_slot",
        payload_message([("choice", BULKY)]),
        slots,
        "booking_form",
    )
    assert is_failure(result, "booking_slot") and said == ["utter_slot_not_understood"]


async def test_an_offered_slot_key_is_taken():
    slots = {"requested_slot": "booking_slot", "booking_offered": [IDENTITY, IDENTITY_OTHER]}
    latest = payload_message([("choice", IDENTITY_OTHER)])
    result, said = await extract(book.ValidateBookingForm(), "booking_slot", latest, slots, "booking_form")
    assert result["booking_slot"] == IDENTITY_OTHER and said == []


async def test_a_forged_offered_list_is_no_list():
    slots = {"requested_slot": "booking_slot", "booking_offered": IDENTITY}  # a string, not a list
    latest = payload_message([("choice", IDENTITY)])
    result, said = await extract(book.ValidateBookingForm(), "booking_slot", latest, slots, "booking_form")
    assert is_failure(result, "booking_slot") and said == ["utter_slot_not_understood"]


# ---- moving an appointment stays within its service ---------------------------------------------


@pytest.fixture
def managed(monkeypatch):
    def set_reason(reason: str) -> None:
        monkeypatch.setattr(manage, "managed_appointment", lambda tracker: SimpleNamespace(reason=reason))

    return set_reason


async def move(value: Any, offered: List[str]):
    """The slot answer of the move form, given a button's value."""
    slots = {"requested_slot": "booking_slot", "booking_offered": offered}
    form = manage.ValidateRescheduleForm()
    return await extract(form, "booking_slot", payload_message([("choice", value)]), slots, "reschedule_form")


@pytest.mark.parametrize(
    "reason, own, other",
    [
        pytest.param("CNI", IDENTITY, BULKY, id="identity appointment, bulky-waste key"),
        pytest.param("ENCOMBRANTS", BULKY, IDENTITY, id="pick-up, identity key"),
    ],
)
async def test_a_move_stays_within_the_appointment_s_service(managed, reason, own, other):
    managed(reason)
    result, said = await move(other, [IDENTITY, BULKY])
    assert is_failure(result, "booking_slot") and said == ["utter_slot_not_understood"]
    result, _ = await move(own, [IDENTITY, BULKY])
    assert result["booking_slot"] == own


@pytest.mark.parametrize("value", FORGED_VALUES)
async def test_a_forged_key_does_not_move_an_appointment(managed, value):
    managed("CNI")
    result, said = await move(value, [IDENTITY])
    assert is_failure(result, "booking_slot") and said == ["utter_slot_not_understood"]


# ---- the bulky-waste pick-up ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(IDENTITY, id="an identity key"),
        pytest.param("encombrants-villebrune@2030-01-15T08:00", id="a morning not offered"),
        pytest.param("encombrants-villebrune@" + "1" * 20_000, id="huge string"),
        pytest.param(7, id="a number"),
        pytest.param(["encombrants-villebrune@2030-01-08T08:00"], id="a list"),
    ],
)
async def test_a_forged_pick_up_morning_is_refused(value):
    slots = {"requested_slot": "bulky_slot", "bulky_offered": [BULKY, IDENTITY]}
    result, said = await extract(
        bulky.ValidateBulkyForm(), "bulky_slot", payload_message([("choice", value)]), slots, "bulky_form"
    )
    assert is_failure(result, "bulky_slot") and said == ["utter_bulky_slot_invalid"]


async def test_an_offered_pick_up_morning_is_taken():
    slots = {"requested_slot": "bulky_slot", "bulky_offered": [BULKY]}
    result, said = await extract(
        bulky.ValidateBulkyForm(), "bulky_slot", payload_message([("choice", BULKY)]), slots, "bulky_form"
    )
    assert result["bulky_slot"] == BULKY and said == []


async def test_a_forged_street_is_not_an_address():
    form = bulky.ValidateBulkyForm()
    for value in ("street:Rue Inventée", "street:" + "Avenue Jean Jaurès " * 2000, "street:"):
        slots = {"requested_slot": "bulky_street"}
        result, said = await extract(
            form, "bulky_street", payload_message([("choice", value)]), slots, "bulky_form"
        )
        assert is_failure(result, "bulky_street") and said == ["utter_waste_address_unknown"]


# ---- the other button values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["encombrants-villebrune", "x" * 20_000, 3, {"id": "villebrune-mairie"}], ids=short
)
async def test_a_forged_site_is_refused(value):
    slots = {"requested_slot": "booking_site"}
    result, said = await extract(
        book.ValidateBookingForm(),
        "booking_site",
        payload_message([("choice", value)]),
        slots,
        "booking_form",
    )
    assert is_failure(result, "booking_site") and said == ["utter_site_not_understood"]


@pytest.mark.parametrize("value", ["9" * 5000, "0", "-1", "²", "trois mille", 2.5], ids=short)
async def test_a_forged_person_count_is_no_answer_and_no_crash(value):
    slots = {"requested_slot": "person_count"}
    result, said = await extract(
        book.ValidateBookingForm(),
        "person_count",
        payload_message([("person_count", value)]),
        slots,
        "booking_form",
    )
    assert result.get("person_count") is None and result.get(FAILURES_SLOT) == 1
    assert said in (["utter_person_count_not_understood"], ["utter_person_count_too_many"])


@pytest.mark.parametrize("value", ["passeport" * 5000, "permis", 1, ["cni", ["x"]]], ids=short)
async def test_a_forged_document_type_is_no_answer(value):
    slots = {"requested_slot": "document_type"}
    result, said = await extract(
        book.ValidateBookingForm(),
        "document_type",
        payload_message([("document_type", value)]),
        slots,
        "booking_form",
    )
    assert is_failure(result, "document_type") and said == ["utter_document_type_not_understood"]


@pytest.mark.parametrize("value", ["RDV-" + "A" * 20_000, "RDV-ABC", 123456, "DEM-2026-000001"], ids=short)
async def test_a_forged_booking_reference_is_no_reference(value):
    slots = {"requested_slot": "appointment_ref"}
    result, said = await extract(
        manage.ValidateCancelForm(),
        "appointment_ref",
        payload_message([("reference", value)]),
        slots,
        "cancel_form",
    )
    assert result == {}  # a button without words: the question is asked again, nothing kept
    assert said == []


@pytest.mark.parametrize("value", ["admin", "self" * 5000, 1, ["self"]], ids=short)
async def test_a_forged_welfare_choice_is_no_answer(value):
    slots = {"requested_slot": "welfare_for_whom"}
    result, said = await extract(
        welfare.ValidateWelfareForm(),
        "welfare_for_whom",
        payload_message([("choice", value)]),
        slots,
        "welfare_form",
    )
    assert is_failure(result, "welfare_for_whom") and said == ["utter_welfare_choose"]


async def test_a_forged_recycling_choice_gets_the_general_answer():
    dispatcher = CollectingDispatcher()
    latest = payload_message([("choice", "x" * 20_000)], intent="recycling_center")
    await recycling.ActionRecyclingCenter().run(dispatcher, tracker(latest, {}, ""), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_recycling_center"]


def test_offered_choice():
    assert offered_choice(IDENTITY, [IDENTITY]) == IDENTITY
    assert offered_choice(IDENTITY, IDENTITY) is None  # a string is no list of offers
    assert offered_choice(HUGE, [HUGE]) is None
    assert offered_choice(None, [None]) is None
    assert offered_choice(["x"], [["x"]]) is None
