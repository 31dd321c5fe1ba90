"""« Cette réponse vous a-t-elle aidé ? » (actions/satisfaction.py): asked after a completed
answer only, once per conversation; the rating recorded once and only when asked; the optional
comment, skipped, or replaced by another request."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import satisfaction
from tests.conftest import ROOT
from tests.unit.responses import buttons_of, responses, said

LINK = {"title": "Plus d'infos", "type": "web_url", "url": "https://www.service-public.fr/"}


@lru_cache(maxsize=1)
def domain() -> dict:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain")).as_dict()


def bot(response: str, buttons=()) -> dict:
    return {"event": "bot", "text": "…", "data": {"buttons": list(buttons) or None},
            "metadata": {"utter_action": response}}  # fmt: skip


def tracker(
    intent: str, text: str = "", *, said_after=(), slots=None, loop=None, requested=None, confidence=0.95
):
    latest = {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "text": text or f"/{intent}",
    }
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": latest["text"], "parse_data": latest, "input_channel": "socketio"},
        *said_after,
    ]
    slots = {"requested_slot": requested, **(slots or {})}
    return Tracker("citizen-1", slots, latest, events, False, None, {"name": loop} if loop else {},
                   "action_listen")  # fmt: skip


async def ask(said_after, slots=None):
    dispatcher = CollectingDispatcher()
    events = await satisfaction.ActionAskSatisfaction().run(
        dispatcher, tracker("faq", "une question", said_after=said_after, slots=slots), domain()
    )
    return dispatcher.messages, events


def test_every_response_the_module_uses_is_in_the_domain():
    source = (ROOT / "actions" / "satisfaction.py").read_text(encoding="utf-8")
    used = {
        n for n in re.findall(r"\"(utter_[a-z_]+)\"", source) if not n.endswith("_") and n != "utter_action"
    }
    assert {"utter_ask_satisfaction", "utter_satisfaction_thanks"} <= used
    assert {
        name for name in used if name not in responses() and name not in satisfaction.COMPLETIONS
    } == set()
    for prefix in satisfaction.COMPLETIONS:  # each completion names responses that exist
        assert any(name.startswith(prefix) for name in responses()), prefix


async def test_asked_after_a_completed_answer_with_two_buttons():
    messages, events = await ask([bot("utter_knowledge_answer", [LINK])])
    assert said(messages) == "Cette réponse vous a-t-elle aidé ?"
    assert buttons_of(messages) == [{"title": "Oui", "payload": "/rate_helpful"},
                                    {"title": "Non", "payload": "/rate_unhelpful"}]  # fmt: skip
    assert events == [SlotSet("satisfaction_asked", "knowledge")]


@pytest.mark.parametrize(
    "said_after",
    [
        [],  # nothing said
        [bot("utter_appointment_stopped")],  # the citizen stopped
        [bot("utter_form_failed", [{"title": "Reprendre", "payload": "/book_appointment"}])],
        [bot("utter_knowledge_nothing")],  # no answer found
        # the booking is confirmed, but the reminder's offer (buttons) comes first
        [
            bot("utter_booking_confirmed_cni_online"),
            bot(
                "utter_reminder_offer",
                [{"title": "Par e-mail", "payload": '/reminder_request{"choice":"email"}'}],
            ),
        ],
        [bot("utter_knowledge_choose", [{"title": "Acte de naissance", "payload": "/faq"}])],
    ],
)
async def test_silent_when_the_flow_did_not_complete_or_a_choice_is_pending(said_after):
    assert await ask(said_after) == ([], [])


async def test_never_twice_in_a_conversation():
    assert await ask([bot("utter_tracking_status")], slots={"satisfaction_asked": "knowledge"}) == ([], [])


async def validate(intent, text="", *, slots=None, requested=None, confidence=0.95):
    dispatcher = CollectingDispatcher()
    current = tracker(intent, text, slots=slots, loop="satisfaction_form", requested=requested,
                      confidence=confidence)  # fmt: skip
    events = await satisfaction.ValidateSatisfactionForm().run(dispatcher, current, domain())
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher.messages


ASKED = {"satisfaction_asked": "knowledge"}


async def test_yes_is_recorded_and_nothing_more_is_asked():
    slots, _ = await validate("rate_helpful", slots=ASKED)
    assert slots["satisfaction"] == "yes" and slots["requested_slot"] is None


async def test_no_is_recorded_and_the_comment_is_asked():
    slots, _ = await validate("rate_unhelpful", slots=ASKED)
    # the form goes on: Rasa asks the domain's next missing slot, the comment
    assert slots["satisfaction"] == "no" and "requested_slot" not in slots


@pytest.mark.parametrize(
    "slots",
    [{}, {**ASKED, "satisfaction": "yes"}],  # never asked (a forged button) / already rated
)
async def test_a_rating_not_asked_for_or_given_twice_records_nothing(slots):
    found, _ = await validate("rate_unhelpful", slots=slots)
    assert "satisfaction" not in found or found["satisfaction"] == slots.get("satisfaction")
    assert found["requested_slot"] is None


RATED_NO = {**ASKED, "satisfaction": "no"}


async def test_the_comment_is_kept_as_typed_even_a_question():
    text = "je ne trouve pas les horaires du samedi ?"
    slots, _ = await validate("faq", text, slots=RATED_NO, requested="satisfaction_comment")
    assert slots["satisfaction_comment"] == text and "form_outcome" not in slots


@pytest.mark.parametrize(("intent", "text"), [("deny", "non merci"), ("stop", "/stop"), ("thank", "merci")])
async def test_a_short_no_thanks_or_passer_skips_the_comment(intent, text):
    slots, _ = await validate(intent, text, slots=RATED_NO, requested="satisfaction_comment")
    assert slots["form_outcome"] == "stopped" and "satisfaction_comment" not in slots


async def test_a_long_sentence_read_as_no_is_still_the_comment():
    text = "non, il manque les horaires du samedi"
    slots, _ = await validate("deny", text, slots=RATED_NO, requested="satisfaction_comment")
    assert slots["satisfaction_comment"] == text


async def test_another_request_instead_of_a_comment_leaves_the_form():
    slots, _ = await validate("book_appointment", "je veux un rendez-vous pour mon passeport",
                              slots=RATED_NO, requested="satisfaction_comment")  # fmt: skip
    assert slots["form_outcome"] == "switched" and slots["form_switch"] == "book_appointment"


async def done(slots, said_after=()):
    dispatcher = CollectingDispatcher()
    current = tracker("rate_helpful", said_after=said_after, slots=slots)
    events = await satisfaction.ActionSatisfactionDone().run(dispatcher, current, domain())
    return said(dispatcher.messages), events


async def test_thanks_for_the_rating_and_for_the_comment():
    rated = [{"event": "slot", "name": "satisfaction", "value": "yes"}]
    assert (await done({**ASKED, "satisfaction": "yes"}, rated))[0].startswith("Merci pour votre avis !")
    text, events = await done({**RATED_NO, "satisfaction_comment": "il manque les horaires"})
    assert text.startswith("Merci, votre remarque aidera") and SlotSet("satisfaction_comment", None) in events
    assert (await done({**ASKED, "satisfaction": "yes"}))[0].startswith("Merci, c'est noté.")


async def test_skipped_comment_thanks_and_another_request_is_answered_silently():
    assert (await done({**RATED_NO, "form_outcome": "stopped"}))[0].startswith("Merci pour votre avis !")
    text, events = await done({**RATED_NO, "form_outcome": "switched"})
    assert text == "" and events[-1]["event"] == "user"  # the request handed back to the dialogue
