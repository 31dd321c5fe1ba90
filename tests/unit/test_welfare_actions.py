"""The welfare and tracking forms on rasa-sdk trackers, with the demo content."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import tracking, welfare
from tests.unit.test_booking_actions import message, tracker
from tracking.connector import TrackingUnavailable

FIELDS = ["welfare_for_whom", "welfare_need", "welfare_age", "welfare_place"]


async def read(form, slot, latest, slots=None):
    dispatcher = CollectingDispatcher()
    result = await getattr(form, f"extract_{slot}")(
        dispatcher, tracker(latest, slots, loop="welfare_form"), {}
    )
    return result, " ".join(m.get("text") or "" for m in dispatcher.messages)


async def test_the_first_message_is_read_whole():
    latest = message("welfare_guidance", "ma mère ne peut plus vivre seule, elle a 82 ans")
    result, _ = await read(welfare.ValidateWelfareForm(), "welfare_for_whom", latest)
    assert result["welfare_for_whom"] == "parent" and result["welfare_need"] == "autonomy"
    assert result["welfare_age"] == 82


async def test_only_missing_questions_are_asked_one_at_a_time():
    form = welfare.ValidateWelfareForm()
    slots = {"welfare_for_whom": "parent", "welfare_need": "autonomy", "welfare_age": 82}
    assert await form.required_slots(FIELDS, None, tracker(message(), slots), {}) == ["welfare_place"]
    slots["welfare_place"] = "home"
    assert await form.required_slots(FIELDS, None, tracker(message(), slots), {}) == []


async def test_danger_brings_the_emergency_lines():
    latest = message("welfare_guidance", "mon mari me frappe, je ne sais plus quoi faire")
    _, said = await read(welfare.ValidateWelfareForm(), "welfare_for_whom", latest)
    assert "3919" in said


async def test_a_bad_age_is_asked_again():
    slots = {"requested_slot": "welfare_age"}
    result, said = await read(welfare.ValidateWelfareForm(), "welfare_age", message(text="vieux"), slots)
    assert result["welfare_age"] is None and "en chiffres" in said


async def test_the_answer_never_promises_and_keeps_nothing():
    slots = {
        "welfare_for_whom": "parent",
        "welfare_need": "autonomy",
        "welfare_age": 82,
        "welfare_place": "home",
    }
    dispatcher = CollectingDispatcher()
    events = await welfare.ActionWelfareAnswer().run(dispatcher, tracker(message(), slots, loop=None), {})
    text = " ".join(m["text"] for m in dispatcher.messages)
    assert "APA" in text and "pourrait" in text and "vous avez droit" not in text.lower()
    assert all(e["value"] is None for e in events)


async def extract_factor(form, reference, answer, slots=None):
    slots = {"requested_slot": "tracking_factor", "tracking_ref": reference, **(slots or {})}
    dispatcher = CollectingDispatcher()
    result = await form.extract_tracking_factor(dispatcher, tracker(message(text=answer), slots), {})
    return result, " ".join(m.get("text") or "" for m in dispatcher.messages)


async def test_tracking_needs_the_right_second_factor():
    form = tracking.ValidateTrackingForm()
    result, said = await extract_factor(form, "DEM-2026-004217", "Martin")
    assert result["tracking_ref"] is None and "essai 1 sur 3" in said
    unknown, said_unknown = await extract_factor(form, "DEM-2026-999999", "Martin")
    assert said_unknown == said  # an unknown number and a wrong name get the same answer
    result, _ = await extract_factor(form, "DEM-2026-004217", "LEFEVRE")
    assert result["tracking_done"] == "found" and result["tracking_result"]["reference"] == "DEM-2026-004217"


async def test_tracking_tries_are_limited_per_conversation():
    form = tracking.ValidateTrackingForm()
    result, said = await extract_factor(form, "SUB-2026-0042", "Moreau", {"tracking_tries": 3})
    assert result["tracking_done"] == "refused" and "Trop d'essais" in said


async def test_back_office_down_gets_a_clear_answer(monkeypatch):
    class Down:
        async def lookup(self, reference, second_factor):
            raise TrackingUnavailable("down")

    monkeypatch.setattr(tracking, "_CONNECTOR", Down())
    result, said = await extract_factor(tracking.ValidateTrackingForm(), "DEM-2026-004217", "Lefèvre")
    assert (
        result["tracking_done"] == "unavailable" and "momentanément indisponible" in said and "01 99" in said
    )


@pytest.mark.parametrize(
    "text, reference",
    [
        ("où en est ma demande DEM-2026-004217", "DEM-2026-004217"),
        ("dossier sub 2026 0042 svp", "SUB-2026-0042"),
        ("suivi 12-3456", "12-3456"),
        ("bonjour", None),
    ],
)
def test_reference_found_in_a_sentence(text, reference):
    assert tracking.reference_in(tracker(message(text=text))) == reference


async def test_a_call_for_help_gets_the_emergency_lines_even_when_not_understood():
    from actions import core

    dispatcher = CollectingDispatcher()
    latest = message("nlu_fallback", "j'ai envie de mourir")
    latest["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.5}]
    await core.ActionHandleFallback().run(dispatcher, tracker(latest, loop=None), {})
    assert "3114" in dispatcher.messages[0]["text"]
