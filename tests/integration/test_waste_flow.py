"""Waste through the running assistant (REST channel): collection days by address with
the calendar file, the remembered address (consent, new session, deletion), bulky-waste
pick-ups booked in the booking database, the recycling centre and the sorting guide."""

from __future__ import annotations

import re
import urllib.request

import pytest

from core.text import MONTHS_FR
from tests.integration.conftest import REFERENCE, Chat, rows

pytestmark = pytest.mark.integration

A_DATE = re.compile(r"\b(\d{1,2}|1er) (" + "|".join(MONTHS_FR) + r")\b")


def test_collection_days_with_calendar_and_remembered_address(stack):
    chat = Chat(stack)
    chat.say("quand passe la poubelle jaune rue Pasteur")
    assert "Rue Pasteur" in chat.text and A_DATE.search(chat.text), chat.text
    ics = chat.buttons["Calendrier (.ics)"] if "Calendrier (.ics)" in chat.buttons else None
    links = [b for r in chat.replies for b in r.get("buttons", []) if b.get("type") == "web_url"]
    assert links and "/webhooks/calendar/ics?" in links[0]["url"], (ics, chat.replies)
    local = links[0]["url"].replace("http://localhost:5005", stack.url)
    with urllib.request.urlopen(local, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/calendar")
        body = response.read().decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.count("BEGIN:VEVENT") >= 6
    chat.click("Oui")
    assert "je retiendrai votre adresse" in chat.text
    chat.say("/session_start")  # a new session (as after an hour of silence): slots are gone
    chat.say("et le verre c'est quand ?")
    assert "adresse enregistrée" in chat.text and "Rue Pasteur" in chat.text, chat.text
    chat.say("oubliez mes données")
    assert "votre adresse enregistrée" in chat.text and "effacée" in chat.text, chat.text
    chat.say("/session_start")
    chat.say("quel jour pour les poubelles ?")
    assert "Quelle est votre adresse" in chat.text, chat.text


def test_a_split_street_needs_the_number(stack):
    chat = Chat(stack)
    chat.say("jour de collecte des ordures ménagères")
    assert "Quelle est votre adresse" in chat.text
    chat.say("avenue jean jaures")
    assert "Quel est votre numéro" in chat.text, chat.text
    chat.say("12")
    assert "Au 12 Avenue Jean Jaurès" in chat.text and A_DATE.search(chat.text), chat.text
    chat.click("Non")
    assert "que pour cette conversation" in chat.text


def test_unknown_or_nonsense_address_gets_a_clear_answer(stack):
    chat = Chat(stack)
    chat.say("quand passent les éboueurs ?")
    chat.say("12 rue de Rivoli 75001 Paris")
    assert "Je ne trouve pas cette adresse à Villebrune" in chat.text and "01 99 00 10 70" in chat.text
    chat.say("🙂🙂🙂")
    assert "Je ne trouve pas cette adresse" in chat.text or "Quelle est votre adresse" in chat.text
    chat.say("stop")
    assert "j'arrête" in chat.text.lower()


def test_five_nonsense_addresses_end_the_form_after_the_third_with_the_way_out(stack):
    chat = Chat(stack)
    chat.say("quel jour passent les poubelles ?")
    assert "Quelle est votre adresse" in chat.text, chat.text
    for nonsense in ("azertyuiop", "qsdfghjklm", "wxcvbnpoiu"):
        chat.say(nonsense)
    assert "01 99 00 10 70" in chat.text, chat.text
    assert {"Reprendre", "Parler à un agent"} <= set(chat.buttons), chat.replies
    restart = chat.buttons["Reprendre"]
    for nonsense in ("mlkjhgfdsq", "ytreza"):  # the question is not asked a fourth time
        chat.say(nonsense)
        assert "Quelle est votre adresse" not in chat.text, chat.text
    chat.say(restart)
    assert "Quelle est votre adresse" in chat.text, chat.text
    chat.say("14 rue Pasteur")
    assert "Au 14 Rue Pasteur" in chat.text and A_DATE.search(chat.text), chat.text


def test_a_question_in_the_middle_then_another_flow(stack):
    chat = Chat(stack)
    chat.say("quand passe le camion poubelle ?")
    chat.say("vous êtes un robot ?")
    assert "Quelle est votre adresse" in chat.text, chat.text  # answered, then asked again
    chat.say("en fait je voudrais un rendez-vous pour une carte d'identité")
    assert "je laisse cette démarche de côté" in chat.text, chat.text
    assert "Quelle est votre adresse" not in chat.text, chat.text


def test_bulky_form_hand_off_in_the_middle(stack):
    chat = Chat(stack)
    chat.say("je veux me débarrasser d'un vieux matelas")
    chat.click("Réserver un enlèvement")
    chat.say("3 rue du Moulin")
    assert "Quels objets" in chat.text, chat.text
    chat.say("je voudrais parler à un agent")
    assert "rien n'a été enregistré" in chat.text and "Quels objets" not in chat.text, chat.text


def test_bulky_waste_pick_up_is_booked(stack, app_db):
    chat = Chat(stack)
    chat.say("comment me débarrasser d'un vieux canapé ?")
    assert "encombrants" in chat.text.lower()
    chat.click("Réserver un enlèvement")
    assert "adresse" in chat.text.lower()
    chat.say("3 r. du moulin")
    assert "Quels objets" in chat.text, chat.text
    chat.say("des gravats et un canapé")
    assert "gravats" in chat.text and "déchetterie" in chat.text, chat.text
    chat.say("un canapé et un matelas")
    assert "Quel matin" in chat.text, chat.text
    chat.first_slot()
    chat.say("Girard")
    assert "Enlèvement d'encombrants" in chat.text and "3 Rue du Moulin" in chat.text, chat.text
    chat.click("Oui")
    reference = REFERENCE.search(chat.text).group(0)
    sql = "SELECT reason, address, surname, status FROM appointments WHERE reference=?"
    assert rows(app_db, sql, reference) == [("ENCOMBRANTS", "3 Rue du Moulin", "GIRARD", "booked")]
    chat.say("je voudrais déplacer mon rendez-vous")
    chat.say("le plus tôt possible")
    chat.first_slot()  # the pick-up rounds' own dates, not the mairie's
    assert "Je déplace le rendez-vous " + reference in chat.text and "Collecte des encombrants" in chat.text
    chat.click("Oui")
    assert "C'est fait" in chat.text
    chat.say("je veux annuler mon rendez-vous")
    chat.click("Oui")
    assert "C'est annulé" in chat.text


def test_recycling_centre_and_sorting_guide(stack):
    chat = Chat(stack)
    chat.say("la déchetterie est ouverte aujourd'hui ?")
    assert "déchetterie" in chat.text.lower() and "Ce qui est accepté" in chat.buttons
    chat.click("Ce qui est accepté")
    assert "gravats" in chat.text.lower()
    chat.say("où jeter mes piles usagées ?")
    assert "pile" in chat.text.lower() and ("magasin" in chat.text or "déchetterie" in chat.text)
    chat.say("je mets ou le carton a pizza")
    assert "jaune" in chat.text, chat.text
