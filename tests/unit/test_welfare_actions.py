"""The welfare and tracking forms on rasa-sdk trackers, with the demo content. The responses
the actions name are rendered from domain/*.yml as Rasa would, so the tests read the texts
a citizen reads."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa.core.nlg.interpolator import interpolate_text
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, tracking, welfare
from actions.forms import FAILURES_SLOT, OUTCOME_SLOT
from booking.seed import migrate
from tracking.connector import TrackingUnavailable

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
FIELDS = ["welfare_for_whom", "welfare_need", "welfare_age", "welfare_place"]


@lru_cache(maxsize=1)
def responses() -> Dict[str, Any]:
    found: Dict[str, Any] = {}
    for path in sorted(DOMAIN.glob("*.yml")):
        found.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    return found


def rendered(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each message as Rasa sends it: the response's text filled with the values, its fixed
    buttons followed by the buttons the action passed."""
    out = []
    for message in messages:
        name = message.get("response")
        if not name:
            out.append(message)
            continue
        variant = responses()[name][0]
        values = {k: v for k, v in message.items() if k not in ("response", "buttons")}
        text = interpolate_text(variant.get("text", ""), values)
        assert "{" not in text.replace("{{", ""), f"{name}: a value is missing in {text!r}"
        buttons = list(variant.get("buttons") or []) + list(message.get("buttons") or [])
        out.append({"response": name, "text": text, "buttons": buttons})
    return out


def said(dispatcher: CollectingDispatcher) -> str:
    return " ".join(m.get("text") or "" for m in rendered(dispatcher.messages))


def message(intent="inform", text="", entities=(), confidence=0.95):
    return {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": e, "value": v} for e, v in entities],
        "text": text,
    }


def tracker(latest, slots=None, loop="welfare_form", sender="citizen-1"):
    user = {"event": "user", "text": latest["text"], "parse_data": latest, "input_channel": "rest"}
    state = {"sender_id": sender, "slots": dict(slots or {}), "latest_message": latest, "events": [user]}
    return Tracker.from_dict(
        {**state, "active_loop": {"name": loop} if loop else {}, "latest_action_name": "action_listen"}
    )


async def read(form, slot, latest, slots=None):
    dispatcher = CollectingDispatcher()
    result = await getattr(form, f"extract_{slot}")(dispatcher, tracker(latest, slots), {})
    return result, said(dispatcher)


async def test_the_first_message_is_read_whole():
    latest = message("welfare_guidance", "ma mère ne peut plus vivre seule, elle a 82 ans")
    result, _ = await read(welfare.ValidateWelfareForm(), "welfare_for_whom", latest)
    assert result["welfare_for_whom"] == "parent" and result["welfare_need"] == "autonomy"
    assert result["welfare_age"] == 82


async def test_a_named_aid_is_kept():
    latest = message("welfare_guidance", "je veux l'APA pour mon père", [("aid_type", "apa")])
    result, _ = await read(welfare.ValidateWelfareForm(), "welfare_for_whom", latest)
    assert result["welfare_aid"] == "apa" and result["welfare_for_whom"] == "parent"


async def test_only_missing_questions_are_asked_one_at_a_time():
    form = welfare.ValidateWelfareForm()
    slots = {"welfare_for_whom": "parent", "welfare_need": "autonomy", "welfare_age": 82}
    assert await form.required_slots(FIELDS, None, tracker(message(), slots), {}) == ["welfare_place"]
    slots["welfare_place"] = "home"
    assert await form.required_slots(FIELDS, None, tracker(message(), slots), {}) == []


async def test_a_way_out_asks_nothing_more():
    form = welfare.ValidateWelfareForm()
    slots = {"welfare_for_whom": "parent", OUTCOME_SLOT: "stopped"}
    assert await form.required_slots(FIELDS, None, tracker(message(), slots), {}) == []


