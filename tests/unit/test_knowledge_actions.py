"""The retrieval action: a direct answer, a choice of entries, a forged choice, nothing fits."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.knowledge as knowledge
from core import clock
from knowledge.ranker import CHOOSE, NOTHING, Decision, Scored
from tests.conftest import ROOT
from tests.unit.responses import buttons_of, responses, said
from tests.unit.test_booking_actions import message, tracker

PARIS = ZoneInfo("Europe/Paris")
CASIER = "autre_casier_judiciaire"


@pytest.fixture(autouse=True)
def tuesday_morning(monkeypatch):
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    monkeypatch.setattr(clock, "now", lambda: moment)


async def run(text="", entities=(), slots=None):
    dispatcher = CollectingDispatcher()
    latest = message("faq", text, entities)
    events = await knowledge.ActionAnswerKnowledge().run(dispatcher, tracker(latest, slots, loop=None), {})
    return said(dispatcher.messages), buttons_of(dispatcher.messages), events


def fixed_decision(monkeypatch, decision):
    class Fixed:
        def decide(self, question):
            return decision

    async def trained():
        return Fixed()

    monkeypatch.setattr(knowledge, "trained_ranker", trained)


def test_every_response_the_action_uses_is_in_the_domain():
    source = (ROOT / "actions" / "knowledge.py").read_text(encoding="utf-8")
    used = set(re.findall(r"\"(utter_[a-z_]+)\"", source))
    assert "utter_knowledge_answer" in used
    assert {name for name in used if name not in responses()} == set()


async def test_a_clear_question_gets_the_answer_the_administration_and_the_official_page():
    text, buttons, events = await run("comment obtenir un extrait de casier judiciaire ?")
    entry = knowledge.KNOWLEDGE.entries[CASIER]
    assert text.startswith(entry.answer)
    assert "Cette démarche relève de : Casier judiciaire national" in text
    assert buttons == [{"title": "Plus d'infos", "type": "web_url", "url": entry.official_url}]
    assert events == [SlotSet("knowledge_offered", None)]


async def test_a_town_hall_entry_gives_the_service_and_whether_it_is_open(monkeypatch):
    key = next(k for k, e in knowledge.KNOWLEDGE.entries.items() if e.service == "police_municipale")
    fixed_decision(monkeypatch, Decision("answer", (Scored(key, 1.0),)))
    text, _, _ = await run("question")
    assert "Service : Police municipale, 01 99 00 10 60, aujourd'hui de 8 h à 18 h." in text
    assert "C'est ouvert en ce moment, jusqu'à 18 h." in text


async def test_close_scores_offer_the_entries_as_buttons_and_remember_them(monkeypatch):
    keys = list(knowledge.KNOWLEDGE.entries)[:2]
    fixed_decision(monkeypatch, Decision(CHOOSE, tuple(Scored(k, 0.1) for k in keys)))
    text, buttons, events = await run("une question ambiguë")
    assert (
        text
        == "Je ne suis pas sûr d'avoir bien compris. Votre question porte-t-elle sur l'un de ces sujets ?"
    )
    assert [b["title"] for b in buttons] == [knowledge.KNOWLEDGE.entries[k].title for k in keys] + [
        "Aucun de ces sujets"
    ]
    assert buttons[0]["payload"] == f'/faq{{"knowledge_key": "{keys[0]}"}}'
    assert events == [SlotSet("knowledge_offered", [*keys, "aucun"])]


async def test_a_chosen_button_gets_its_answer():
    offered = [CASIER, "aucun"]
    text, buttons, events = await run("", [("knowledge_key", CASIER)], {"knowledge_offered": offered})
    assert text.startswith(knowledge.KNOWLEDGE.entries[CASIER].answer)
    assert buttons[0]["type"] == "web_url"
    assert events == [SlotSet("knowledge_offered", None)]


@pytest.mark.parametrize(
    ("key", "offered"),
    [
        (CASIER, None),  # nothing was offered
        (CASIER, ["elections_inscription"]),  # another entry was offered
        ("cle_inventee", ["cle_inventee"]),  # a forged slot cannot name a missing entry
        ("x" * 5000, None),
    ],
)
async def test_a_forged_choice_is_refused_kindly(key, offered):
    text, buttons, _ = await run("", [("knowledge_key", key)], {"knowledge_offered": offered})
    assert text == "Je ne retrouve pas ce sujet. Pouvez-vous me poser votre question en quelques mots ?"
    assert buttons == []


async def test_none_of_these_and_nothing_fits_give_the_front_desk(monkeypatch):
    text, buttons, _ = await run("", [("knowledge_key", "aucun")], {"knowledge_offered": [CASIER, "aucun"]})
    assert text.startswith("Je n'ai pas de réponse sûre à cette question, désolé.")
    assert "Accueil de la mairie : 01 99 00 10 00" in text
    assert [b["payload"] for b in buttons] == ["/help", "/human_handoff"]
    fixed_decision(monkeypatch, Decision(NOTHING, (Scored(CASIER, -2.0),)))
    assert (await run("blabla"))[0] == text


async def test_a_bare_faq_payload_asks_for_the_question():
    text, _, _ = await run("/faq")
    assert text.startswith("Quelle est votre question ?")


async def test_logs_name_the_entry_never_the_question(caplog):
    caplog.set_level("INFO", logger="actions.knowledge")
    await run("comment obtenir un extrait de casier judiciaire ? je suis Jean Dupont")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"answer {CASIER}" in logged
    assert "Dupont" not in logged and "casier judiciaire" not in logged
