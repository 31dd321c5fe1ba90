"""The alerts conversation on rasa-sdk trackers: the form's answers (typed or clicked,
forged payloads), the subscription stored with its consent, the refusal, the unsubscription
per topic or all, and the active alerts at the start of a visit."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import alerts as chat
from actions.forms import FAILURES_SLOT
from alerts import broadcast
from alerts.subscriptions import subscriptions_of
from tests.unit.responses import said


@pytest.fixture
def database(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    return db_url


def message(intent="inform", text="", choice=None, confidence=0.95):
    entities = [{"entity": "choice", "value": choice}] if choice is not None else []
    return {"intent": {"name": intent, "confidence": confidence}, "entities": entities, "text": text}


def tracker(latest, slots=None, channel="rest", sender="citizen-1", loop="alerts_form"):
    user = {"event": "user", "text": latest["text"], "parse_data": latest, "input_channel": channel}
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": dict(slots or {}),
            "latest_message": latest,
            "events": [user],
            "active_loop": {"name": loop} if loop else {},
            "latest_action_name": "action_listen",
        }  # fmt: skip
    )


async def read(slot, latest, slots=None, channel="rest"):
    dispatcher = CollectingDispatcher()
    form = chat.ValidateAlertsForm()
    slots = {"requested_slot": slot, **(slots or {})}
    result = await getattr(form, f"extract_{slot}")(dispatcher, tracker(latest, slots, channel), {})
    return result, said(dispatcher.messages)


async def test_the_first_message_names_the_topics():
    result, _ = await read(
        "alerts_topics", message("alerts_subscribe", "alertes canicule et crue svp"), {"requested_slot": None}
    )
    assert result == {"alerts_topics": ["inondation", "canicule"]}


@pytest.mark.parametrize(
    "latest, topics",
    [
        (message(text="/inform", choice="all"), list(chat.ALERTS.topics)),
        (message(text="/inform", choice="tempete"), ["tempete"]),
        (message(text="tous"), list(chat.ALERTS.topics)),
        (message(text="la pollution et les travaux"), ["pollution", "travaux_circulation"]),
    ],  # fmt: skip
)
async def test_topics_typed_or_clicked(latest, topics):
    result, _ = await read("alerts_topics", latest)
    assert result == {"alerts_topics": topics, FAILURES_SLOT: 0}


@pytest.mark.parametrize("choice", ["zombies", "x" * 500, "../../etc"])
async def test_a_forged_topic_payload_is_no_answer(choice):
    result, text = await read("alerts_topics", message(text="/inform", choice=choice))
    assert result == {"alerts_topics": None, FAILURES_SLOT: 1} and "pas reconnu le sujet" in text


async def test_sector_by_button_words_or_address():
    assert (await read("alerts_sector", message(text="/inform", choice="gare")))[0]["alerts_sector"] == "gare"
    assert (await read("alerts_sector", message(text="toute la commune")))[0]["alerts_sector"] == "all"
    # an address: the waste geocoder and sectors (same keys) place it
    assert (await read("alerts_sector", message(text="12 rue Pasteur")))[0]["alerts_sector"] == "centre"
    result, text = await read("alerts_sector", message(text="sur la lune"))
    assert result["alerts_sector"] is None and "pas trouvé ce quartier" in text


async def test_channel_here_is_messenger_on_messenger_and_the_site_elsewhere():
    here = message(text="/inform", choice="here")
    assert (await read("alerts_channel", here, channel="facebook"))[0]["alerts_channel"] == "messenger"
    assert (await read("alerts_channel", here, channel="socketio"))[0]["alerts_channel"] == "web"
    result, _ = await read("alerts_channel", message(text="par mail : jean@exemple.fr"))
    assert result == {"alerts_channel": "email", "alerts_contact": "jean@exemple.fr", FAILURES_SLOT: 0}


@pytest.mark.parametrize(
    "channel, text, value",
    [
        ("email", "Jean.Dupont@Exemple.fr", "jean.dupont@exemple.fr"),
        ("email", "pas de mail 😀", None),
        ("sms", "06 12 34 56 78", "+33612345678"),
        ("sms", "12", None),
        ("sms", "0" * 5000, None),
    ],  # fmt: skip
)
async def test_contacts(channel, text, value):
    result, _ = await read("alerts_contact", message(text=text), {"alerts_channel": channel})
    assert result["alerts_contact"] == value


async def test_consent_is_asked_with_its_wording_and_the_privacy_page():
    dispatcher = CollectingDispatcher()
    slots = {"alerts_topics": ["canicule"], "alerts_sector": "all", "alerts_channel": "sms"}
    await chat.ActionAskAlertsConsent().run(dispatcher, tracker(message(), slots), {})
    text = said(dispatcher.messages)
    assert chat.ALERTS.consent.text in text and "confidentialite" in text and "par SMS" in text


async def test_refused_consent_stores_nothing(database):
    form = chat.ValidateAlertsForm()
    slots = {
        "alerts_topics": ["canicule"],
        "alerts_sector": "all",
        "alerts_channel": "web",
        "alerts_consent": False,
    }
    assert await form.required_slots(list(chat.ALERTS_SLOTS), None, tracker(message(), slots), {}) == []
    dispatcher = CollectingDispatcher()
    await chat.ActionAlertsDone().run(dispatcher, tracker(message(), slots, loop=None), {})
    assert "rien enregistré" in said(dispatcher.messages)
    assert subscriptions_of("rest:citizen-1", url=database) == []


async def test_subscription_then_unsubscription_per_topic_then_all(database):
    slots = {"alerts_topics": ["canicule", "inondation"], "alerts_sector": "nord", "alerts_channel": "web",
             "alerts_consent": True}  # fmt: skip
    dispatcher = CollectingDispatcher()
    events = await chat.ActionAlertsDone().run(dispatcher, tracker(message(), slots, loop=None), {})
    assert "prochaine visite" in said(dispatcher.messages)
    assert {e["name"]: e["value"] for e in events}["alerts_topics"] is None  # the form forgets
    (sub,) = subscriptions_of("rest:citizen-1", url=database)
    assert (sub.channel, sub.topics, sub.sector) == ("web", ["inondation", "canicule"], "nord")

    dispatcher = CollectingDispatcher()
    latest = message("alerts_unsubscribe", "plus les alertes canicule")
    await chat.ActionAlertsUnsubscribe().run(dispatcher, tracker(latest, loop=None), {})
    assert "Vous gardez : inondation" in said(dispatcher.messages)
    dispatcher = CollectingDispatcher()
    await chat.ActionAlertsUnsubscribe().run(
        dispatcher, tracker(message("alerts_unsubscribe", "stop alertes"), loop=None), {}
    )
    assert "plus d'alertes" in said(dispatcher.messages)
    assert subscriptions_of("rest:citizen-1", url=database) == []


async def test_messenger_subscription_sends_meta_optin_request(database):
    slots = {
        "alerts_topics": ["tempete"],
        "alerts_sector": "all",
        "alerts_channel": "messenger",
        "alerts_consent": True,
    }
    dispatcher = CollectingDispatcher()
    await chat.ActionAlertsDone().run(
        dispatcher, tracker(message(), slots, channel="facebook", sender="psid-9", loop=None), {}
    )
    (custom,) = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    payload = custom["attachment"]["payload"]
    assert payload["template_type"] == "notification_messages" and len(payload["title"]) <= 65
    (sub,) = subscriptions_of("facebook:psid-9", url=database)
    assert (sub.address, sub.status) == ("psid-9", "pending")


async def test_email_without_smtp_server_stores_nothing(database, monkeypatch):
    monkeypatch.delenv("GRU_SMTP_HOST", raising=False)
    slots = {"alerts_topics": ["tempete"], "alerts_sector": "all", "alerts_channel": "email",
             "alerts_contact": "a@b.fr", "alerts_consent": True}  # fmt: skip
    dispatcher = CollectingDispatcher()
    await chat.ActionAlertsDone().run(dispatcher, tracker(message(), slots, loop=None), {})
    assert "pas envoyer d'e-mail" in said(dispatcher.messages)
    assert subscriptions_of("rest:citizen-1", url=database) == []


async def test_the_start_of_a_visit_tells_the_active_alerts(database):
    preview = broadcast.preview(
        "inondation", ["gare"], "Crue de la Brune : évitez les quais.", "https://x.fr/crue"
    )
    broadcast.confirm(preview.alert_id)
    dispatcher = CollectingDispatcher()
    await chat.welcome_alerts(dispatcher)
    text = said(dispatcher.messages)
    assert "Alerte en cours – Inondation, crue (Quartier de la Gare) : Crue de la Brune" in text
    assert dispatcher.messages[0]["buttons"][0]["url"] == "https://x.fr/crue"


async def test_a_database_down_never_breaks_the_welcome(monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", "sqlite:////nonexistent/dir/x.db")
    dispatcher = CollectingDispatcher()
    await chat.welcome_alerts(dispatcher)
    assert dispatcher.messages == []


# ---- Messenger: Meta's opt-in event and « STOP » (channels/facebook_optin.py) -------------------


async def test_meta_optin_event_then_stop(database):
    from channels import facebook_optin

    slots = {
        "alerts_topics": ["tempete"],
        "alerts_sector": "all",
        "alerts_channel": "messenger",
        "alerts_consent": True,
    }
    await chat.ActionAlertsDone().run(
        CollectingDispatcher(), tracker(message(), slots, channel="facebook", sender="psid-5", loop=None), {}
    )
    replies = []

    async def send_text(psid, text):
        replies.append((psid, text))

    event = {"sender": {"id": "psid-5"}, "recipient": {"id": "page"}, "optin": {
        "type": "notification_messages", "notification_messages_token": "nmt-5",
        "notification_messages_frequency": "WEEKLY", "token_expiry_timestamp": 1893456000000,
        "notification_messages_status": "RESUME_NOTIFICATIONS"}}  # fmt: skip
    assert await facebook_optin.handle_optin(event, send_text)
    (sub,) = subscriptions_of("facebook:psid-5", url=database)
    assert sub.status == "active" and "STOP" in replies[-1][1]
    assert not await facebook_optin.handle_optin(
        {"sender": {"id": "x"}, "optin": {"type": "one_time"}}, send_text
    )
    assert not await facebook_optin.handle_stop("psid-5", "stop ce formulaire svp", send_text)
    assert await facebook_optin.handle_stop("psid-5", " STOP ", send_text)
    assert subscriptions_of("facebook:psid-5", url=database) == []
    assert not await facebook_optin.handle_stop("psid-5", "STOP", send_text)  # nothing left: the chat answers
