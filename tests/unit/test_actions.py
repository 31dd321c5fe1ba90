"""Actions run against rasa-sdk trackers built from real event shapes (no server needed)."""

from datetime import datetime

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, core, handoff, replies
from actions.replies import INTENT_TOPICS, TOPIC_SUBJECTS, fallback_reply
from core.territory import DEFAULT_TERRITORY_FILE, load_territory
from tests.conftest import ROOT
from tests.unit.test_welfare_actions import rendered

TERRITORY = load_territory(DEFAULT_TERRITORY_FILE)


def user(intent, text="...", entities=(), ranking=None):
    parse = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": list(entities),
        "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
        "text": text,
    }
    return {"event": "user", "text": text, "parse_data": parse}


def tracker(*events, slots=None):
    latest = next((e["parse_data"] for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(
        sender_id="citizen-1",
        slots=slots or {},
        latest_message=latest,
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action, tr):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tr, {})
    return rendered(dispatcher.messages), events


async def test_session_start_keeps_slots_and_names_the_territory():
    _, events = await run(
        conversation.ActionSessionStart(), tracker(slots={"service": "ccas", "territory_of": None})
    )
    names = [e["event"] for e in events]
    assert names[0] == "session_started" and names[-1] == "action"
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {
        "service": "ccas",
        "territory_of": "de la mairie de Villebrune",
        "privacy_url": "http://localhost:8080/confidentialite",
    }


async def test_first_fallback_suggests_likely_topics():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "inform", "confidence": 0.3},
        {"name": "opening_hours", "confidence": 0.2},
        {"name": "waste_collection_day", "confidence": 0.1},
    ]
    messages, _ = await run(
        conversation.ActionHandleFallback(), tracker(user("nlu_fallback", ranking=ranking))
    )
    (message,) = messages
    assert message["text"].startswith("Je ne suis pas sûr d'avoir compris")
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/opening_hours", "/waste_collection_day", "/help"]  # « Autre chose » last


async def test_second_fallback_in_a_row_offers_a_human():
    tr = tracker(user("nlu_fallback"), {"event": "bot", "text": "?"}, user("nlu_fallback"))
    messages, _ = await run(conversation.ActionHandleFallback(), tr)
    assert messages[0]["text"].startswith("Je n'arrive pas à comprendre votre demande")
    assert "01 99 00 10 00" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/help", "/human_handoff"]


async def test_fallback_count_resets_after_an_understood_message():
    tr = tracker(user("nlu_fallback"), user("greet"), user("nlu_fallback"))
    assert conversation.consecutive_fallbacks(tr.events) == 1


async def test_handoff_gives_the_service_of_the_current_topic():
    tr = tracker(user("welfare_guidance"), {"event": "bot", "text": "..."}, user("human_handoff"))
    messages, _ = await run(handoff.ActionHumanHandoff(), tr)
    assert "Centre communal d'action sociale" in messages[0]["text"]
    assert "01 99 00 10 20" in messages[0]["text"]


async def test_handoff_prefers_an_explicit_service():
    entities = [{"entity": "service", "value": "urbanisme"}]
    messages, _ = await run(handoff.ActionHumanHandoff(), tracker(user("human_handoff", entities=entities)))
    assert "Service urbanisme" in messages[0]["text"]


async def test_opening_hours_of_the_named_service_with_other_services_as_buttons():
    entities = [{"entity": "service", "value": "etat_civil"}]
    messages, events = await run(
        conversation.ActionOpeningHours(), tracker(user("opening_hours", entities=entities))
    )
    assert messages[0]["text"].startswith("Service état civil — horaires d'ouverture :")
    assert "• jeudi : de 8 h 30 à 12 h et de 13 h 30 à 19 h" in messages[0]["text"]
    assert messages[0]["text"].endswith("Téléphone : 01 99 00 10 10.")
    assert all(b["payload"].startswith("/opening_hours{") for b in messages[0]["buttons"])
    assert events == [{"event": "slot", "timestamp": None, "name": "service", "value": "etat_civil"}]


@pytest.mark.parametrize("intent", sorted(TOPIC_SUBJECTS))
async def test_every_topic_has_a_contact(intent):
    messages, _ = await run(conversation.ActionTopicContact(), tracker(user(intent)))
    service = TERRITORY.services[TERRITORY.service_for(topic=INTENT_TOPICS[intent])]
    assert service.phone in messages[0]["text"]
    assert messages[0]["text"].startswith(f"Pour {TOPIC_SUBJECTS[intent][0]}, ")
    link = replies.topic_link(TERRITORY, intent)
    assert [m["text"] for m in messages[1:]] == ([f"Plus d'informations : {link}"] if link else [])


# The contract intents of school transport, events and alerts and the first action of their flow.
OWN_FLOWS = {
    "school_transport": "transport_form",
    "events": "action_events",
    "alerts_subscribe": "alerts_form",
    "alerts_unsubscribe": "action_alerts_unsubscribe",
}


def test_transport_events_and_alerts_reach_their_flows_not_the_routing_answer():
    steps = []
    for path in sorted((ROOT / "data").glob("*/*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        steps += [s.get("steps", []) for s in document.get("rules", []) + document.get("stories", [])]
    assert all({"action": "action_topic_contact"} not in s for s in steps)
    for intent, flow in OWN_FLOWS.items():
        assert [{"intent": intent}, {"action": flow}] in [s[:2] for s in steps], intent
        assert intent not in TOPIC_SUBJECTS


@pytest.mark.parametrize("intent", sorted(OWN_FLOWS))
async def test_the_routing_answer_is_never_given_for_transport_events_or_alerts(intent):
    messages, _ = await run(conversation.ActionTopicContact(), tracker(user(intent)))
    assert not any("je ne peux pas encore vous répondre" in (m.get("text") or "") for m in messages)


def test_fallback_reply_without_candidates_asks_to_rephrase():
    response, buttons = fallback_reply([{"name": "inform", "confidence": 0.9}], consecutive=1)
    assert response == "utter_fallback_rephrase" and buttons == [{"title": "Autre chose", "payload": "/help"}]


async def test_opening_hours_mention_the_coming_closures(monkeypatch):
    monkeypatch.setattr(
        type(conversation.TERRITORY), "now", lambda self: datetime(2026, 12, 21, 9, 0, tzinfo=self.tz)
    )
    messages, _ = await run(conversation.ActionOpeningHours(), tracker(user("opening_hours")))
    texts = [m["text"] for m in messages]
    assert texts[0].startswith("Accueil de la mairie — horaires d'ouverture :")
    assert "Attention, jeudi 24 décembre : ouvert seulement de 8 h 30 à 12 h (" in texts[1]
    assert "Attention, vendredi 25 décembre : fermé (jour férié : Noël)." in texts


def test_log_pseudonyms_hide_the_sender():
    first = core.pseudonym("0612345678")
    assert first == core.pseudonym("0612345678") and len(first) == 12
    assert "0612345678" not in first and first != core.pseudonym("0612345679")
