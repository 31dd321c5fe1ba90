"""The hand-off queue: places, expected wait, taking once, closing; callback requests."""

import asyncio
from datetime import datetime, timedelta

import pytest

from core.db import session_scope
from handoff import callbacks, queue
from handoff.models import CallbackRequest, HandoffRequest
from staff import auth
from staff.models import Agent

NOW = datetime(2026, 12, 1, 9, 0)
PASSWORD = "correct horse battery"


def add_agent(s, login, services, role="agent"):
    return auth.create_agent(
        s, login=login, display_name=login, password=PASSWORD, role=role, services=services, now=NOW
    )


def join(s, conversation, service="etat_civil", on_duty=1, now=NOW):
    return queue.join(
        s,
        conversation_id=conversation,
        channel="rest",
        service=service,
        topic="etat_civil",
        agents_on_duty=on_duty,
        now=now,
    )


def test_places_and_expected_wait_per_service(db_url, monkeypatch):
    monkeypatch.setenv("GRU_HANDOFF_MINUTES", "4")
    with session_scope(db_url, write=True) as s:
        first, second = join(s, "a"), join(s, "b", on_duty=2)
        other = join(s, "c", service="ccas")
        again = join(s, "a")  # asking again keeps the place
    assert (first.place, first.wait_minutes) == (1, 4)
    assert (second.place, second.wait_minutes) == (2, 4)  # two agents share the queue
    assert other.place == 1 and again.request_id == first.request_id and again.place == 1


def test_expected_wait_is_at_least_a_minute():
    assert queue.expected_wait(1, 10, minutes=5) == 1
    assert queue.expected_wait(3, 1, minutes=5) == 15


def test_an_agent_takes_a_conversation_once_and_only_their_service(db_url):
    with session_scope(db_url, write=True) as s:
        mine, other = add_agent(s, "ec1", ["etat_civil"]), add_agent(s, "ec2", ["etat_civil"])
        social, stats = add_agent(s, "cc", ["ccas"]), add_agent(s, "st", ["etat_civil"], role="statistiques")
        request_id = join(s, "a").request_id
        second = join(s, "b").request_id
        assert queue.take(s, request_id, social, NOW) is None
        assert queue.take(s, request_id, stats, NOW) is None
        assert queue.take(s, request_id, mine, NOW).agent_id == mine.id
        assert queue.take(s, request_id, other, NOW) is None  # already taken
        assert queue.place_of(s, s.get(HandoffRequest, second)) == 1  # moved up
        assert queue.held_by(s, request_id, other) is None
        listed = queue.listing(s, other, NOW + timedelta(minutes=3))
        assert [(w.id, w.status, w.waited_minutes) for w in listed] == [
            (request_id, "taken", 3),
            (second, "waiting", 3),
        ]
        assert queue.listing(s, social, NOW) == []


def test_closing_ends_the_hand_off_and_overdue_ones_are_found(db_url):
    with session_scope(db_url, write=True) as s:
        agent = add_agent(s, "ec", ["etat_civil"])
        taken = join(s, "a").request_id
        queue.take(s, taken, agent, NOW)
        waiting = join(s, "b").request_id
        assert [r.id for r in queue.overdue(s, NOW + timedelta(minutes=6), timedelta(minutes=5))] == [waiting]
        assert queue.overdue(s, NOW + timedelta(minutes=4), timedelta(minutes=5)) == []
        queue.close(s, queue.held_by(s, taken, agent), "answered", NOW)
        with pytest.raises(ValueError):
            queue.close(s, s.get(HandoffRequest, waiting), "whatever", NOW)
        assert queue.active_for(s, "a") is None and queue.active_for(s, "b").id == waiting


def test_contacts_are_read_and_normalised():
    assert callbacks.read_contact("mon numéro : 06.12.34.56.78 merci") == callbacks.Contact(
        "phone", "06 12 34 56 78"
    )
    assert callbacks.read_contact("+33 6 12 34 56 78") == callbacks.Contact("phone", "06 12 34 56 78")
    assert callbacks.read_contact("Jeanne.Dupont@Exemple.fr") == callbacks.Contact(
        "email", "jeanne.dupont@exemple.fr"
    )
    assert callbacks.read_contact("demain matin") is None
    assert callbacks.read_contact("12345") is None


def test_callbacks_are_stored_with_a_reference_and_e_mailed(db_url, monkeypatch):
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port
    from tests.integration.conftest import Inbox

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        for key, value in {
            "GRU_SMTP_HOST": "127.0.0.1",
            "GRU_SMTP_PORT": str(controller.port),
            "GRU_SMTP_STARTTLS": "false",
            "GRU_SMTP_FROM": "assistant@villebrune.example",
        }.items():
            monkeypatch.setenv(key, value)
        with session_scope(db_url, write=True) as s:
            request = callbacks.store(
                s,
                service="etat_civil",
                topic="etat_civil",
                contact=callbacks.Contact("phone", "06 12 34 56 78"),
                moment="demain matin",
                now=NOW,
            )
        assert callbacks.REFERENCE.fullmatch(request.reference) and request.reference.startswith("RAP-2026-")
        sent = asyncio.run(
            callbacks.send_to_service(request, "etat-civil@villebrune.example", "Service état civil", None)
        )
    finally:
        controller.stop()
    assert sent
    [(recipients, mail)] = inbox.messages
    assert recipients == ["etat-civil@villebrune.example"]
    assert request.reference in mail["Subject"]
    body = mail.get_content()
    assert "06 12 34 56 78" in body and "demain matin" in body
    with session_scope(db_url, write=True) as s:
        callbacks.mark_sent(s, request.reference, NOW)
    with session_scope(db_url) as s:
        assert s.query(CallbackRequest).one().sent_at == NOW


def test_callbacks_without_smtp_stay_stored_unsent(db_url, monkeypatch):
    monkeypatch.delenv("GRU_SMTP_HOST", raising=False)
    with session_scope(db_url, write=True) as s:
        request = callbacks.store(
            s,
            service="ccas",
            topic=None,
            contact=callbacks.Contact("email", "a@b.fr"),
            moment="lundi",
            now=NOW,
        )
    assert asyncio.run(callbacks.send_to_service(request, "ccas@villebrune.example", "CCAS", None)) is False
    with session_scope(db_url) as s:
        assert s.query(CallbackRequest).one().sent_at is None
        assert s.query(Agent).count() == 0


def test_a_hand_off_nobody_took_is_not_queued_again_at_once(db_url):
    with session_scope(db_url, write=True) as s:
        request = s.get(HandoffRequest, join(s, "a").request_id)
        queue.close(s, request, "not_taken", NOW)
        assert queue.recently_unanswered(s, "a", NOW + timedelta(minutes=1))
        assert not queue.recently_unanswered(s, "b", NOW + timedelta(minutes=1))
        assert not queue.recently_unanswered(s, "a", NOW + queue.take_delay() + timedelta(minutes=1))
