"""Personal data: the retention policy file, the purge (application database and Rasa's tracker
store), « oubliez mes données », the welfare details masked in the tracker store, the privacy
notice page and its link in the welcome."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.waste_chat import privacy as privacy_actions
from booking import memory
from booking.engine import local_now
from booking.models import ApplicationClaim, Appointment, RememberedAddress, Site
from booking.privacy import ANONYMOUS, purge_bookings
from core.db import session_scope
from core.privacy import (
    MASK,
    PrivacyConfigError,
    Retention,
    erase_conversation,
    load_privacy,
    mask_idle_triages,
    purge_conversations,
)
from ops import purge as purge_command
from tests.conftest import ROOT
from tests.unit import test_booking_actions
from tests.unit.responses import said
from tests.unit.test_booking_actions import message, tracker

app_db = test_booking_actions.db  # a migrated and seeded application database (fixture)
POLICY = load_privacy()
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


# ---- the policy file ---------------------------------------------------------------------------


def test_the_demo_policy():
    assert POLICY.retention == Retention(
        conversations_days=30, bookings_days_after=90, remembered_address_days=365, reports_days=180
    )
    assert POLICY.dpo.email == "dpo@villebrune.example"
    assert any("30 jours" in POLICY.fill(line) for line in POLICY.notice.data)


def test_a_wrong_policy_file_is_reported_in_french_with_its_line(tmp_path):
    text = (ROOT / "territory" / "demo" / "privacy.yml").read_text(encoding="utf-8")
    text = text.replace("conversations_days: 30", "conversations_days: 0")
    text = text.replace("{bookings_days_after} jours", "{jours} jours")
    path = tmp_path / "privacy.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PrivacyConfigError) as error:
        load_privacy(path)
    message_fr = str(error.value)
    line = text.splitlines().index("  conversations_days: 0") + 1  # the header's length varies
    assert f"retention.conversations_days (ligne {line}) : le nombre doit être supérieur ou égal à 1" in (
        message_fr
    )
    assert "« {jours} » inconnu" in message_fr


# ---- Rasa's tracker store, as Rasa creates it ------------------------------------------------


def rasa_store(path: Path, cls=None):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    return (cls or SQLTrackerStore)(domain=Domain.load(str(ROOT / "domain")), dialect="sqlite", db=str(path))


def user(text: str, intent: str, at: float | None = None):
    from rasa.shared.core.events import UserUttered

    parse = {"intent": {"name": intent, "confidence": 0.95}, "entities": [], "text": text}
    return UserUttered(text, parse["intent"], [], parse_data=parse, timestamp=at, input_channel="rest")


def new_session(at: float):
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at)]


async def save(store, sender: str, events) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    await store.save(DialogueStateTracker.from_events(sender, events, store.domain.slots))


def stored(path: Path, sender: str | None = None) -> list[dict]:
    with sqlite3.connect(path) as conn:
        query = "SELECT data FROM events" + (" WHERE sender_id = ?" if sender else "") + " ORDER BY id"
        rows = conn.execute(query, (sender,) if sender else ()).fetchall()
    return [json.loads(data) for (data,) in rows]


def days_ago(days: float) -> float:
    return (NOW - timedelta(days=days)).timestamp()


async def test_purge_deletes_conversations_older_than_the_retention(tmp_path):
    path = tmp_path / "rasa.db"
    store = rasa_store(path)
    await save(store, "silent", [*new_session(days_ago(40)), user("bonjour", "greet", days_ago(40))])
    await save(
        store,
        "back",
        [
            *new_session(days_ago(40)),
            user("horaires", "opening_hours", days_ago(40)),
            *new_session(days_ago(1)),
            user("re", "greet", days_ago(1)),
        ],
    )
    await save(store, "recent", [*new_session(days_ago(2)), user("salut", "greet", days_ago(2))])

    done = purge_conversations(NOW - timedelta(days=30), url=f"sqlite:///{path}")
    assert done.conversations == 1 and done.events == 3 + 3
    assert stored(path, "silent") == []
    texts = [e.get("text") for e in stored(path, "back") if e["event"] == "user"]
    assert texts == ["re"]  # the older session is gone, the current one is whole
    assert len(stored(path, "recent")) == 3
    assert purge_conversations(NOW - timedelta(days=30), url=f"sqlite:///{path}").events == 0


def test_purge_and_erase_without_a_store_create_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert purge_conversations(NOW, url=url).events == 0
    assert erase_conversation("x", url=url) == 0
    assert not (tmp_path / "none.db").exists()


# ---- the application database ------------------------------------------------------------------


def appointment(
    session, site: str, start: datetime, reference: str, sender: str = "citizen-1"
) -> Appointment:
    row = Appointment(
        reference=reference,
        site_id=site,
        station=1,
        start=start,
        duration_minutes=15,
        reason="CNI",
        people=1,
        documents=1,
        application_ids="AB12CD34EF",
        surname="Dupont",
        address="3 rue Pasteur",
        items="un canapé",
        email="jean.dupont@example.org",
        phone="0601020304",
        channel="rest",
        sender_id=sender,
        status="booked",
        created_at=start - timedelta(days=10),
        updated_at=start - timedelta(days=10),
    )
    session.add(row)
    return row


def test_purge_anonymises_old_appointments_and_forgets_old_addresses(app_db):
    now = local_now(NOW)
    with session_scope(app_db, write=True) as session:
        site = session.execute(select(Site.id)).scalars().first()
        old = appointment(session, site, now - timedelta(days=91), "RDV-OLD001")
        appointment(session, site, now - timedelta(days=89), "RDV-NEW001")
        session.flush()
        session.add(ApplicationClaim(application_id="AB12CD34EF", appointment_id=old.id))
        for sender, days in (("a", 366), ("b", 364)):
            session.add(
                RememberedAddress(
                    channel="rest", sender_id=sender, street="Rue Pasteur", sector="centre",
                    consented_at=now - timedelta(days=days),
                )
            )  # fmt: skip

    done = purge_bookings(POLICY.retention, now=NOW, url=app_db)
    assert (done.appointments, done.addresses) == (1, 1)
    with session_scope(app_db) as session:
        rows = {a.reference: a for a in session.execute(select(Appointment)).scalars()}
        claims = session.execute(select(ApplicationClaim)).scalars().all()
        kept = [r.sender_id for r in session.execute(select(RememberedAddress)).scalars()]
    gone = rows["RDV-OLD001"]
    assert (gone.surname, gone.email, gone.phone, gone.application_ids, gone.address, gone.sender_id) == (
        ANONYMOUS, None, None, "", None, ""
    )  # fmt: skip
    assert (gone.site_id, gone.reason, gone.people, gone.status, gone.items) == (
        site,
        "CNI",
        1,
        "booked",
        "un canapé",
    )
    assert rows["RDV-NEW001"].surname == "Dupont" and rows["RDV-NEW001"].email
    assert claims == [] and kept == ["b"]
    again = purge_bookings(POLICY.retention, now=NOW, url=app_db)
    assert (again.appointments, again.addresses) == (0, 0)


def test_the_purge_command_prints_counts_only(app_db, tmp_path, monkeypatch, capsys):
    path = tmp_path / "rasa.db"
    import asyncio

    asyncio.run(save(rasa_store(path), "jean.dupont@example.org", [*new_session(days_ago(400))]))
    monkeypatch.setenv("GRU_TRACKER_STORE_URL", f"sqlite:///{path}")
    with session_scope(app_db, write=True) as session:
        site = session.execute(select(Site.id)).scalars().first()
        appointment(session, site, local_now() - timedelta(days=200), "RDV-OLD002")
    assert purge_command.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Purge des données : 2 message(s) ou événement(s) de conversation supprimé(s)")
    assert "1 rendez-vous anonymisé(s)" in out
    assert "Dupont" not in out and "jean.dupont" not in out and "RDV-" not in out
    assert stored(path) == []


# ---- « oubliez mes données » -------------------------------------------------------------------


async def test_delete_my_data_erases_the_conversation_in_every_session(app_db, tmp_path, monkeypatch):
    path = tmp_path / "rasa.db"
    store = rasa_store(path)
    now = datetime.now(timezone.utc).timestamp()
    events = [
        *new_session(now - 7200),
        user("ma rue", "inform", now - 7200),
        *new_session(now),
        user("oubli", "greet", now),
    ]
    await save(store, "citizen-1", events)
    await save(store, "someone-else", [*new_session(now), user("bonjour", "greet", now)])
    monkeypatch.setenv("GRU_TRACKER_STORE_URL", f"sqlite:///{path}")
    memory.remember("rest", "citizen-1", "Rue Pasteur", 3, "centre")
    with session_scope(app_db, write=True) as session:
        site = session.execute(select(Site.id)).scalars().first()
        appointment(session, site, local_now() + timedelta(days=5), "RDV-KEEP01")

    dispatcher = CollectingDispatcher()
    await privacy_actions.ActionDeleteMyData().run(
        dispatcher, tracker(message("delete_my_data"), loop=None), {}
    )

    assert stored(path, "citizen-1") == [] and len(stored(path, "someone-else")) == 3
    assert memory.recall("rest", "citizen-1") is None
    with session_scope(app_db) as session:  # the appointment stays: the town hall must receive them
        assert session.execute(select(Appointment.surname)).scalar_one() == "Dupont"
    names = [m["response"] for m in dispatcher.messages]
    assert names == ["utter_my_address_deleted", "utter_my_data_other_requests", "utter_my_appointments_kept"]
    assert [b["title"] for b in dispatcher.messages[-1]["buttons"]] == ["Les annuler aussi", "Les garder"]
    text = said(dispatcher.messages)
    assert "notre conversation est effacée" in text and "adresse enregistrée" in text
    assert "Vos 1 rendez-vous à venir sont gardés : la mairie en a besoin pour vous recevoir" in text
    assert "anonymisés 90 jours après leur date" in text
    assert "dpo@villebrune.example" in text and "http://localhost:8080/confidentialite" in text


async def test_delete_my_data_cancels_the_appointments_when_asked(app_db, tmp_path, monkeypatch):
    monkeypatch.setenv("GRU_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'rasa.db'}")
    with session_scope(app_db, write=True) as session:
        site = session.execute(select(Site.id)).scalars().first()
        appointment(session, site, local_now() + timedelta(days=5), "RDV-MINE01")
        appointment(session, site, local_now() + timedelta(days=6), "RDV-OTHER1", sender="someone-else")
    dispatcher = CollectingDispatcher()
    choice = message("delete_my_data", entities=[("choice", privacy_actions.CANCEL_APPOINTMENTS)])
    await privacy_actions.ActionDeleteMyData().run(dispatcher, tracker(choice, loop=None), {})

    with session_scope(app_db) as session:
        status = dict(session.execute(select(Appointment.reference, Appointment.status)).all())
    assert status == {"RDV-MINE01": "cancelled", "RDV-OTHER1": "booked"}  # only the citizen's own
    names = [m["response"] for m in dispatcher.messages]
    assert names == [
        "utter_no_address_kept",
        "utter_my_appointments_cancelled",
        "utter_my_data_other_requests",
    ]
    assert "J'ai annulé vos 1 rendez-vous à venir" in said(dispatcher.messages)


# ---- the tracker store that Rasa runs ----------------------------------------------------------


async def test_the_store_masks_a_welfare_triage_once_it_ends(tmp_path, monkeypatch):
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet

    from channels.tracker_store import RedactingSQLTrackerStore

    path = tmp_path / "rasa.db"
    store = rasa_store(path, RedactingSQLTrackerStore)
    first = [
        *new_session(1000.0),
        user("bonjour", "greet"),
        BotUttered("Bonjour et bienvenue !"),
        ActionExecuted("action_listen"),
        user("ma mère ne peut plus vivre seule", "welfare_guidance"),
        ActionExecuted("welfare_form"),
        ActiveLoop("welfare_form"),
        SlotSet("welfare_for_whom", "parent"),
        SlotSet("welfare_need", "autonomie"),
        SlotSet("requested_slot", "welfare_age"),
        BotUttered("Quel âge a la personne ?"),
        ActionExecuted("action_listen"),
    ]
    await save(store, "w", first)
    # The form needs the answers at the next message: they are kept while the triage goes on.
    assert (await store.retrieve("w")).get_slot("welfare_for_whom") == "parent"

    tracker_now = await store.retrieve("w")
    for event in [
        user("elle a 82 ans", "inform"),
        ActionExecuted("welfare_form"),
        SlotSet("welfare_age", 82),
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        ActionExecuted("action_welfare_answer"),
        BotUttered(
            "Votre mère, 82 ans, pourrait demander l'APA.",
            metadata={"utter_action": "utter_welfare_answer", "answer": "Votre mère, 82 ans, pourrait…"},
        ),
        BotUttered("Je n'ai rien enregistré de votre situation. Autre chose ?"),
        SlotSet("welfare_for_whom", None),
        SlotSet("welfare_need", None),
        SlotSet("welfare_age", None),
        ActionExecuted("action_listen"),
    ]:
        tracker_now.update(event)
    await store.save(tracker_now)

    rows = stored(path, "w")
    dumped = json.dumps(rows, ensure_ascii=False)
    assert "mère" not in dumped and "82" not in [str(e.get("value")) for e in rows]
    assert "82 ans" not in dumped and "parent" not in dumped and "autonomie" not in dumped
    users = [(e["text"], e["parse_data"]["intent"]["name"]) for e in rows if e["event"] == "user"]
    assert users == [("bonjour", "greet"), (MASK, "welfare_guidance"), (MASK, "inform")]
    bots = [e["text"] for e in rows if e["event"] == "bot"]
    assert bots == ["Bonjour et bienvenue !", MASK, MASK, MASK]
    answer = next(e for e in rows if e["event"] == "bot" and e["metadata"].get("utter_action"))
    assert answer["metadata"] == {"utter_action": "utter_welfare_answer", "answer": MASK}
    assert len(rows) == len(first) + 12  # every event is there, none twice
    again = await store.retrieve("w")
    assert again.get_slot("welfare_age") is None and again.latest_message.text == MASK

    # A later ordinary turn: the session's rows, already masked, are not read and decoded again.
    import channels.tracker_store as module

    passes = []
    real = module.tells_of_welfare
    monkeypatch.setattr(module, "tells_of_welfare", lambda events: passes.append(1) or real(events))
    for event in [user("merci", "thank"), BotUttered("Avec plaisir !"), ActionExecuted("action_listen")]:
        again.update(event)
    await store.save(again)
    assert passes == []
    for event in [user("et pour mon père ?", "welfare_guidance"), ActionExecuted("action_listen")]:
        again.update(event)
    await store.save(again)
    assert passes == [1]
    rows = stored(path, "w")
    assert [e["text"] for e in rows if e["event"] == "user"][-2:] == ["merci", MASK]


async def test_the_purge_masks_a_triage_left_unfinished(tmp_path):
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet

    path = tmp_path / "rasa.db"
    store = rasa_store(path)
    started = (NOW - timedelta(hours=2)).timestamp()
    events = [
        *new_session(started),
        user("ma mère ne peut plus vivre seule", "welfare_guidance", started),
        ActionExecuted("welfare_form", timestamp=started),
        ActiveLoop("welfare_form", timestamp=started),
        SlotSet("welfare_for_whom", "parent", timestamp=started),
    ]
    await save(store, "left", events)
    await save(store, "going-on", [*new_session(NOW.timestamp()), *events[2:]])
    assert mask_idle_triages(NOW - timedelta(hours=1), url=f"sqlite:///{path}") == 2
    assert "mère" not in json.dumps(stored(path, "left"), ensure_ascii=False)
    assert "parent" in json.dumps(stored(path, "going-on"))


async def test_the_store_keeps_nothing_of_a_conversation_that_asked_to_be_forgotten(tmp_path):
    from rasa.shared.core.events import ActionExecuted, BotUttered

    from channels.tracker_store import RedactingSQLTrackerStore

    path = tmp_path / "rasa.db"
    store = rasa_store(path, RedactingSQLTrackerStore)
    await save(store, "other", [*new_session(1000.0), user("bonjour", "greet")])
    await save(store, "me", [*new_session(1000.0), user("bonjour", "greet")])
    me = await store.retrieve("me")
    for event in [
        user("oubliez mes données", "delete_my_data"),
        ActionExecuted("action_delete_my_data"),
        BotUttered("C'est fait : notre conversation est effacée."),
        ActionExecuted("action_listen"),
    ]:
        me.update(event)
    await store.save(me)
    assert stored(path, "me") == [] and len(stored(path, "other")) == 3
    assert await store.retrieve("me") is None


# ---- the bulky-waste pick-up keeps where and what ----------------------------------------------


async def test_a_pick_up_keeps_its_address_and_items_for_the_agents(app_db):
    from actions.waste_chat import bulky
    from booking import engine

    asked = CollectingDispatcher()
    events = await bulky.ActionAskBulkySlot().run(asked, tracker(message(), loop="bulky_form"), {})
    offered = next(e["value"] for e in events if e["event"] == "slot" and e["name"] == "bulky_offered")
    slots = {
        "requested_slot": "bulky_confirmed",
        "bulky_street": "Rue du Moulin",
        "bulky_number": 3,
        "bulky_items": "un canapé et deux chaises",
        "bulky_slot": offered[0],
        "bulky_surname": "GIRARD",
    }
    result = await bulky.ValidateBulkyForm().extract_bulky_confirmed(
        CollectingDispatcher(), tracker(message("affirm", "oui"), slots, loop="bulky_form"), {}
    )
    day = datetime.fromisoformat(offered[0].split("@")[1]).date()
    (view,) = [v for v in engine.appointments_on(day) if v.reference == result["bulky_reference"]]
    assert (view.address, view.items) == ("3 Rue du Moulin", "un canapé et deux chaises")
