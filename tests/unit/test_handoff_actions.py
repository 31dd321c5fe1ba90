"""« Parler à un agent »: the queue during opening hours with an agent on duty, the contact
otherwise; « retour à l'assistant » while paused (channels/handoff.py); the callback form."""

from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.events import ActionExecuted
from rasa_sdk.events import ConversationPaused as SdkPaused

from actions import handoff
from channels import handoff as hook
from core.db import session_scope
from handoff import queue
from handoff.models import CallbackRequest, HandoffRequest
from staff import auth
from tests.unit.test_actions import run, tracker, user

PASSWORD = "correct horse battery"


def on_duty(db_url, services=("etat_civil",)):
    with session_scope(db_url, write=True) as s:
        agent = auth.create_agent(s, login="jeanne", display_name="Jeanne", password=PASSWORD, role="agent",
                                  services=list(services), now=auth.utcnow())  # fmt: skip
        auth.open_session(s, agent, auth.utcnow())


def handoff_tracker():
    return tracker(user("book_appointment"), {"event": "bot", "text": "..."}, user("human_handoff"))


async def test_open_service_with_an_agent_queues_and_pauses(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.setattr(handoff, "service_open", lambda key: True)
    on_duty(db_url)
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert "Service état civil" in messages[0]["text"] and "la prochaine personne" in messages[0]["text"]
    assert messages[0]["buttons"][0]["payload"] == hook.BACK_PAYLOAD
    assert events == [SdkPaused(), ActionExecuted("action_listen")] and events[0]["event"] == "pause"
    with session_scope(db_url) as s:
        row = s.query(HandoffRequest).one()
        assert (row.conversation_id, row.service, row.topic, row.status) == (
            "citizen-1",
            "etat_civil",
            "appointments",
            "waiting",
        )


async def test_no_agent_on_duty_gives_the_contact_and_the_callback(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.setattr(handoff, "service_open", lambda key: True)
    on_duty(db_url, services=("ccas",))
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert "01 99 00 10 10" in messages[0]["text"] and events == []
    assert "recontacte ?" in messages[0]["text"] and messages[0]["buttons"][0]["payload"] == "/affirm"


async def test_closed_service_gives_the_contact(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.setattr(handoff, "service_open", lambda key: False)
    on_duty(db_url)
    messages, events = await run(handoff.ActionHumanHandoff(), handoff_tracker())
    assert "01 99 00 10 10" in messages[0]["text"] and events == []


def test_back_to_the_assistant_words():
    for text in ("/handoff_back", "Retour à l'assistant", "retour a l’assistant !", "revenir à l'assistant"):
        assert hook.wants_the_assistant_back(text), text
    for text in ("retour", "je veux retourner mon colis", None, 12):
        assert not hook.wants_the_assistant_back(text)


class Processor:
    def __init__(self, tracker):
        self.tracker = tracker

    async def get_tracker(self, conversation_id):
        return self.tracker

    async def save_tracker(self, tracker):
        self.tracker = tracker


class App:
    def __init__(self, tracker):
        agent = type("Agent", (), {})()
        agent.lock_store, agent.processor = InMemoryLockStore(), Processor(tracker)
        self.ctx = type("Ctx", (), {"agent": agent})()


async def test_going_back_ends_the_hand_off_and_resumes_the_conversation(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    with session_scope(db_url, write=True) as s:
        queue.join(s, conversation_id="citizen-1", channel="rest", service="etat_civil", topic=None,
                   agents_on_duty=1, now=auth.utcnow())  # fmt: skip
    paused = DialogueStateTracker("citizen-1", slots=[])
    paused.update(UserUttered("un agent"))
    paused.update(ConversationPaused())
    app = App(paused)
    assert await hook.before_message(app, "citizen-1", "bonjour ?") == "bonjour ?"  # the agent reads it
    assert app.ctx.agent.processor.tracker.is_paused()
    assert await hook.before_message(app, "citizen-1", "retour à l'assistant") == hook.AFTER_BACK
    assert not app.ctx.agent.processor.tracker.is_paused()
    with session_scope(db_url) as s:
        assert s.query(HandoffRequest).one().close_reason == "citizen_left"
    # Words alone, with no hand-off, are an ordinary message; the stale button is not.
    assert await hook.before_message(app, "citizen-1", "retour à l'assistant") == "retour à l'assistant"
    assert await hook.before_message(app, "citizen-1", "/handoff_back") == hook.AFTER_BACK


def form_tracker(requested, message, slots=None):
    tr = tracker(user("affirm"), {"event": "action", "name": "callback_form"}, message,
                 slots={"requested_slot": requested, **(slots or {})})  # fmt: skip
    tr.active_loop = {"name": "callback_form"}
    return tr


async def test_the_callback_form_reads_contact_moment_and_consent():
    form = handoff.ValidateCallbackForm()
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    read = await form.extract_callback_contact(
        dispatcher, form_tracker("callback_contact", user("inform", "le 06 12 34 56 78")), {}
    )
    assert read["callback_contact"] == "phone:06 12 34 56 78"
    bad = await form.extract_callback_contact(
        dispatcher, form_tracker("callback_contact", user("inform", "plus tard")), {}
    )
    assert (
        bad["callback_contact"] is None
        and dispatcher.messages[-1]["response"] == "utter_callback_contact_invalid"
    )
    moment = await form.extract_callback_moment(
        dispatcher, form_tracker("callback_moment", user("opening_hours", "demain  matin")), {}
    )
    assert moment["callback_moment"] == "demain matin"
    yes = await form.extract_callback_consent(
        dispatcher, form_tracker("callback_consent", user("affirm", "oui")), {}
    )
    assert yes["callback_consent"] is True
    assert form.is_answer(
        form_tracker("callback_moment", user("opening_hours", "lundi après 14 h")), "callback_moment"
    )
    assert not form.is_answer(form_tracker("callback_moment", user("stop", "stop")), "callback_moment")


async def test_the_callback_is_stored_with_its_reference(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.delenv("GRU_SMTP_HOST", raising=False)
    slots = {"callback_contact": "email:a@b.fr", "callback_moment": "demain matin", "callback_consent": True}
    tr = tracker(user("welfare_guidance"), user("affirm"), slots=slots)
    messages, events = await run(handoff.ActionCallbackDone(), tr)
    with session_scope(db_url) as s:
        row = s.query(CallbackRequest).one()
    assert row.reference in messages[0]["text"] and "CCAS" in messages[0]["text"]
    assert (row.service, row.contact_kind, row.contact, row.moment) == (
        "ccas",
        "email",
        "a@b.fr",
        "demain matin",
    )
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"}["callback_contact"] is None


async def test_no_consent_no_callback(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    slots = {
        "callback_contact": "phone:06 12 34 56 78",
        "callback_moment": "lundi",
        "callback_consent": False,
    }
    messages, _ = await run(handoff.ActionCallbackDone(), tracker(user("affirm"), slots=slots))
    assert "je n'enregistre rien" in messages[0]["text"]
    with session_scope(db_url) as s:
        assert s.query(CallbackRequest).count() == 0


class GraphRecorder:
    def __init__(self):
        self.sent = []

    def send(self, payload, recipient_id, messaging_type="RESPONSE", tag=None):
        self.sent.append((recipient_id, payload, messaging_type, tag))


async def test_an_agents_reply_on_messenger_is_sent_once_with_the_human_agent_tag():
    from channels.facebook import HUMAN_AGENT_KEY, MessengerOutput
    from handoff import rasa_api
    from handoff.rasa_api import bot_event

    graph = GraphRecorder()
    output = MessengerOutput(graph)
    event = bot_event("facebook", "Votre dossier est complet.", "Jeanne")
    message = {"text": event["text"], **event["data"]}  # what BotUttered.message() gives the channel
    await output.send_response("psid-1", message)
    assert graph.sent == [("psid-1", {"text": "Votre dossier est complet."}, "MESSAGE_TAG", "HUMAN_AGENT")]
    assert HUMAN_AGENT_KEY == rasa_api.HUMAN_AGENT_KEY  # the console cannot import channels/: one key
    await output.send_response("psid-1", {"text": "L'assistant reprend."})  # the bot's own: a plain response
    assert graph.sent[-1] == ("psid-1", {"text": "L'assistant reprend."}, "RESPONSE", None)
