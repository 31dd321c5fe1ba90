"""Signalements through the running assistant: REST (the whole flow, the e-mail to the service,
tracking with the contact given, the same problem reported twice, a danger, stop, a question
mid-form, invalid answers), the webchat (socketio with the photo upload endpoint and a shared
position) and Messenger (a location and an image attachment, through the fake Graph API and a
local CDN)."""

from __future__ import annotations

import asyncio
import io
import re
import time
import uuid

import aiohttp
import pytest
from PIL import Image

from tests.integration.conftest import Chat, FakeCdn, FakeGraph, rows
from tests.integration.test_channels_limits import Widget
from tests.integration.test_messenger import message, post, quick_reply, sent_to, texts

pytestmark = pytest.mark.integration

SIG = re.compile(r"SIG-\d{4}-\d{6}")


def photo_with_gps(kind: str = "JPEG") -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    exif[0x8825] = {1: "N", 2: (47.0, 54.0, 10.0), 3: "E", 4: (1.0, 54.0, 33.0)}
    out = io.BytesIO()
    image.save(out, format=kind, exif=exif)
    return out.getvalue()


def report_on_rest(chat: Chat, first: str, place: str, description: str, contact: str | None) -> str:
    chat.say(first)
    assert "Où se trouve le problème" in chat.text, chat.text
    chat.say(place)
    if "déjà été signalé" in chat.text:
        return chat.text
    assert "Décrivez le problème" in chat.text, chat.text
    chat.say(description)
    assert "photo" in chat.text and "Passer" in chat.buttons, chat.text
    chat.click("Passer")
    assert "e-mail ou votre numéro" in chat.text, chat.text
    if contact:
        chat.say(contact)
    else:
        chat.click("Non merci")
    assert "Je récapitule" in chat.text, chat.text
    return chat.say("oui")


def test_pothole_reported_emailed_and_followed(stack, app_db, smtp):
    chat = Chat(stack)
    before = len(smtp.messages)
    answer = report_on_rest(
        chat,
        "je veux signaler un nid de poule dans ma rue",
        "8 rue Pasteur",
        "un trou profond au milieu de la chaussée, depuis lundi",
        "marie.dupont@example.fr",
    )
    reference = SIG.search(answer).group(0)
    assert "Services techniques" in answer and "suivre" in answer
    sql = "SELECT category, place_kind, place, contact_email, reporters FROM reports WHERE reference = ?"
    (row,) = rows(app_db, sql, reference)
    assert row == ("voirie", "address", "8 Rue Pasteur, Villebrune", "marie.dupont@example.fr", 1)
    for _ in range(50):  # the e-mail is sent right after the answer's forwarding try
        if len(smtp.messages) > before:
            break
        time.sleep(0.1)
    recipients, email = smtp.messages[-1]
    assert recipients == ["voirie@villebrune.example"] and reference in email["Subject"]
    assert rows(app_db, "SELECT forward_status FROM reports WHERE reference = ?", reference) == [("sent",)]
    # Tracking: the reference and the e-mail given; a wrong e-mail gets the answer of an unknown number.
    follow = Chat(stack)
    follow.say(f"je voudrais suivre mon dossier {reference}")
    assert "adresse e-mail" in follow.text, follow.text
    follow.say("marie.dupont@example.fr")
    assert reference in follow.text and "Signalement" in follow.text and "reçue" in follow.text, follow.text
    other = Chat(stack)
    other.say(f"suivi du dossier {reference}")
    other.say("quelquun@example.fr")
    assert "Je ne trouve pas de dossier" in other.text, other.text


def test_the_same_problem_twice_is_counted_on_the_first_report(stack, app_db):
    first = report_on_rest(Chat(stack), "le lampadaire devant chez moi ne marche plus", "15 rue Pasteur",
                           "le lampadaire reste éteint toute la nuit", None)  # fmt: skip
    reference = SIG.search(first).group(0)
    assert "ne pourrez pas suivre" in first
    again = report_on_rest(Chat(stack), "un lampadaire est en panne", "15 rue Pasteur", "", None)
    assert "déjà été signalé" in again and reference in again, again
    assert rows(app_db, "SELECT reporters FROM reports WHERE reference = ?", reference) == [(2,)]


def test_danger_gets_the_emergency_numbers_first_and_nothing_is_recorded(stack, app_db):
    count = rows(app_db, "SELECT count(*) FROM reports")[0][0]
    chat = Chat(stack)
    chat.say("ça sent le gaz dans toute la rue")
    assert chat.replies[0]["text"].startswith("Urgence") and "0 800 47 33 33" in chat.replies[0]["text"]
    assert "Je n'ai rien enregistré" in chat.text
    assert rows(app_db, "SELECT count(*) FROM reports")[0][0] == count


