"""School transport through the running assistant: times at a stop, the lines of a school,
whether the buses run on a day, registration, the stop asked with buttons, a typo, nonsense
and stop — over REST, and one question over the website's socketio channel and Messenger.

The stack runs on the real clock: the answers are checked for their shape (a time, a line, a
day) where the day of the run changes them, and word for word where it does not."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.conftest import Chat
from tests.integration.test_channels_limits import Widget
from tests.integration.test_messenger import FakeGraph, message, post, sent_to, texts

pytestmark = pytest.mark.integration

PASSAGE = re.compile(r"- \d{1,2} h( \d{2})? : ligne S\d vers ")
STOP_ANSWER = re.compile(
    r"Arrêt Gare, |Il n'y a plus de car scolaire aujourd'hui à l'arrêt Gare|Pas de car scolaire "
)


def test_times_at_the_station_stop(stack):
    chat = Chat(stack)
    chat.say("À quelle heure passe le car à l'arrêt de la gare ?")
    assert STOP_ANSWER.search(chat.text) and PASSAGE.search(chat.text), chat.text


def test_the_line_of_the_college(stack):
    chat = Chat(stack)
    chat.say("quel car pour le collège Jean Moulin ?")
    assert (
        "Collège Jean Moulin : ligne(s) S1 et S4" in chat.text
        or "Collège Jean Moulin est desservi" in chat.text
    )
    assert "Les Essarts 7 h 20" in chat.text and "arrivée à 7 h 47" in chat.text, chat.text


def test_no_bus_on_a_public_holiday(stack):
    chat = Chat(stack)
    chat.say("est ce que les cars scolaires circulent le 11 novembre ?")
    assert chat.text.startswith("Non, pas de car scolaire mercredi 11 novembre") or chat.text.startswith(
        "Non, pas de car scolaire jeudi 11 novembre"
    ), chat.text
    assert "jour férié (Armistice 1918)" in chat.text


def test_does_the_bus_run_tomorrow(stack):
    chat = Chat(stack)
    chat.say("le car passe-t-il demain ?")
    assert chat.text.startswith(("Oui, les cars scolaires circulent", "Non, pas de car scolaire")), chat.text


def test_registration_with_its_link(stack):
    chat = Chat(stack)
    chat.say("comment inscrire mon enfant au transport scolaire ?")
    assert "Inscription au transport scolaire 2026-2027 : du 1er juin au 15 juillet" in chat.text, chat.text
    assert "justificatif de domicile" in chat.text
    assert (
        chat.buttons.get("S'inscrire en ligne")
        == "https://www.villebrune.example/transport-scolaire/inscription"
    )


def test_the_stop_asked_with_buttons_then_a_typo_then_stop(stack):
    chat = Chat(stack)
    chat.say("horaires du ramassage scolaire svp")
    assert "Pour quel établissement ou quel arrêt ?" in chat.text, chat.text
    assert {"Collège Jean Moulin", "Arrêt Gare"} <= set(chat.buttons), chat.buttons
    chat.click("Arrêt Gare")
    assert STOP_ANSWER.search(chat.text), chat.text

    chat.say("à quelle heure passe le bus scolaire ?")
    assert "Pour quel établissement ou quel arrêt ?" in chat.text, chat.text
    chat.say("les esarts")
    assert "Les Essarts" in chat.text and PASSAGE.search(chat.text), chat.text

    chat.say("les horaires du car scolaire")
    chat.say("azertyuiop")
    assert "Je ne trouve pas cet arrêt ni cet établissement" in chat.text and "01 99 00 10 50" in chat.text
    chat.say("🚌🚌")
    assert "Je ne trouve pas cet arrêt" in chat.text or "Pour quel établissement" in chat.text, chat.text
    chat.say("stop")
    assert "j'arrête" in chat.text.lower(), chat.text


def test_a_forged_button_is_answered_in_french(stack):
    chat = Chat(stack)
    chat.say("horaires du bus scolaire")
    chat.say('/inform{"choice": "stop:../../etc/passwd"}')
    assert "Je ne trouve pas cet arrêt ni cet établissement" in chat.text, chat.text


async def test_one_question_over_the_website_socketio_channel(stack):
    async with Widget(stack) as widget:
        event, data = await widget.say("quel car pour le collège Jean Moulin ?")
        assert event == "bot_uttered" and "Collège Jean Moulin" in data.get("text", ""), data


def test_one_question_over_messenger(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    post(stack, message(psid, "comment inscrire mon enfant au transport scolaire ?"))
    said = texts(sent_to(psid, since))
    assert "Inscription au transport scolaire 2026-2027" in said, said
