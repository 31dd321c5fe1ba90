"""Facebook Messenger through the real channel of the running assistant: the webhook
handshake, signed and unsigned webhooks, and the exact Graph API requests sent back
(captured by a local server standing for graph.facebook.com). Then a booking made on
Messenger is cancelled from the website, and the other way round."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.integration.conftest import FACEBOOK, REFERENCE, Chat, FakeGraph, book, rows

pytestmark = pytest.mark.integration


def webhook_url(stack) -> str:
    return f"{stack.url}/webhooks/facebook/webhook"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post(stack, event: dict, secret: str | None = FACEBOOK["FACEBOOK_APP_SECRET"]):
    body = json.dumps({"object": "page", "entry": [{"id": "page", "time": 0, "messaging": [event]}]}).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return send(stack, body, headers)


def send(stack, body: bytes, headers: dict):
    request = urllib.request.Request(webhook_url(stack), data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def message(psid: str, text: str) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": "page"},
        "timestamp": 0,
        "message": {"mid": "m", "text": text},
    }


def quick_reply(psid: str, payload: str) -> dict:
    event = message(psid, "choix")
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def postback(psid: str, payload: str) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": "page"},
        "timestamp": 0,
        "postback": {"title": "Démarrer", "payload": payload},
    }


def handled(psid: str, since: int) -> list:
    """Every Graph API call to `psid` after index `since`, once the assistant has finished
    handling that person's message (its closing typing_off reached the Graph server; 10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        found = [c for c in FakeGraph.sent[since:] if c["body"].get("recipient", {}).get("id") == psid]
        if any(c["body"].get("sender_action") == "typing_off" for c in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def sent_to(psid: str, since: int) -> list:
    """The Graph API messages (not sender actions) sent to `psid` after index `since`."""
    return [c for c in handled(psid, since) if "message" in c["body"]]


def texts(calls: list) -> str:
    parts = []
    for call in calls:
        msg = call["body"]["message"]
        parts.append(msg.get("text") or msg.get("attachment", {}).get("payload", {}).get("text", ""))
    return "\n".join(parts)


def test_verify_token_handshake(stack):
    token = FACEBOOK["FACEBOOK_VERIFY_TOKEN"]
    assert get(f"{webhook_url(stack)}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=42") == (
        200,
        "42",
    )
    assert get(f"{webhook_url(stack)}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42")[0] == 403


def test_unsigned_or_wrongly_signed_webhooks_are_refused(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    assert post(stack, message(psid, "Bonjour"), secret=None)[0] == 403
    assert post(stack, message(psid, "Bonjour"), secret="not-the-secret")[0] == 403
    # Then a signed message from the same person: once the Graph server has seen the end of its
    # handling, only that one message was handled (one mark_seen, one typing_off), not three.
    assert post(stack, message(psid, "Bonjour")) == (200, "success")
    actions = [c["body"].get("sender_action") for c in handled(psid, since)]
    assert actions.count("typing_off") == 1, actions
    assert actions.count("mark_seen") == 1, actions


def test_signed_message_gets_the_welcome_as_quick_replies(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    assert post(stack, message(psid, "Bonjour")) == (200, "success")
    calls = sent_to(psid, since)
    (welcome,) = [c for c in calls if "bienvenue" in (c["body"]["message"].get("text") or "")]
    assert welcome["path"].endswith("/me/messages")
    assert welcome["query"]["access_token"] == [FACEBOOK["FACEBOOK_PAGE_ACCESS_TOKEN"]]
    body = welcome["body"]
    assert body["recipient"] == {"id": psid} and body["messaging_type"] == "RESPONSE"
    quick = body["message"]["quick_replies"]
    assert 4 <= len(quick) <= 13 and all(q["content_type"] == "text" and len(q["title"]) <= 20 for q in quick)
    assert {"title": "Horaires d'ouverture", "payload": "/opening_hours", "content_type": "text"} in quick
    actions = [
        c["body"].get("sender_action")
        for c in FakeGraph.sent[since:]
        if c["body"].get("recipient") == {"id": psid}
    ]
    assert actions[0] == "mark_seen" and "typing_on" in actions and actions[-1] == "typing_off"


def test_get_started_and_a_button_template(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    post(stack, postback(psid, "GET_STARTED"))
    assert "bienvenue" in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, message(psid, "comment se débarrasser d'un vieux canapé ?"))
    calls = sent_to(psid, since)
    templates = [
        c["body"]["message"]["attachment"]["payload"] for c in calls if "attachment" in c["body"]["message"]
    ]
    assert templates and templates[0]["template_type"] == "button"
    assert 1 <= len(templates[0]["buttons"]) <= 3 and len(templates[0]["text"]) <= 640
    assert all(b["type"] == "postback" and b["payload"].startswith("/") for b in templates[0]["buttons"])


def test_booked_on_the_website_cancelled_on_messenger(stack, app_db):
    reference = book(Chat(stack), "rdv cni pour 1 personne", "Q7W8E9R2T4", surname="Marchand")
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    post(stack, message(psid, f"je veux annuler le rendez-vous {reference}"))
    assert "nom" in texts(sent_to(psid, since)).lower()
    since = len(FakeGraph.sent)
    post(stack, message(psid, "Marchand"))
    assert "J'annule le rendez-vous " + reference in texts(sent_to(psid, since))
    since = len(FakeGraph.sent)
    post(stack, quick_reply(psid, "/affirm"))
    assert "C'est annulé" in texts(sent_to(psid, since))
    assert rows(app_db, "SELECT status FROM appointments WHERE reference=?", reference) == [("cancelled",)]


def test_booked_on_messenger_cancelled_on_the_website(stack, app_db):
    psid = f"psid-{uuid.uuid4().hex[:8]}"

    def say(event) -> str:
        since = len(FakeGraph.sent)
        post(stack, event)
        return texts(sent_to(psid, since))

    def payloads(since):
        calls = sent_to(psid, since)
        found = []
        for call in calls:
            msg = call["body"]["message"]
            found += [q["payload"] for q in msg.get("quick_replies", [])]
            found += [
                b.get("payload") for b in msg.get("attachment", {}).get("payload", {}).get("buttons", [])
            ]
        return found

    say(message(psid, "rdv cni pour 1 personne"))
    say(message(psid, "Z8X7C6V5B4"))
    since = len(FakeGraph.sent)
    text = say(message(psid, "peu importe"))  # the site question (several mairies)
    if "Quel jour" in text:
        since = len(FakeGraph.sent)
        say(message(psid, "le plus tôt possible"))
    slot = next(p for p in payloads(since) if p and '"choice"' in p and "@" in p)
    assert "nom de famille" in say(quick_reply(psid, slot))
    assert "Je récapitule" in say(message(psid, "Leroy"))
    since = len(FakeGraph.sent)
    reply = say(quick_reply(psid, "/affirm"))
    reference = REFERENCE.search(reply).group(0)
    cards = [
        c["body"]["message"]["attachment"]["payload"]
        for c in sent_to(psid, since)
        if c["body"]["message"].get("attachment", {}).get("payload", {}).get("template_type") == "generic"
    ]
    (card,) = cards[0]["elements"]
    assert card["title"].startswith(reference) and len(card["subtitle"]) <= 80
    assert [b["title"] for b in card["buttons"]] == ["Déplacer", "Annuler"]
    website = Chat(stack)
    website.say(f"je veux annuler le rendez-vous {reference}")
    website.say("leroy")
    website.click("Oui")
    assert "C'est annulé" in website.text
    assert rows(app_db, "SELECT status, channel FROM appointments WHERE reference=?", reference) == [
        ("cancelled", "facebook")
    ]


def test_collection_days_come_with_a_calendar_card(stack):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    since = len(FakeGraph.sent)
    post(stack, message(psid, "quand passe la poubelle jaune rue Pasteur"))
    calls = sent_to(psid, since)
    generic = [
        c["body"]["message"]["attachment"]["payload"]
        for c in calls
        if c["body"]["message"].get("attachment", {}).get("payload", {}).get("template_type") == "generic"
    ]
    (element,) = generic[0]["elements"]
    assert element["title"] == "Calendrier des collectes"
    assert (
        element["buttons"][0]["type"] == "web_url"
        and "/webhooks/calendar/ics?" in element["buttons"][0]["url"]
    )