def test_stop_question_mid_form_and_invalid_answers(stack, app_db):
    chat = Chat(stack)
    chat.say("je voudrais faire un signalement")
    assert "De quel type de problème" in chat.text and "Graffiti, tag" in chat.buttons, chat.text
    chat.say('/inform{"choice": "cat:n_importe_quoi"}')  # a forged button
    assert "Je n'ai pas reconnu le type de problème" in chat.text, chat.text
    chat.click("Graffiti")
    assert "Où se trouve le problème" in chat.text
    chat.say("vous êtes un robot ?")
    assert "Où se trouve le problème" in chat.text, chat.text  # answered, then asked again
    chat.say("devant l'école Jean Moulin")
    chat.say("🙂🙂🙂")
    assert "quelques mots pour décrire" in chat.text, chat.text
    chat.say("x" * 1500)
    assert "trop longue" in chat.text, chat.text
    chat.say("un grand tag noir sur le mur du préau")
    chat.say('/share_photo{"upload_id": "0123456789abcdef0123456789abcdef"}')  # not this conversation's
    assert "Je ne retrouve pas cette photo" in chat.text, chat.text
    chat.say('/share_photo{"photo_url": "http://169.254.169.254/latest/meta-data"}')  # forged, not Messenger
    assert "Je ne retrouve pas cette photo" in chat.text, chat.text
    chat.click("Passer")
    chat.say("mon mail c'est jean.dupont chez gmail")
    assert "Je n'ai pas reconnu d'adresse e-mail" in chat.text, chat.text
    chat.say("pas maintenant merci")  # a refusal (deny), not an unreadable e-mail address
    assert "Contact : aucun" in chat.text and "devant l'école Jean Moulin" in chat.text, chat.text
    chat.say("stop")
    assert "Le signalement est annulé" in chat.text or "j'arrête" in chat.text.lower(), chat.text
    assert rows(app_db, "SELECT count(*) FROM reports WHERE category = 'graffiti'") == [(0,)]


# ---- webchat: the upload endpoint and a shared position --------------------------------------------


async def upload(stack, session: str | None, data: bytes, filename: str = "photo.jpg"):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="image/jpeg")
    headers = {"X-Gru-Session": session} if session is not None else {}
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{stack.url}/webhooks/uploads/photo", data=form, headers=headers) as response:
            return response.status, await response.json()


async def test_upload_endpoint_refuses_in_french(stack):
    assert (await upload(stack, None, photo_with_gps()))[0] == 400
    status, body = await upload(stack, "s-" + uuid.uuid4().hex, b"%PDF-1.4 not a photo", "cv.pdf")
    assert status == 415 and "JPEG, PNG et WebP" in body["error"]
    status, body = await upload(stack, "s-" + uuid.uuid4().hex, b"\xff" * (5 * 1024 * 1024 + 10))
    assert status == 413 and "5 Mo" in body["error"]


async def test_webchat_report_with_position_and_uploaded_photo(stack, app_db):
    async with Widget(stack) as widget:
        customs, texts_seen = [], []

        def keep(data: dict) -> None:
            texts_seen.append(data.get("text", ""))
            if "custom" in data:
                customs.append(data["custom"])

        async def turn(text: str) -> None:
            """Say it, then keep every bot_uttered of the answer (they come together)."""
            keep((await widget.say(text))[1])
            try:
                while True:
                    keep((await widget.next(timeout=3))[1])
            except asyncio.TimeoutError:
                pass

        await turn("un banc est cassé dans le parc")
        assert any("Où se trouve le problème" in t for t in texts_seen), texts_seen
        assert {"type": "request_location"} in customs, customs
        await turn('/share_location{"latitude": 47.9152, "longitude": 1.8871}')
        await turn("le dossier du banc est arraché, des clous dépassent")
        assert {"type": "request_photo"} in customs, customs
        status, body = await upload(stack, widget.session_id, photo_with_gps())
        assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", body["upload_id"])
        await turn(f'/share_photo{{"upload_id": "{body["upload_id"]}"}}')
        await turn('/inform{"choice": "skip"}')
        assert any("Je récapitule" in t and "Photo : oui" in t for t in texts_seen), texts_seen
        await turn("oui")
        reference = next(SIG.search(t).group(0) for t in texts_seen if SIG.search(t))
    sql = "SELECT category, place_kind, latitude, photo_id FROM reports WHERE reference = ?"
    (row,) = rows(app_db, sql, reference)
    assert row == ("mobilier", "location", 47.9152, body["upload_id"])
    (path,) = stack.uploads_dir.glob(f"{body['upload_id']}.*")
    assert b"SecretCamera" not in path.read_bytes()  # stored without its EXIF (camera, GPS)


# ---- Messenger: a location and an image attachment -------------------------------------------------


def attachment(psid: str, kind: str, payload: dict) -> dict:
    event = message(psid, "")
    del event["message"]["text"]
    event["message"]["attachments"] = [{"type": kind, "payload": payload}]
    return event


def test_messenger_report_with_location_and_image(stack, app_db, cdn):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    FakeCdn.files["/v/t1/photo.jpg"] = photo_with_gps()
    since = len(FakeGraph.sent)
    assert post(stack, message(psid, "y a des dechets balancés dans le bois"))[0] == 200
    assert "Où se trouve le problème" in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, attachment(psid, "location", {"coordinates": {"lat": 47.8991, "long": 1.9204}}))
    assert "Décrivez le problème" in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, message(psid, "des sacs de gravats et un vieux frigo au bord du chemin"))
    assert "photo" in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, attachment(psid, "image", {"url": f"http://127.0.0.1:{cdn.server_port}/v/t1/photo.jpg"}))
    assert "informé du suivi" in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, quick_reply(psid, '/inform{"choice":"skip"}'))
    assert "Je récapitule" in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, message(psid, "oui"))
    reference = SIG.search(texts(sent_to(psid, since))).group(0)
    (row,) = rows(
        app_db, "SELECT category, place_kind, channel, photo_id FROM reports WHERE reference = ?", reference
    )
    assert row[:3] == ("proprete", "location", "facebook") and row[3]
