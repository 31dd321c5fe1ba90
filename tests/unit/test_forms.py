"""The form framework (actions/forms.py) on a small form of its own: ways out, questions
in the middle, switches, failures counted per question, and the end of a form."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from actions.common import clean_surname, read_yes_no

DOMAIN = {
    "forms": {"toy_form": {"required_slots": ["toy_colour", "toy_name"]}},
    "slots": {},
    "responses": {},
}


class ValidateToyForm(forms.FormValidation):
    form = "toy_form"
    topic = "appointments"
    restart_intent = "toy"
    name_slots = ("toy_name",)

    async def extract_toy_colour(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "toy_colour":
            return {}
        text = tracker.latest_message.get("text") or ""
        if text in ("rouge", "bleu"):
            return self.filled(toy_colour=text)
        return self.fail(dispatcher, tracker, "toy_colour", "utter_toy_colour_unknown")

    async def extract_toy_name(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "toy_name":
            return {}
        name = clean_surname(tracker.latest_message.get("text") or "")
        if name is None:
            return self.fail(dispatcher, tracker, "toy_name", "utter_toy_name_unknown")
        return self.filled(toy_name=name)


class ActionToyDone(forms.FormDone):
    form = "toy_form"
    topic = "appointments"
    restart_intent = "toy"
    slots = ("toy_colour", "toy_name")

    async def completed(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_toy_done")
        return self.forget()


def message(text, intent="inform", confidence=0.95):
    return {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}


def tracker(latest, slots=None, requested="toy_colour", active=True):
    slots = {"requested_slot": requested, **(slots or {})}
    return Tracker(
        sender_id="citizen",
        slots=slots,
        latest_message=latest,
        events=[{"event": "user", "text": latest["text"], "parse_data": latest, "input_channel": "rest"}],
        paused=False,
        followup_action=None,
        active_loop={"name": "toy_form"} if active else {},
        latest_action_name="action_listen",
    )


async def validate(latest, slots=None, requested="toy_colour"):
    dispatcher = CollectingDispatcher()
    events = await ValidateToyForm().run(dispatcher, tracker(latest, slots, requested), DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


async def test_an_answer_fills_the_slot_and_resets_the_failures():
    slots, said = await validate(message("rouge"), {"form_failures": 2})
    assert slots["toy_colour"] == "rouge"
    assert slots["form_failures"] == 0
    assert slots.get("requested_slot", "toy_name") == "toy_name"  # Rasa asks the next question
    assert said == []


@pytest.mark.parametrize("intent, outcome", [("stop", "stopped"), ("human_handoff", "handoff")])
async def test_a_way_out_ends_the_form_with_its_outcome(intent, outcome):
    slots, said = await validate(message("stop", intent))
    assert slots == {"form_outcome": outcome, "requested_slot": None}
    assert said == []


async def test_a_question_is_answered_then_the_same_question_comes_back_without_a_failure():
    slots, said = await validate(message("vous êtes un robot ?", "bot_challenge"), {"form_failures": 1})
    assert [m["response"] for m in said] == ["utter_iamabot"]
    assert slots == {"form_failures": 1, "requested_slot": "toy_colour"}


async def test_a_short_name_read_as_a_question_is_still_the_name():
    slots, said = await validate(message("Marchand", "help", confidence=0.58), requested="toy_name")
    assert slots["toy_name"] == "MARCHAND"
    assert said == []


async def test_the_third_failure_ends_the_form_never_a_fourth_question():
    failures = 0
    for attempt in range(1, 4):
        slots, said = await validate(message("vert"), {"form_failures": failures})
        assert [m["response"] for m in said] == ["utter_toy_colour_unknown"]
        failures = slots["form_failures"]
        assert failures == attempt
    assert slots["form_outcome"] == "failed"
    assert slots["requested_slot"] is None


async def test_another_flow_asked_with_confidence_ends_the_form_silently():
    slots, said = await validate(message("je veux les jours de collecte", "waste_collection_day", 0.97))
    assert slots["form_outcome"] == "switched"
    assert slots["form_switch"] == "waste_collection_day"
    assert slots["requested_slot"] is None
    assert said == []  # no « je n'ai pas compris » about the old question


async def test_an_unsure_other_intent_is_a_failure_not_a_switch():
    slots, said = await validate(message("jours de collecte ?", "waste_collection_day", 0.5))
    assert "form_outcome" not in slots
    assert slots["form_failures"] == 1


async def done(outcome, slots=None):
    dispatcher = CollectingDispatcher()
    latest = message("je veux les jours de collecte", "waste_collection_day")
    values = {"form_outcome": outcome, "toy_colour": "rouge", **(slots or {})}
    events = await ActionToyDone().run(dispatcher, tracker(latest, values, None, active=False), DOMAIN)
    return events, dispatcher.messages


async def test_done_after_three_failures_gives_a_way_out_and_keeps_the_answers():
    events, said = await done("failed")
    assert said[0]["response"] == "utter_form_failed"
    assert said[0]["phone"]
    assert [b["payload"] for b in said[0]["buttons"]] == ["/toy", "/human_handoff"]
    reset = {e["name"] for e in events if e["event"] == "slot"}
    assert "toy_colour" not in reset and "form_outcome" in reset


async def test_done_after_a_switch_replays_the_message_after_a_listen():
    events, said = await done("switched")
    assert said[0]["response"] == "utter_form_switched"
    assert [e["event"] for e in events[-2:]] == ["action", "user"]
    assert events[-2]["name"] == "action_listen"
    assert events[-1]["parse_data"]["intent"]["name"] == "waste_collection_day"


async def test_done_when_complete_forgets_every_answer():
    events, said = await done(None)
    assert said[0]["response"] == "utter_toy_done"
    reset = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert reset["toy_colour"] is None and reset["form_outcome"] is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("N’Diaye", "N'DIAYE"),
        ("c'est au nom de Mme Lœuillet", "LŒUILLET"),
        ("de La Fontaine", "DE LA FONTAINE"),
        ("Le Gall", "LE GALL"),
        ("Müller", "MÜLLER"),
        ("Nguyễn", "NGUYỄN"),
        ("Martin-Dubois", "MARTIN-DUBOIS"),
        ("je ne sais pas trop quoi vous dire", None),
        ("12345", None),
        ("x" * 300, None),
    ],
)
def test_surnames_french_citizens_have(text, expected):
    assert clean_surname(text) == expected


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("oui", "inform", True),
        ("Ouais !", "inform", True),
        ("d’accord", "inform", True),
        ("non merci", "inform", False),
        ("", "affirm", True),
        ("c'est parfait pour moi", "affirm", True),
        ("peut-être demain", "inform", None),
        ("banane", "deny", None),
    ],
)
def test_yes_no(text, intent, expected):
    latest = message(text, intent, 0.95 if intent != "deny" else 0.4)
    assert read_yes_no(tracker(latest)) is expected
