"""Events through the running assistant (local agenda of territory/demo/events.yml, real
clock): REST (each card arrives as « title : subtitle » with its links, then « D'autres
événements »), the website's socketio channel (generic-template attachments) and Messenger
(one generic-template carousel with images and « Plus d'infos » reaching the fake Graph API)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.conftest import Chat, FakeGraph
from tests.integration.test_channels_limits import Widget
from tests.integration.test_messenger import message as fb_message
from tests.integration.test_messenger import post, postback, sent_to

pytestmark = pytest.mark.integration


def cards_of(chat: Chat) -> list:
    """The REST replies that are cards: « title : subtitle » with a « Plus d'infos » link."""
    return [r for r in chat.replies if any(b.get("title") == "Plus d'infos" for b in r.get("buttons", []))]


def test_next_events_over_rest_with_paging(stack):
    chat = Chat(stack)
    chat.say("c'est quoi les prochains evenements de la ville ?")
    assert "Voici les prochains événements :" in chat.text, chat.text
    first = cards_of(chat)
    assert len(first) == 5, chat.replies
    assert all(" : " in card["text"] and " · " in card["text"] for card in first)
    assert "D'autres événements" in chat.buttons
    chat.click("D'autres événements")
    assert "Voici la suite de l'agenda" in chat.text, chat.text
    second = cards_of(chat)
    assert second and not {c["text"] for c in first} & {c["text"] for c in second}


def test_weekend_and_christmas_market_over_rest(stack):
    chat = Chat(stack)
    chat.say("qu'est-ce qu'on peut faire ce week-end ?")
    assert "Voici les événements entre le samedi" in chat.text, chat.text
    assert any(c["text"].startswith("Marché du samedi matin : samedi") for c in cards_of(chat)), chat.text
    chat.say("c quand le marché de noel")
    assert "Voici les marchés de Noël" in chat.text, chat.text
    (card,) = cards_of(chat)
    assert card["text"].startswith("Marché de Noël : ") and "Place de l'Église" in card["text"]


def test_nothing_found_gives_the_nearest_events(stack):
    chat = Chat(stack)
    chat.say("y a une brocante le 25 décembre ?")
    assert "Je n'ai rien trouvé pour les brocantes et vide-greniers le" in chat.text, chat.text
    assert "Voici les prochains événements" in chat.text and cards_of(chat), chat.text


def test_events_in_the_middle_of_a_form_then_the_form_goes_on(stack):
    chat = Chat(stack)
    chat.say("quel jour passent les poubelles ?")
    assert "Quelle est votre adresse" in chat.text, chat.text
    chat.say("au fait il y a quoi comme sorties ce week-end ?")
    assert "Voici les événements" in chat.text and "Quelle est votre adresse" in chat.text, chat.text


async def test_webchat_receives_the_cards_as_generic_templates(stack):
    async with Widget(stack) as widget:
        await widget.client.emit(
            "user_uttered", {"message": "des concerts bientôt ?", "session_id": widget.session_id}
        )
        received = [(await widget.next(timeout=60))[1]]
        while True:  # every message of the answer: until 5 s of silence
            try:
                received.append((await widget.next(timeout=5))[1])
            except asyncio.TimeoutError:
                break
    assert received[0]["text"].startswith("Voici les concerts"), received
    attachments = [r["attachment"] for r in received if "attachment" in r]
    assert attachments, received
    for attachment in attachments:
        assert attachment["type"] == "template" and attachment["payload"]["template_type"] == "generic"
    elements = attachments[0]["payload"]["elements"]
    element = elements[0] if isinstance(elements, list) else elements
    assert element["title"] and element["subtitle"]
    assert element["buttons"][0]["type"] == "web_url" and element["buttons"][0]["title"] == "Plus d'infos"


def carousels(calls: list) -> list:
    """The generic-template payloads among Graph API calls."""
    payloads = [c["body"]["message"].get("attachment", {}).get("payload", {}) for c in calls]
    return [p for p in payloads if p.get("template_type") == "generic"]


def test_messenger_gets_a_carousel_with_images_and_more_info(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    post(stack, fb_message(psid, "quels sont les prochains événements de la commune ?"))
    calls = sent_to(psid, since)
    generic = carousels(calls)
    assert generic, calls
    elements = generic[0]["elements"]
    assert 1 <= len(elements) <= 5
    assert all(len(e["title"]) <= 80 and len(e["subtitle"]) <= 80 for e in elements)
    assert all(
        e["buttons"][0]["type"] == "web_url" and e["buttons"][0]["title"] == "Plus d'infos" for e in elements
    )
    with_image = [e for e in elements if e.get("image_url")]
    assert with_image and all(e["image_url"].endswith(".png") for e in with_image), elements
    # the paging button, as a postback button or a quick reply
    assert any("D'autres événements" in str(c["body"]["message"]) for c in calls), calls
    since = len(FakeGraph.sent)
    post(stack, postback(psid, '/events{"choice":"more"}'))
    assert carousels(sent_to(psid, since))
