"""Identity appointments through the running assistant (REST channel, real Rasa and
action servers, a real booking database, and a local HTTP server speaking the ANTS
anti-duplicate API). Needs a trained model in models/ (make test trains one first)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking import reminders
from core.mail import SmtpSettings
from tests.integration.conftest import HUB_TOKEN, LINKS_SECRET, REFERENCE, Chat, FakeAnts, book, rows

pytestmark = pytest.mark.integration


def test_book_list_and_cancel_in_a_few_messages(stack, ants, app_db):
    chat = Chat(stack)
    chat.say("rdv passeport pour 2 personnes")
    # Document and number of people came with the first message: not asked again.
    assert "numéros de pré-demande des 2 personnes" in chat.text, chat.text
    chat.say("4F7K2M9QXZ")
    assert "personne 2 sur 2" in chat.text, chat.text
    chat.say("7HC3P4R8WA")
    assert "Dans quelle mairie" in chat.text
    chat.click("Peu importe")
    assert "Quel jour" in chat.text
    chat.say("le plus tôt possible")
    assert "D'autres créneaux" in chat.buttons and "Un autre jour" in chat.buttons
    chat.first_slot()
    chat.say("Dupont")
    summary = chat.text
    assert "Passeport, 2 personnes" in summary and "(30 minutes)" in summary and "DUPONT" in summary
    assert "4F7K2M9QXZ, 7HC3P4R8WA" in summary
    chat.click("Oui")
    reference = REFERENCE.search(chat.text).group(0)
    assert "timbre fiscal" in chat.text and "86 €" in chat.text and "annuler" in chat.text
    sql = "SELECT reason, people, documents, status, surname FROM appointments WHERE reference=?"
    (row,) = rows(app_db, sql, reference)
    assert row == ("PASSPORT", 2, 2, "booked", "DUPONT")
    # ANTS: both ids checked before booking, then declared.
    declared = [c for c in FakeAnts.calls if c[0] == "POST"]
    assert {c[2]["application_id"][0] for c in declared} >= {"4F7K2M9QXZ", "7HC3P4R8WA"}

    chat.say("quels sont mes rendez-vous ?")
    assert reference in chat.text
    chat.say("je veux annuler mon rendez-vous")
    assert "J'annule le rendez-vous " + reference in chat.text, chat.text
    chat.click("Oui")
    assert "C'est annulé" in chat.text
    assert rows(app_db, "SELECT status FROM appointments WHERE reference=?", reference) == [("cancelled",)]
    assert rows(
        app_db,
        "SELECT count(*) FROM slot_claims sc JOIN appointments a ON a.id = sc.appointment_id "
        "WHERE a.reference=?",
        reference,
    ) == [(0,)]
    assert any(c[0] == "DELETE" for c in FakeAnts.calls)


def test_unhappy_answers_get_a_clear_french_reply(stack):
    chat = Chat(stack)
    chat.say("je voudrais prendre rendez-vous")
    assert "Pour quel titre" in chat.text
    chat.click("Carte")
    assert "combien de personnes" in chat.text.lower()
    chat.say("finalement un passeport")  # change of mind before answering
    assert "C'est noté : passeport" in chat.text
    chat.say("1")
    chat.say("4F7K2M9QX")  # 9 characters
    assert "ne semble pas valide" in chat.text
    chat.say("CONS123456")  # ANTS: already used for a document
    assert "a déjà servi" in chat.text, chat.text
    chat.say("je n'ai pas de pré-demande")
    assert "formulaire papier" in chat.text
    chat.click("Peu importe")
    chat.say("hier")
    assert "déjà passé" in chat.text
    chat.say("le 31 février")
    assert "n'existe pas" in chat.text
    chat.say("dimanche")
    assert "Pas de rendez-vous le dimanche" in chat.text and "créneaux libres les plus proches" in chat.text
    chat.first_slot()
    for _ in range(3):
        chat.say("123 !!")
    # The third unusable answer ends the form with the way out; « Reprendre » asks again.
    assert "01 99 00 10 10" in chat.text and "Parler à un agent" in chat.buttons, chat.text
    chat.click("Reprendre")
    assert "nom de famille" in chat.text, chat.text
    chat.say("Martin")
    assert "Sans pré-demande" in chat.text
    chat.click("Non")
    assert "je n'ai rien réservé" in chat.text


def test_stop_and_annuler_leave_the_form_with_nothing_booked(stack, app_db):
    before = rows(app_db, "SELECT count(*) FROM appointments")
    for word in ("stop", "annuler"):
        chat = Chat(stack)
        chat.say("rdv cni")
        chat.say(word)
        assert "aucun rendez-vous n'a été réservé" in chat.text, chat.text
        chat.say("Bonjour")
        assert "bienvenue" in chat.text  # the form is no longer active
    assert rows(app_db, "SELECT count(*) FROM appointments") == before


def test_a_question_mid_form_is_answered_then_the_form_resumes(stack):
    chat = Chat(stack)
    chat.say("rdv passeport pour 1 personne")
    chat.click("C'est quoi")
    assert "La pré-demande se fait en ligne" in chat.text and "pas trouvé" not in chat.text, chat.text
    assert "Quel est votre numéro de pré-demande" in chat.text  # asked again


def test_five_nonsense_answers_end_the_form_after_the_third(stack):
    chat = Chat(stack)
    chat.say("rdv passeport pour 1 personne")
    question = "Quel est votre numéro de pré-demande ANTS"
    assert question in chat.text, chat.text
    for _ in range(2):
        chat.say("123 !!")
        assert "pas trouvé de numéro de pré-demande" in chat.text and question in chat.text, chat.text
    chat.say("123 !!")
    assert "01 99 00 10 10" in chat.text, chat.text
    assert {"Reprendre", "Parler à un agent"} <= set(chat.buttons), chat.buttons
    assert question not in chat.text  # never a 4th time
    for _ in range(2):
        chat.say("123 !!")
        assert question not in chat.text, chat.text


def test_a_phone_apostrophe_in_the_surname_books(stack, app_db):
    chat = Chat(stack)
    reference = book(chat, "rdv cni pour 1 personne", "N4D1AYE7QX", surname="N’Diaye")
    assert rows(app_db, "SELECT surname FROM appointments WHERE reference=?", reference) == [("N'DIAYE",)]


def test_a_ligature_typed_without_it_cancels_from_another_device(stack, app_db):
    reference = book(Chat(stack), "rdv cni pour 1 personne", "L0EU1LL3TX", surname="Lœuillet")
    other = Chat(stack)
    other.say(f"je veux annuler le rendez-vous {reference}")
    assert "nom de famille" in other.text, other.text
    other.say("Loeuillet")
    assert "J'annule le rendez-vous " + reference in other.text, other.text
    other.click("Oui")
    assert "C'est annulé" in other.text
    assert rows(app_db, "SELECT status FROM appointments WHERE reference=?", reference) == [("cancelled",)]


def test_cancel_from_another_channel_needs_the_surname(stack, app_db):
    reference = book(Chat(stack), "rdv cni pour 1 personne", "K2P9X4TM7B", surname="Lefèvre")
    other = Chat(stack)  # another device: another sender id
    other.say(f"je veux annuler le rendez-vous {reference}")
    assert "nom" in other.text.lower()
    other.say("Durand")
    assert "ne correspondent à aucun rendez-vous" in other.text
    other.say(reference)
    other.say("lefevre")  # accents and case do not matter
    assert "J'annule le rendez-vous " + reference in other.text
    other.click("Oui")
    assert "C'est annulé" in other.text
    assert rows(app_db, "SELECT status FROM appointments WHERE reference=?", reference) == [("cancelled",)]


def test_reschedule_moves_the_appointment(stack, app_db):
    chat = Chat(stack)
    reference = book(chat, "rdv cni pour 1 personne", "W6H2T9KQ3Z", surname="Petit")
    (before,) = rows(app_db, "SELECT start FROM appointments WHERE reference=?", reference)
    chat.say("je voudrais déplacer mon rendez-vous")
    assert "Quel nouveau jour" in chat.text, chat.text
    chat.say("la semaine prochaine")
    chat.first_slot()
    assert "Je déplace le rendez-vous " + reference in chat.text
    chat.click("Oui")
    assert "C'est fait" in chat.text
    (after,) = rows(app_db, "SELECT start FROM appointments WHERE reference=?", reference)
    assert after != before


def test_ants_down_refuses_clearly(stack):
    chat = Chat(stack)
    chat.say("rdv cni pour 1 personne")
    chat.say("SLOW123456")
    assert "ne répond pas" in chat.text and "01 99 00 10 10" in chat.text, chat.text
    assert "je n'ai rien réservé" in chat.text.lower()


def hub_get(stack, path, token=HUB_TOKEN):
    request = urllib.request.Request(stack.hub_url + path, headers={"X-HUB-RDV-AUTH-TOKEN": token})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_chat_booking_is_visible_to_ants_through_the_hub(stack):
    assert hub_get(stack, "/getManagedMeetingPoints", token="wrong")[0] == 401
    status, points = hub_get(stack, "/getManagedMeetingPoints")
    assert status == 200 and {p["id"] for p in points} == {"villebrune-mairie", "villebrune-coteaux"}
    reference = book(Chat(stack), "rdv passeport pour 1 personne", "B7Q2M9X4KD", surname="Roux")
    status, found = hub_get(stack, "/searchApplicationIds?application_ids=B7Q2M9X4KD")
    assert status == 200 and found["B7Q2M9X4KD"][0]["management_url"].endswith(reference)


def test_a_pre_application_number_never_shows_someone_else_s_appointment(stack):
    reference = book(Chat(stack), "rdv cni pour 1 personne", "G4R7N1ER8Z", surname="Garnier")
    other = Chat(stack)
    other.say("rdv cni pour 1 personne")
    other.say("G4R7N1ER8Z")
    assert "a déjà un rendez-vous" in other.text, other.text
    assert reference not in other.text and "RDV-" not in other.text, other.text  # nor its date


def test_new_conversations_get_no_new_tries_on_a_reference(stack, app_db):
    reference = book(Chat(stack), "rdv cni pour 1 personne", "F4B2R7E9QX", surname="Fabre")
    for _ in range(3):  # a script: a new conversation (new sender id) for every guess
        other = Chat(stack)
        other.say(f"je veux annuler le rendez-vous {reference}")
        other.say("Durand")
    assert "Je ne peux pas vérifier ce rendez-vous" in other.text, other.text
    other = Chat(stack)  # the right surname now, from yet another conversation
    other.say(f"je veux annuler le rendez-vous {reference}")
    other.say("Fabre")
    assert "Je ne peux pas vérifier ce rendez-vous" in other.text and "J'annule" not in other.text, other.text
    assert rows(app_db, "SELECT status FROM appointments WHERE reference=?", reference) == [("booked",)]


def test_a_reminder_by_email_asked_in_the_chat_is_sent_once_and_can_be_stopped(
    stack, app_db, smtp, monkeypatch
):
    chat = Chat(stack)
    chat.say("rdv cni pour 1 personne")
    assert "pré-demande" in chat.text, chat.text
    chat.say("R3M1ND3RAA")
    if "Dans quelle mairie" in chat.text:
        chat.click("Peu importe")
    chat.say("dans 8 jours")  # far enough for both reminders
    chat.first_slot()
    chat.say("Durand")
    assert "Je récapitule" in chat.text, chat.text
    chat.click("Oui")
    reference = REFERENCE.search(chat.text).group(0)
    # The optional step: the channels the stack configures (SMTP here, no SMS gateway).
    assert "Voulez-vous un rappel" in chat.text, chat.text
    assert "Par e-mail" in chat.buttons and "Non merci" in chat.buttons and "Par SMS" not in chat.buttons
    chat.click("Par e-mail")
    assert "adresse e-mail" in chat.text and "effacée avec le rendez-vous" in chat.text, chat.text
    chat.say("marie.durand@")
    assert "ne semble pas valide" in chat.text, chat.text
    chat.say("Marie.Durand@exemple.fr")
    assert f"vous recevrez un rappel par e-mail 48 h et 24 h avant le rendez-vous {reference}" in chat.text
    assert "exemple.fr" not in chat.text  # never said back
    ((email, start),) = rows(app_db, "SELECT email, start FROM appointments WHERE reference=?", reference)
    assert email == "marie.durand@exemple.fr"

    # Two schedulers at once, 47 h before the appointment (the fake clock): one e-mail.
    monkeypatch.setenv("GRU_LINKS_SECRET", LINKS_SECRET)
    moment = datetime.fromisoformat(start[:19]).replace(tzinfo=ZoneInfo("Europe/Paris"))
    settings = SmtpSettings("127.0.0.1", smtp.port, starttls=False, sender="rdv@villebrune.example")

    async def two_passes(now):
        passes = [{"email": reminders.EmailReminderSender(settings)} for _ in range(2)]
        results = await asyncio.gather(
            *(reminders.run_pass(s, now=now, url=f"sqlite:///{app_db}", env={}) for s in passes)
        )
        for senders in passes:
            await senders["email"].close()
        return sum(r["sent"] for r in results)

    before = len(smtp.messages)
    assert asyncio.run(two_passes(moment - timedelta(hours=47))) == 1
    assert asyncio.run(two_passes(moment - timedelta(hours=46))) == 0
    (recipients, mail), *_ = smtp.messages[before:]
    assert recipients == ["marie.durand@exemple.fr"] and reference in mail["Subject"]
    plain = mail.get_body(("plain",)).get_content()
    assert "justificatif de domicile" in plain and f"/rendez-vous/{reference}?t=" in plain
    assert mail.get_body(("html",)) is not None

    # The opt-out link: a page that asks, then a POST that stops; the 24 h reminder is not sent.
    token = mail["List-Unsubscribe"].strip("<>").split("?t=")[1]
    with urllib.request.urlopen(f"{stack.url}/webhooks/reminders/stop?t={token}", timeout=10) as response:
        page = response.read().decode()
    assert "Ne plus recevoir de rappel" in page and 'lang="fr"' in page
    assert rows(app_db, "SELECT reminders_stopped_at FROM appointments WHERE reference=?", reference) == [
        (None,)
    ]
    data = urllib.parse.urlencode({"t": token}).encode()
    with urllib.request.urlopen(f"{stack.url}/webhooks/reminders/stop", data=data, timeout=10) as response:
        assert "plus aucun rappel" in response.read().decode()
    assert asyncio.run(two_passes(moment - timedelta(hours=23))) == 0
    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(f"{stack.url}/webhooks/reminders/stop?t={token[:-3]}abc", timeout=10)
    assert forged.value.code == 400
