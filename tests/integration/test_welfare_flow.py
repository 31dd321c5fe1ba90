"""Welfare triage and file tracking through the running assistant (REST channel, demo
back-office data of territory/demo/tracking.yml)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Chat

pytestmark = pytest.mark.integration


def test_a_situation_in_plain_words_gets_a_short_triage_and_the_right_aid(stack):
    chat = Chat(stack)
    chat.say("ma mère ne peut plus vivre seule, quelles aides existent ?")
    assert "âge" in chat.text, chat.text  # « for whom » and « need » were understood: not asked
    chat.say("elle a 82 ans")
    assert "domicile" in chat.text, chat.text
    chat.click("À domicile")
    answer = chat.text
    assert "APA" in answer and "pourrai" in answer and "service-public.fr" in answer, answer
    assert "vous avez droit" not in answer.lower()
    assert "Je n'ai rien enregistré" in answer


def test_a_named_aid_and_the_boundaries(stack):
    chat = Chat(stack)
    chat.say("je veux l'APA pour mon père")
    chat.say("59")
    if "À domicile" in chat.buttons:
        chat.click("À domicile")
    assert "60 ans" in chat.text and "CCAS" in chat.text, chat.text


def test_danger_gets_the_emergency_lines_first(stack):
    chat = Chat(stack)
    chat.say("mon mari me frappe et je n'ai plus d'argent")
    assert "3919" in chat.text, chat.text


def test_request_status_needs_the_second_factor(stack):
    chat = Chat(stack)
    chat.say("où en est ma demande DEM-2026-004217")
    assert "e-mail ou le nom de famille" in chat.text, chat.text
    assert "DEM-2026-004217 :" not in chat.text  # nothing disclosed before the second factor
    chat.say("Martin")
    assert "Je ne trouve pas de dossier" in chat.text and "essai 1 sur 3" in chat.text
    chat.say("DEM-2026-004217")
    chat.say("lefevre")
    assert "DEM-2026-004217" in chat.text and "depuis le" in chat.text, chat.text


def test_unknown_reference_and_too_many_tries(stack):
    chat = Chat(stack)
    chat.say("je voudrais suivre ma demande de subvention")
    for _ in range(3):
        chat.say("SUB-2026-9999")
        chat.say("Dupont")
    assert "je m'arrête là" in chat.text, chat.text
    chat.say("où en est ma demande SUB-2026-0042")
    chat.say("Moreau")  # the right answer, but the conversation has used its tries
    assert "Trop d'essais" in chat.text, chat.text


def test_nonsense_answers_end_the_triage_after_the_third_with_the_way_out(stack):
    chat = Chat(stack)
    chat.say("ma mère ne peut plus vivre seule, quelles aides existent ?")
    assert "Quel âge" in chat.text, chat.text
    for attempt in range(1, 6):
        chat.say("gloubi boulga")
        if attempt < 3:
            assert "en chiffres" in chat.text and "Quel âge" in chat.text, (attempt, chat.text)
        elif attempt == 3:  # the way out: the CCAS's phone, « Reprendre », a human
            assert "01 99 00 10 20" in chat.text, chat.text
            assert "Reprendre" in chat.buttons and "Parler à un agent" in chat.buttons, chat.buttons
        else:  # never asked a fourth time
            assert "Quel âge" not in chat.text, (attempt, chat.text)
    chat.say("/welfare_guidance")  # « Reprendre »: the same question, the answers kept
    assert "Quel âge" in chat.text and "Pour qui" not in chat.text, chat.text
    chat.say("82")
    assert "domicile" in chat.text, chat.text


def test_stop_in_the_triage_keeps_nothing(stack):
    chat = Chat(stack)
    chat.say("ma mère ne peut plus vivre seule, quelles aides existent ?")
    chat.say("stop")
    assert "Je n'ai rien gardé" in chat.text, chat.text
    chat.say("j'ai besoin d'une aide sociale")
    assert "Quelle situation" in chat.text, chat.text  # the mother's autonomy is forgotten


def test_a_question_a_human_and_another_flow_in_the_middle(stack):
    chat = Chat(stack)
    chat.say("ma mère ne peut plus vivre seule, quelles aides existent ?")
    chat.say("que savez-vous faire ?")
    assert "Je peux vous aider" in chat.text and "Quel âge" in chat.text, chat.text  # then the same question
    chat.say("je voudrais parler à un agent")
    assert "01 99 00 10 20" in chat.text and "Quel âge" not in chat.text, chat.text  # the CCAS
    chat.say("où en est ma demande DEM-2026-004217")
    assert "e-mail ou le nom de famille" in chat.text, chat.text
    chat.say("en fait j'ai besoin d'une aide sociale pour ma mère, elle ne peut plus vivre seule")
    assert "je laisse cette démarche de côté" in chat.text and "Quel âge" in chat.text, chat.text


def test_new_conversations_get_no_new_tries_on_a_file(stack):
    for _ in range(3):  # a script: a new conversation (new sender id) for every guess
        chat = Chat(stack)
        chat.say("où en est ma demande DEM-2026-004302")
        chat.say("Martin")
    assert "je m'arrête là" in chat.text, chat.text
    chat = Chat(stack)  # the right name now, from yet another conversation
    chat.say("où en est ma demande DEM-2026-004302")
    chat.say("Nguyen")
    assert "Trop d'essais" in chat.text and "Inscription scolaire" not in chat.text, chat.text