async def test_danger_brings_the_emergency_lines():
    latest = message("welfare_guidance", "mon mari me frappe, je ne sais plus quoi faire")
    _, text = await read(welfare.ValidateWelfareForm(), "welfare_for_whom", latest)
    assert "3919" in text and text.startswith("Si vous ou quelqu'un est en danger")


async def test_danger_in_an_answer_brings_the_emergency_lines_too():
    slots = {"requested_slot": "welfare_age"}
    latest = message(text="il me frappe, j'ai 34 ans")
    result, text = await read(welfare.ValidateWelfareForm(), "welfare_age", latest, slots)
    assert "3919" in text and result["welfare_age"] == 34


@pytest.mark.parametrize(
    "slot, latest, value",
    [
        ("welfare_for_whom", message(text="/inform", entities=[("choice", "spouse")]), "spouse"),
        ("welfare_for_whom", message(text="c'est pour ma maman"), "parent"),
        ("welfare_need", message(text="il est handicapé"), "disability"),
        ("welfare_place", message(text="en ehpad depuis un an"), "establishment"),
        ("welfare_age", message(text="elle a 82 ans"), 82),
    ],
)
async def test_answers_typed_or_clicked(slot, latest, value):
    result, _ = await read(welfare.ValidateWelfareForm(), slot, latest, {"requested_slot": slot})
    assert result == {slot: value, FAILURES_SLOT: 0}


async def test_a_bad_age_is_asked_again_and_counted():
    slots = {"requested_slot": "welfare_age"}
    result, text = await read(welfare.ValidateWelfareForm(), "welfare_age", message(text="vieux"), slots)
    assert result["welfare_age"] is None and result[FAILURES_SLOT] == 1 and "en chiffres" in text
    slots[FAILURES_SLOT] = 1
    result, _ = await read(welfare.ValidateWelfareForm(), "welfare_age", message(text="150"), slots)
    assert result[FAILURES_SLOT] == 2 and OUTCOME_SLOT not in result


async def test_the_third_unusable_answer_ends_the_triage():
    slots = {"requested_slot": "welfare_need", FAILURES_SLOT: 2}
    result, text = await read(welfare.ValidateWelfareForm(), "welfare_need", message(text="blabla"), slots)
    assert result[OUTCOME_SLOT] == "failed" and "Choisissez la réponse" in text


async def test_the_way_out_gives_the_ccas_phone():
    slots = {"welfare_for_whom": "parent", OUTCOME_SLOT: "failed", FAILURES_SLOT: 3}
    dispatcher = CollectingDispatcher()
    events = await welfare.ActionWelfareAnswer().run(dispatcher, tracker(message(), slots, loop=None), {})
    (failed,) = rendered(dispatcher.messages)
    assert "01 99 00 10 20" in failed["text"]  # the CCAS of the demo territory
    assert [b["payload"] for b in failed["buttons"]] == ["/welfare_guidance", "/human_handoff"]
    assert all(e["name"] != "welfare_for_whom" for e in events)  # « Reprendre » keeps the answers


async def test_the_answer_never_promises_and_keeps_nothing():
    slots = {
        "welfare_for_whom": "parent",
        "welfare_need": "autonomy",
        "welfare_age": 82,
        "welfare_place": "home",
    }
    dispatcher = CollectingDispatcher()
    events = await welfare.ActionWelfareAnswer().run(dispatcher, tracker(message(), slots, loop=None), {})
    text = said(dispatcher)
    assert "APA" in text and "pourrait" in text and "vous avez droit" not in text.lower()
    assert "Je n'ai rien enregistré" in text
    assert all(e["value"] is None for e in events)
    assert {e["name"] for e in events} >= set(FIELDS)


