"""The statistics from a seeded tracker store whose counts are known (tests/unit/analytics_seed.py):
the job's tables, the dashboard's figures, incremental and idempotent runs, no personal data."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from analytics import ingest
from analytics.figures import conversation_figures
from analytics.models import AnalyticsForm, AnalyticsSession, AnalyticsUnanswered
from analytics.sessions import split_sessions
from core.db import session_scope
from tests.unit.analytics_seed import (
    DAY1,
    DAY2,
    EXPECTED,
    LATER,
    NOW,
    PARIS,
    PERSONAL,
    Conversation,
    append,
    at,
    conversations,
    create_store,
    seed,
)
from tests.unit.test_booking_actions import db as app_db  # noqa: F401 - a migrated database (fixture)


@pytest.fixture
def store(tmp_path):
    return create_store(tmp_path / "rasa.db")


@pytest.fixture
def seeded(store, db_url):  # noqa: F811
    seed(store)
    report = ingest.ingest(tracker_url=store, db_url=db_url, now=NOW)
    return store, db_url, report


def figures(db_url, now=NOW, start=DAY1, end=DAY2):
    with session_scope(db_url) as db:
        return conversation_figures(db, start, end, now)


def rows(table):
    return {row[0]: row[1:] for row in table.rows}


def test_the_job_reads_every_event_once_and_writes_one_row_per_session(seeded):
    _, db_url, report = seeded
    events = sum(len(c.events) for c in conversations())
    assert (report.events, report.conversations, report.sessions) == (events, 6, EXPECTED["conversations"])
    with session_scope(db_url) as db:
        assert sorted(db.execute(select(AnalyticsSession.turns)).scalars()) == sorted(EXPECTED["turns"])


def test_the_dashboard_figures_match_the_seeded_conversations(seeded):
    _, db_url, _ = seeded
    found = figures(db_url)
    assert found.indicator("conversations") == EXPECTED["conversations"]
    assert found.indicator("messages") == EXPECTED["messages"]
    assert found.indicator("non_compris") == round(100 * 2 / 22, 1)
    assert found.indicator("messages_moyenne") == round(22 / 8, 1)
    assert found.indicator("messages_mediane") == 2.5  # 1 2 2 2 | 3 3 4 5
    assert found.indicator("agents") == EXPECTED["handoff_sessions"]
    assert found.indicator("satisfaction") == 50.0
    # finished démarches: 1 stopped, 1 abandoned, 1 switched, 2 completed (tracking is still open;
    # the satisfaction form is no démarche)
    assert found.indicator("achevement") == 40.0

    by_day = found.table("conversations")
    assert by_day.columns == ["Jour", "Site web", "Messenger", "Total"]
    assert rows(by_day) == {"30/11/2026": [4, 0, 4], "01/12/2026": [2, 2, 4]}

    turns = rows(found.table("messages_par_conversation"))
    assert [turns[k][0] for k in ("1 message", "2 messages", "3 à 5", "6 à 10", "11 et plus")] == [
        1,
        3,
        4,
        0,
        0,
    ]

    fallback = rows(found.table("non_compris"))
    assert fallback == {"30/11/2026": [10, 1, 10.0], "01/12/2026": [12, 1, 8.3]}

    topics = rows(found.table("sujets"))
    assert topics["Échanges courants (bonjour, merci…)"][0] == 10  # greet ×3, inform ×6, stop
    assert topics["Questions de la vie quotidienne"][0] == 2
    assert topics["Rendez-vous CNI / passeport"][0] == 3
    assert topics["Déchets"][0] == 2 and topics["Non compris"][0] == 1
    assert sum(v[0] for v in topics.values()) == 22

    intents = {row[1]: row[2] for row in found.table("intentions").rows}
    assert intents["inform"] == 6 and intents["book_appointment"] == 3 and intents["greet"] == 3

    hours = rows(found.table("heures"))
    assert (hours["8 h – 9 h"], hours["9 h – 10 h"], hours["14 h – 15 h"], hours["15 h – 16 h"]) == (
        [3], [9], [7], [2])  # fmt: skip
    weekdays = rows(found.table("jours_semaine"))
    assert weekdays["Lundi"] == [10] and weekdays["Mardi"] == [12]


def test_forms_completion_and_where_they_stop(seeded):
    _, db_url, _ = seeded
    forms = {row[0]: row[1:] for row in figures(db_url).table("demarches").rows}
    # Commencées, Terminées, Arrêtées, Agent, Échecs, Autre sujet, Indisponible, Abandonnées, En cours, Taux
    assert forms["Rendez-vous CNI / passeport"] == [3, 0, 1, 0, 0, 1, 0, 1, 0, 0.0]
    assert forms["Jours de collecte"] == [2, 2, 0, 0, 0, 0, 0, 0, 0, 100.0]
    assert forms["Suivi de dossier"] == [1, 0, 0, 0, 0, 0, 0, 0, 1, None]
    assert "Avis sur une réponse" not in forms
    stops = {(row[0], row[1]): row[2:] for row in figures(db_url).table("abandons").rows}
    # Arrêtées, Échecs, Abandonnées, Agent, Autre sujet, Total
    assert stops[("Rendez-vous CNI / passeport", "Nombre de personnes")] == [1, 0, 0, 0, 0, 1]
    assert stops[("Rendez-vous CNI / passeport", "Type de document")] == [0, 0, 1, 0, 1, 2]


def test_a_form_left_open_counts_as_abandoned_after_an_hour_of_silence(seeded):
    _, db_url, _ = seeded
    forms = {row[0]: row[1:] for row in figures(db_url, now=LATER).table("demarches").rows}
    assert forms["Suivi de dossier"] == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0.0]
    stops = {(row[0], row[1]): row[-1] for row in figures(db_url, now=LATER).table("abandons").rows}
    assert stops[("Suivi de dossier", "E-mail ou nom du dossier")] == 1


def test_satisfaction_once_per_conversation_and_the_texts_kept_masked(seeded):
    _, db_url, _ = seeded
    satisfaction = figures(db_url).table("satisfaction").rows
    assert satisfaction == [["Questions de la vie quotidienne", 2, 1, 1, 50.0, 100.0]]
    with session_scope(db_url) as db:
        kept = {(u.kind, u.text, u.intent) for u in db.execute(select(AnalyticsUnanswered)).scalars()}
    assert kept == {
        ("fallback", "je m'appelle [nom], où est la piscine ?", "faq"),
        ("fallback", "et le truc là", "inform"),
        ("unhelpful", "quels sont les horaires de la piscine le dimanche", "faq"),
        ("comment", "Les horaires du samedi manquent, appelez-moi au [téléphone]. Cordialement, [nom]", None),
    }


def test_no_personal_data_in_the_statistics_tables(seeded):
    _, db_url, _ = seeded
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'analytics_%'")
        ]
        cells = [str(v) for t in tables for row in conn.execute(f"SELECT * FROM {t}") for v in row]  # noqa: S608
    assert len(tables) == 5 and cells
    leaked = [(p, c) for p in PERSONAL for c in cells if p.lower() in c.lower()]
    assert leaked == []
    conversations_ = {c for c in cells if len(c) == 16 and all(ch in "0123456789abcdef" for ch in c)}
    assert conversations_ == {
        ingest.pseudonym(s) for s in ("web-1", "web-2", "web-3", "web-4", "fb-1", "fb-2")
    }


def test_running_again_changes_nothing_and_new_events_rebuild_their_session(seeded):
    store, db_url, _ = seeded
    before = figures(db_url)
    assert ingest.ingest(tracker_url=store, db_url=db_url, now=NOW).events == 0
    assert figures(db_url).tables == before.tables
    # web-3 answers the tracking form's second question: its session is rebuilt, not added to.
    more = Conversation("web-3", "socketio", at(DAY2, 9, 40)).says("jeanne.martin@exemple.fr", "inform")
    more.does("tracking_form", slots={"requested_slot": None}).does("tracking_form", loop=None)
    more.does("action_tracking_done", utter="utter_tracking_status").listens()
    append(store, "web-3", more.events)
    report = ingest.ingest(tracker_url=store, db_url=db_url, now=NOW)
    assert (report.conversations, report.sessions) == (1, 1)
    after = figures(db_url)
    assert after.indicator("conversations") == 8 and after.indicator("messages") == 23
    assert {row[0]: row[1:3] for row in after.table("demarches").rows}["Suivi de dossier"] == [1, 1]


def test_the_job_reads_in_batches(store, app_db, monkeypatch):  # noqa: F811
    seed(store)
    monkeypatch.setattr(ingest, "BATCH_EVENTS", 7)
    ingest.ingest(tracker_url=store, db_url=app_db, now=NOW)
    assert figures(app_db).indicator("messages") == EXPECTED["messages"]
    assert figures(app_db).table("demarches").rows == figures(app_db).table("demarches").rows


def test_forgetting_a_conversation_removes_its_statistics(seeded):
    _, db_url, _ = seeded
    assert ingest.forget("web-1", db_url=db_url) == 2
    assert figures(db_url).indicator("conversations") == 6


def test_unanswered_texts_are_kept_no_longer_than_the_conversations(seeded):
    _, db_url, _ = seeded
    assert ingest.purge_unanswered(NOW + timedelta(days=29), 30, db_url) == 0
    assert ingest.purge_unanswered(NOW + timedelta(days=31), 30, db_url) == 4
    with session_scope(db_url) as db:
        assert db.execute(select(AnalyticsForm)).first() is not None  # the counts stay


def test_no_store_yet_is_no_error(tmp_path, app_db):  # noqa: F811
    report = ingest.ingest(tracker_url=f"sqlite:///{tmp_path / 'none.db'}", db_url=app_db, now=NOW)
    assert report.events == 0 and not (tmp_path / "none.db").exists()


def test_sessions_read_from_plain_events():
    web2 = conversations()[1]
    (session,) = split_sessions((n, e.as_dict()) for n, e in enumerate(web2.events, start=1))
    assert (session.channel, session.turns, session.fallbacks, session.topic) == (
        "socketio",
        4,
        1,
        "appointments",
    )
    assert [(f.form, f.outcome, f.question) for f in session.forms] == [
        ("booking_form", "stopped", "person_count")
    ]
    assert session.started_at.replace(tzinfo=None) <= session.ended_at
    assert session.started_at.date() == DAY1 and PARIS.key == "Europe/Paris"
