"""Everyday questions through the running assistant (REST): the questions quoted at the top of
issue 12 reach the right answer — another administration for the casier judiciaire, the
knowledge base for the electoral rolls, the signalement form for a pothole, the sorting
guide for a Christmas tree — and a choice of entries is answered by its button."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from knowledge.content import load_knowledge_base
from tests.integration.conftest import Chat

pytestmark = pytest.mark.integration

BASE = load_knowledge_base()


def test_casier_judiciaire_points_to_the_other_administration(stack):
    chat = Chat(stack)
    chat.say("comment obtenir un extrait de casier judiciaire ?")
    entry = BASE.entries["autre_casier_judiciaire"]
    assert entry.answer in chat.text, chat.text
    assert "Cette démarche relève de : Casier judiciaire national" in chat.text
    assert chat.buttons.get("Plus d'infos") == entry.official_url
    assert "carte d'identité" not in chat.text.lower()


def test_electoral_rolls_after_moving_in(stack):
    chat = Chat(stack)
    chat.say("je viens d'emménager, comment m'inscrire sur les listes électorales ?")
    entry = BASE.entries["elections_inscription"]
    if entry.answer not in chat.text:  # close scores: the entry is one of the buttons
        chat.click(entry.title)
    assert entry.answer in chat.text, chat.text
    assert "Service : Accueil de la mairie, 01 99 00 10 00" in chat.text
    assert "ouvert en ce moment" in chat.text or "fermé en ce moment" in chat.text
    assert chat.buttons.get("Plus d'infos") == entry.official_url


def test_a_pothole_starts_the_signalement(stack):
    chat = Chat(stack)
    chat.say("je veux signaler un nid de poule dans ma rue")
    assert "Où se trouve le problème" in chat.text, chat.text
    chat.say("stop")


def test_a_christmas_tree_gets_the_sorting_guide(stack):
    chat = Chat(stack)
    chat.say("je jette où mon sapin de noël ?")
    assert "sapin" in chat.text.lower() and "collecte" in chat.text.lower(), chat.text


def test_a_forged_choice_is_refused_and_the_conversation_goes_on(stack):
    chat = Chat(stack)
    chat.say('/faq{"knowledge_key": "autre_casier_judiciaire"}')
    assert "Je ne retrouve pas ce sujet" in chat.text, chat.text
    chat.say("comment obtenir un extrait de casier judiciaire ?")
    assert BASE.entries["autre_casier_judiciaire"].answer in chat.text


def test_real_users_closing_and_refusing_the_robot(stack):
    chat = Chat(stack)
    chat.say("euh merci au revoir")
    assert "Au revoir et bonne journée" in chat.text or "À bientôt" in chat.text, chat.text
    chat = Chat(stack)
    chat.say("je ne veux pas parler à un robot")
    assert "agent" in chat.text.lower(), chat.text  # the hand-off, not « je suis un assistant »


async def test_a_knowledge_answer_on_the_webchat(stack):
    from tests.integration.test_channels_limits import Widget

    entry = BASE.entries["autre_casier_judiciaire"]
    async with Widget(stack) as widget:
        seen = [(await widget.say("comment obtenir un extrait de casier judiciaire ?"))[1]]
        try:
            while True:
                seen.append((await widget.next(timeout=3))[1])
        except asyncio.TimeoutError:
            pass
    assert any(entry.answer in (data.get("text") or "") for data in seen), seen
    assert any(entry.official_url in json.dumps(data) for data in seen), seen


def test_a_knowledge_answer_on_messenger(stack):
    from tests.integration.conftest import FakeGraph
    from tests.integration.test_messenger import message, post, sent_to, texts

    entry = BASE.entries["autre_casier_judiciaire"]
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    assert post(stack, message(psid, "comment obtenir un extrait de casier judiciaire ?"))[0] == 200
    sent = sent_to(psid, since)
    assert entry.answer[:200] in texts(sent), texts(sent)
    assert entry.official_url in json.dumps(sent, ensure_ascii=False)
