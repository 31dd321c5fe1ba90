"""Personal data of hand-offs and callback requests (handoff/privacy.py): a callback request
carries a pseudonym of its conversation, never the sender id; « oubliez mes données » erases the
conversation's callback requests and the sender id of its closed hand-offs; the purge does the
same after `callbacks_days` / `conversations_days`, and the statistics still count the rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import handoff
from actions.waste_chat import privacy as privacy_actions
from analytics.ingest import pseudonym as statistics_pseudonym
from core.db import session_scope
from core.privacy import load_privacy
from handoff.callbacks import Contact, store
from handoff.models import CallbackRequest, HandoffRequest
from handoff.privacy import conversation_key, forget_conversation, purge_handoffs
from handoff.stats import handoff_counts
from ops import purge as purge_command
from tests.unit.test_actions import run, tracker, user
from tests.unit.test_booking_actions import message
from tests.unit.test_booking_actions import tracker as booking_tracker

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
UTC_NOW = NOW.replace(tzinfo=None)


def callback(session, sender: str, contact: str, days_ago: float) -> CallbackRequest:
    kind = "email" if "@" in contact else "phone"
    return store(
        session,
        service="ccas",
        topic="welfare",
        contact=Contact(kind, contact),
        moment="le matin, après ma dialyse",
        now=UTC_NOW - timedelta(days=days_ago),
        conversation=conversation_key(sender),
    )


def handoff_row(session, sender: str, status: str, closed_days_ago: float | None = None) -> HandoffRequest:
    created = UTC_NOW - timedelta(days=(closed_days_ago or 0) + 0.01)
    row = HandoffRequest(
        conversation_id=sender,
        channel="rest",
        service="accueil",
        topic="appointments",
        status=status,
        created_at=created,
        taken_at=created + timedelta(minutes=2),
        agent_id=1,
        closed_at=None if closed_days_ago is None else UTC_NOW - timedelta(days=closed_days_ago),
        close_reason=None if closed_days_ago is None else "answered",
    )
    session.add(row)
    return row


def callbacks_by_contact(db_url) -> dict:
    with session_scope(db_url) as s:
        return {r.reference: r for r in s.execute(select(CallbackRequest)).scalars()}


def handoff_senders(db_url) -> list:
    with session_scope(db_url) as s:
        rows = s.execute(select(HandoffRequest).order_by(HandoffRequest.id)).scalars()
        return [(r.status, r.conversation_id) for r in rows]


async def test_a_callback_request_stores_a_pseudonym_of_its_conversation(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.delenv("GRU_SMTP_HOST", raising=False)
    slots = {"callback_contact": "phone:06 12 34 56 78", "callback_moment": "lundi", "callback_consent": True}
    await run(handoff.ActionCallbackDone(), tracker(user("welfare_guidance"), user("affirm"), slots=slots))
    with session_scope(db_url) as s:
        row = s.execute(select(CallbackRequest)).scalar_one()
    assert row.conversation == conversation_key("citizen-1") and len(row.conversation) == 16
    assert "citizen-1" not in row.conversation
    # Not the statistics' pseudonym: the contact cannot be joined to the conversation's topics.
    assert row.conversation != statistics_pseudonym("citizen-1")
    assert conversation_key("citizen-1") == conversation_key("citizen-1") != conversation_key("citizen-2")


async def test_delete_my_data_erases_the_callback_requests_and_closed_handoffs(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.setenv("GRU_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'rasa.db'}")
    with session_scope(db_url, write=True) as s:
        mine = callback(s, "citizen-1", "jeanne.unique@example.org", days_ago=1).reference
        theirs = callback(s, "someone-else", "06 98 76 54 32", days_ago=1).reference
        handoff_row(s, "citizen-1", "closed", closed_days_ago=1)
        handoff_row(s, "someone-else", "closed", closed_days_ago=1)
    dispatcher = CollectingDispatcher()
    await privacy_actions.ActionDeleteMyData().run(
        dispatcher, booking_tracker(message("delete_my_data"), loop=None), {}
    )

    rows = callbacks_by_contact(db_url)
    assert (rows[mine].contact, rows[mine].moment, rows[mine].conversation) == ("", "", None)
    assert (rows[mine].service, rows[mine].contact_kind) == ("ccas", "email")  # for the statistics
    assert rows[theirs].contact == "06 98 76 54 32" and rows[theirs].conversation == conversation_key(
        "someone-else"
    )
    assert handoff_senders(db_url) == [("closed", ""), ("closed", "someone-else")]


def test_forgetting_keeps_an_active_handoff_for_the_agent(db_url):
    with session_scope(db_url, write=True) as s:
        handoff_row(s, "citizen-1", "taken")
        handoff_row(s, "citizen-1", "closed", closed_days_ago=0.5)
    done = forget_conversation("citizen-1", url=db_url)
    assert (done.callbacks, done.handoffs) == (0, 1)
    assert handoff_senders(db_url) == [("taken", "citizen-1"), ("closed", "")]


def test_the_purge_erases_old_callbacks_and_old_closed_handoffs_and_keeps_the_counts(db_url):
    retention = load_privacy().retention
    assert retention.callbacks_days == 90
    with session_scope(db_url, write=True) as s:
        old = callback(s, "a", "old@example.org", days_ago=retention.callbacks_days + 1).reference
        new = callback(s, "b", "new@example.org", days_ago=retention.callbacks_days - 1).reference
        handoff_row(s, "old-closed", "closed", closed_days_ago=retention.conversations_days + 1)
        handoff_row(s, "new-closed", "closed", closed_days_ago=retention.conversations_days - 1)
        handoff_row(s, "waiting-long", "waiting")
    tz = ZoneInfo("Europe/Paris")
    before = handoff_counts(date(2026, 1, 1), date(2026, 12, 31), tz, url=db_url)

    done = purge_handoffs(retention.callbacks_days, retention.conversations_days, now=NOW, url=db_url)

    assert (done.callbacks, done.handoffs) == (1, 1)
    rows = callbacks_by_contact(db_url)
    assert (rows[old].contact, rows[old].moment, rows[old].conversation) == ("", "", None)
    assert rows[new].contact == "new@example.org" and rows[new].conversation == conversation_key("b")
    assert handoff_senders(db_url) == [("closed", ""), ("closed", "new-closed"), ("waiting", "waiting-long")]
    after = handoff_counts(date(2026, 1, 1), date(2026, 12, 31), tz, url=db_url)
    assert after.by_service == before.by_service and sum(after.by_service["ccas"].values()) == 2
    again = purge_handoffs(retention.callbacks_days, retention.conversations_days, now=NOW, url=db_url)
    assert (again.callbacks, again.handoffs) == (0, 0)


def test_the_purge_command_counts_callbacks_and_handoffs(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    monkeypatch.setenv("GRU_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'rasa.db'}")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with session_scope(db_url, write=True) as s:
        store(s, service="ccas", topic=None, contact=Contact("email", "vieux.rappel@example.org"),
              moment="lundi", now=now - timedelta(days=91), conversation=conversation_key("x"))  # fmt: skip
    assert purge_command.main([]) == 0
    out = capsys.readouterr().out
    assert (
        "Agents : 1 demande(s) de rappel sans coordonnées désormais, "
        "0 mise(s) en relation sans identifiant de conversation désormais." in out
    )
    assert "vieux.rappel" not in out and "RAP-" not in out