async def test_stop_in_the_triage_keeps_nothing():
    slots = {"welfare_for_whom": "parent", OUTCOME_SLOT: "stopped"}
    dispatcher = CollectingDispatcher()
    events = await welfare.ActionWelfareAnswer().run(dispatcher, tracker(message(), slots, loop=None), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_welfare_stopped"]
    assert all(e["value"] is None for e in events)


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    """An application database of this test's own: failed tries are counted there."""
    url = f"sqlite:///{tmp_path / 'gru.db'}"
    monkeypatch.setenv("GRU_DATABASE_URL", url)
    migrate(url)
    return url


async def extract_factor(form, reference, answer, slots=None, sender="citizen-1"):
    slots = {"requested_slot": "tracking_factor", "tracking_ref": reference, **(slots or {})}
    dispatcher = CollectingDispatcher()
    result = await form.extract_tracking_factor(
        dispatcher, tracker(message(text=answer), slots, loop="tracking_form", sender=sender), {}
    )
    return result, said(dispatcher)


async def done(slots) -> str:
    dispatcher = CollectingDispatcher()
    await tracking.ActionTrackingDone().run(dispatcher, tracker(message(), slots, loop=None), {})
    return said(dispatcher)


async def test_tracking_needs_the_right_second_factor(db):
    form = tracking.ValidateTrackingForm()
    result, text = await extract_factor(form, "DEM-2026-004217", "Martin")
    assert result["tracking_ref"] is None and "essai 1 sur 3" in text
    result, _ = await extract_factor(form, "DEM-2026-004217", "LEFEVRE")
    assert result["tracking_done"] == "found" and result["tracking_result"]["reference"] == "DEM-2026-004217"
    text = await done(result)
    assert text.startswith(result["tracking_result"]["title"]) and "(DEM-2026-004217) :" in text
    assert "depuis le" in text and "Une question ?" in text


async def test_unknown_and_known_numbers_get_the_same_answers_up_to_the_lock(db):
    form = tracking.ValidateTrackingForm()
    for known, unknown in (("DEM-2026-004217", "DEM-2026-999999"), ("SUB-2026-0042", "SUB-2026-9999")):
        answers = {}
        for reference, sender in ((known, "k"), (unknown, "u")):
            said_ = []
            for _ in range(3):
                result, text = await extract_factor(form, reference, "Personne", sender=f"{sender}-{known}")
                said_.append((text, result.get("tracking_done"), result.get("tracking_ref", "kept")))
            said_.append(await done(result))
            result, text = await extract_factor(form, reference, "Personne", sender="another")
            said_.append((text, result.get("tracking_done")))
            answers[reference] = said_
        assert answers[known] == answers[unknown]
        assert answers[known][2][1] == "locked" and "je m'arrête là" in answers[known][3]


async def test_the_third_wrong_pair_stops_with_the_contact(db):
    form = tracking.ValidateTrackingForm()
    for _ in range(2):
        await extract_factor(form, "SUB-2026-9999", "Dupont")
    result, _ = await extract_factor(form, "SUB-2026-9999", "Dupont")
    assert result["tracking_done"] == "locked" and "tracking_tries" not in result
    assert "je m'arrête là" in await done(result)


async def test_a_script_gets_no_new_tries_from_new_sender_ids_or_a_restart(db):
    form = tracking.ValidateTrackingForm()
    for n in range(3):  # a new conversation (new sender id, no slot) for every guess
        result, _ = await extract_factor(form, "DEM-2026-004217", f"Nom{n}", sender=f"script-{n}")
    assert result["tracking_done"] == "locked"
    # The right name, from a fresh conversation (« /restart »: no slot at all): still refused,
    # and the back-office is not asked.
    result, _ = await extract_factor(form, "DEM-2026-004217", "Lefèvre", sender="script-99")
    assert result["tracking_done"] == "refused" and "tracking_result" not in result
    text = await done(result)
    assert "Trop d'essais" in text and "01 99" in text
    # One conversation cannot try many numbers either.
    for n in range(3):
        result, _ = await extract_factor(form, f"DEM-2026-00000{n}", "Lefèvre", sender="one")
    result, _ = await extract_factor(form, "SUB-2026-0042", "Moreau", sender="one")
    assert result["tracking_done"] == "refused"


async def test_a_success_gives_no_try_back(db):
    form = tracking.ValidateTrackingForm()
    for _ in range(2):
        await extract_factor(form, "DEM-2026-004217", "Martin")
    result, _ = await extract_factor(form, "DEM-2026-004217", "Lefèvre")
    assert result["tracking_done"] == "found"
    result, _ = await extract_factor(form, "DEM-2026-004217", "Martin")
    assert result["tracking_done"] == "locked"


async def test_back_office_down_gets_a_clear_answer(db, monkeypatch):
    class Down:
        async def lookup(self, reference, second_factor):
            raise TrackingUnavailable("down")

    monkeypatch.setattr(tracking, "_CONNECTOR", Down())
    result, _ = await extract_factor(tracking.ValidateTrackingForm(), "DEM-2026-004217", "Lefèvre")
    assert result["tracking_done"] == "unavailable"
    text = await done(result)
    assert "momentanément indisponible" in text and "01 99" in text


async def test_an_unreadable_reference_counts_as_a_failure():
    form = tracking.ValidateTrackingForm()
    slots = {"requested_slot": "tracking_ref"}
    dispatcher = CollectingDispatcher()
    latest = message(text="je sais pas")
    result = await form.extract_tracking_ref(dispatcher, tracker(latest, slots, loop="tracking_form"), {})
    assert result["tracking_ref"] is None and result[FAILURES_SLOT] == 1
    assert "Je ne reconnais pas ce numéro" in said(dispatcher)


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
    dispatcher = CollectingDispatcher()
    latest = message("nlu_fallback", "j'ai envie de mourir")
    latest["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.5}]
    await conversation.ActionHandleFallback().run(dispatcher, tracker(latest, loop=None), {})
    assert "3114" in rendered(dispatcher.messages)[0]["text"]


WELFARE_DOMAIN = {"forms": {"welfare_form": {"required_slots": FIELDS}}, "slots": {}}


async def validate(latest, slots=None):
    dispatcher = CollectingDispatcher()
    events = await welfare.ValidateWelfareForm().run(dispatcher, tracker(latest, slots), WELFARE_DOMAIN)
    return {e["name"]: e["value"] for e in events}, dispatcher


async def test_the_form_asks_only_the_first_missing_question():
    latest = message("welfare_guidance", "je veux l'APA pour mon père", [("aid_type", "apa")])
    slots, _ = await validate(latest)
    assert slots["welfare_for_whom"] == "parent" and slots["welfare_aid"] == "apa"
    assert slots["requested_slot"] == "welfare_age"


async def test_stop_in_the_form_ends_it():
    slots, dispatcher = await validate(message("stop", "stop"), {"requested_slot": "welfare_age"})
    assert slots == {OUTCOME_SLOT: "stopped", "requested_slot": None} and not dispatcher.messages


async def test_a_question_in_the_form_is_answered_then_asked_again():
    slots, dispatcher = await validate(
        message("help", "que savez-vous faire ?"), {"requested_slot": "welfare_age"}
    )
    assert slots["requested_slot"] == "welfare_age"
    assert [m["response"] for m in dispatcher.messages] == ["utter_help"]


async def test_stop_is_read_on_the_tracker_rasa_sends_to_the_validation():
    """Rasa validates on a copy of the tracker that ends with the form's own action event."""
    latest = message("stop", "stop")
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "stop", "parse_data": latest},
        {"event": "slot", "name": "requested_slot", "value": "welfare_age"},
        {"event": "action", "name": "welfare_form"},
    ]
    state = {"sender_id": "citizen-1", "slots": {"requested_slot": "welfare_age"}, "latest_message": latest}
    rasa_copy = Tracker.from_dict(
        {
            **state,
            "events": events,
            "active_loop": {"name": "welfare_form"},
            "latest_action_name": "welfare_form",
        }
    )
    found = await welfare.ValidateWelfareForm().run(CollectingDispatcher(), rasa_copy, WELFARE_DOMAIN)
    assert {e["name"]: e["value"] for e in found} == {OUTCOME_SLOT: "stopped", "requested_slot": None}
