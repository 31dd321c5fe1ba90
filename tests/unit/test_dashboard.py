"""The statistics pages of the agent console (handoff/dashboard.py, aiohttp test client): who may
see them, the figures of the seeded conversations, bookings and hand-offs, the CSV exports, the
date range and the unanswered questions copied as NLU YAML."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer

from booking.models import Appointment, Site
from core.db import session_scope
from handoff import callbacks, queue
from handoff.console import Console, create_app
from handoff.rasa_api import RasaApi
from staff import auth
from tests.unit.analytics_seed import DAY1, DAY2, EXPECTED, NOW, Conversation, append, at, create_store, seed
from tests.unit.test_booking_actions import db as app_db  # noqa: F401 - a migrated database (fixture)

PASSWORD = "correct horse battery"
UTC_NOW = NOW.astimezone(timezone.utc).replace(tzinfo=None)
RANGE = f"debut={DAY1.isoformat()}&fin={DAY2.isoformat()}"


@pytest.fixture
async def client(app_db, tmp_path, monkeypatch):  # noqa: F811
    db_url = app_db  # the demo territory: its knowledge base's entries are offered as faq/<key>
    store = create_store(tmp_path / "rasa.db")
    seed(store)
    # A question typed to trick a spreadsheet: the CSV export must not run it.
    trap = Conversation("trap", "socketio", at(DAY2, 11, 0)).session()
    trap.says("=cmd|' /C calc'!A0", "nlu_fallback", 0.2).does("action_handle_fallback").listens()
    append(store, "trap", trap.events)
    monkeypatch.setenv("GRU_TRACKER_STORE_URL", store)
    with session_scope(db_url, write=True) as s:
        for login, role in (("stats", "statistiques"), ("agent", "agent"), ("admin", "admin")):
            auth.create_agent(s, login=login, display_name=login.title(), password=PASSWORD, role=role,
                              services=["etat_civil"], now=UTC_NOW)  # fmt: skip
        site = s.query(Site).first()
        local = NOW.replace(tzinfo=None)
        for ref, created, updated, status in (
            ("RDV-AAAAA1", local - timedelta(hours=2), local - timedelta(hours=2), "booked"),
            ("RDV-AAAAA2", local - timedelta(hours=1), local - timedelta(minutes=10), "booked"),  # moved
            ("RDV-AAAAA3", local - timedelta(days=3), local - timedelta(minutes=5), "cancelled"),
        ):
            cancelled = updated if status == "cancelled" else None
            s.add(Appointment(reference=ref, site_id=site.id, station=1, start=local + timedelta(days=3),
                              duration_minutes=15, reason="CNI", people=1, documents=1, surname="Martin",
                              channel="socketio", sender_id="x", status=status, created_at=created,
                              updated_at=updated, cancelled_at=cancelled))  # fmt: skip
        for minutes_ago, taken in ((50, True), (30, False)):
            asked = UTC_NOW - timedelta(minutes=minutes_ago)
            joined = queue.join(
                s,
                conversation_id=f"c{minutes_ago}",
                channel="socketio",
                service="etat_civil",
                topic="appointments",
                agents_on_duty=1,
                now=asked,
            )
            request = s.get(queue.HandoffRequest, joined.request_id)
            if taken:
                request.status, request.taken_at = "taken", request.created_at + timedelta(minutes=3)
            else:
                queue.close(s, request, "not_taken", UTC_NOW)
        contact = callbacks.read_contact("06 12 34 56 78")
        callbacks.store(s, service="etat_civil", topic="appointments", contact=contact, moment="demain matin",
                        now=UTC_NOW)  # fmt: skip
    console = Console(RasaApi("http://127.0.0.1:9", "t"), db_url=db_url, now=lambda: UTC_NOW)
    test_client = TestClient(TestServer(create_app(console, sweep=False)))
    await test_client.start_server()
    yield test_client
    await test_client.close()


async def sign_in(client, login):
    form = await client.get("/connexion")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await form.text()).group(1)
    return await client.post("/connexion", data={"csrf": csrf, "login": login, "password": PASSWORD},
                             allow_redirects=False)  # fmt: skip


async def test_statistics_accounts_land_on_the_dashboard_and_agents_are_kept_out(client):
    assert (await client.get("/api/statistiques")).status == 401
    assert (await client.get("/statistiques", allow_redirects=False)).headers["Location"] == "/connexion"
    signed = await sign_in(client, "stats")
    assert signed.headers["Location"] == "/statistiques"
    assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/statistiques"
    assert (await client.get("/api/queue")).status == 403
    page = await client.get("/statistiques")
    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    text = await page.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)
    out = await client.post("/deconnexion", data={"csrf": csrf}, allow_redirects=False)
    assert out.headers["Location"] == "/connexion"

    await sign_in(client, "agent")
    assert (await client.get("/statistiques", allow_redirects=False)).headers["Location"] == "/"
    assert (await client.get(f"/api/statistiques?{RANGE}")).status == 403
    export = await client.get(f"/statistiques/export/conversations.csv?{RANGE}", allow_redirects=False)
    assert export.status == 303 and export.headers["Location"] == "/"  # the console, not the figures
    assert (await client.get("/statistiques/questions", allow_redirects=False)).status == 303


async def test_admins_get_both_the_console_and_the_dashboard(client):
    await sign_in(client, "admin")
    assert (await client.get("/")).status == 200
    page = await (await client.get(f"/statistiques?{RANGE}")).text()
    assert '<a href="/">Console des agents</a>' in page


async def test_the_page_french_accessible_with_a_table_under_every_chart(client):
    await sign_in(client, "stats")
    page = await (await client.get(f"/statistiques?{RANGE}")).text()
    assert (
        '<html lang="fr">' in page and "<script>" not in page and "http" not in page.replace("http-equiv", "")
    )
    assert '<label for="debut">Du</label>' in page and '<label for="fin">Au</label>' in page
    charts = re.findall(r'<canvas id="graphique-([a-z_]+)" role="img" aria-label="Graphique : ', page)
    assert len(charts) >= 8
    for key in charts:  # the chart's text alternative: its table, right after it
        assert f'<table id="tableau-{key}"><caption id="legende-{key}">' in page
        assert f'href="/statistiques/export/{key}.csv?debut=2026-11-30&amp;fin=2026-12-01"' in page
    assert '<dd data-indicateur="conversations">9</dd>' in page  # 8 seeded + the trap


async def test_the_json_figures_of_the_seeded_conversations_bookings_and_hand_offs(client):
    await sign_in(client, "stats")
    data = await (await client.get(f"/api/statistiques?{RANGE}")).json()
    indicators = {i["cle"]: i["valeur"] for i in data["indicateurs"]}
    assert indicators["conversations"] == EXPECTED["conversations"] + 1
    assert indicators["messages"] == EXPECTED["messages"] + 1
    assert indicators["rendez_vous"] == 2
    tables = {t["key"]: t for t in data["tableaux"]}
    assert tables["rendez_vous"]["rows"][-1] == ["01/12/2026", 2, 1, 1]
    assert tables["rendez_vous_motifs"]["rows"][0] == ["Carte d'identité", 2, 1, 1]
    # Jour, Demandes d'agent, Prises en charge, Sans agent à temps, Demandes de rappel, Attente moyenne
    assert tables["agents"]["rows"][-1] == ["01/12/2026", 2, 1, 1, 1, 3.0]
    assert tables["agents_services"]["rows"] == [["Service état civil", 2, 1, 1, 1, 3.0]]
    assert tables["conversations"]["rows"] == [["30/11/2026", 4, 0, 4], ["01/12/2026", 3, 2, 5]]


async def test_csv_exports_every_table_and_defuses_formulas(client):
    await sign_in(client, "stats")
    data = await (await client.get(f"/api/statistiques?{RANGE}")).json()
    for table in data["tableaux"]:
        response = await client.get(f"/statistiques/export/{table['key']}.csv?{RANGE}")
        assert response.status == 200 and response.content_type == "text/csv"
        assert (
            f"statistiques-{table['key']}-2026-11-30-2026-12-01.csv"
            in response.headers["Content-Disposition"]
        )
        assert (await response.text()).lstrip("\ufeff").split("\r\n")[0] == ";".join(table["columns"])
    questions = await (await client.get(f"/statistiques/export/questions.csv?{RANGE}")).text()
    assert ";'=cmd|' /C calc'!A0;" in questions  # shown as text, never run
    assert ";=cmd" not in questions and "\n=cmd" not in questions
    assert "Jeanne" not in questions and "06 12 34 56 78" not in questions
    assert (await client.get(f"/statistiques/export/inconnu.csv?{RANGE}")).status == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("debut=2026-12-02&fin=2026-12-01", "La date de début est après la date de fin."),
        ("debut=2024-01-01&fin=2026-12-01", "Période trop longue : 366 jours au plus."),
        ("debut=hier&fin=2026-12-01", "Date invalide"),
    ],
)
async def test_a_bad_range_gets_a_french_answer(client, query, message):
    await sign_in(client, "stats")
    response = await client.get(f"/api/statistiques?{query}")
    assert response.status == 400 and message in await response.text()


async def test_the_default_range_is_the_last_30_days(client):
    await sign_in(client, "stats")
    data = await (await client.get("/api/statistiques")).json()
    assert (data["debut"], data["fin"]) == ((DAY2 - timedelta(days=29)).isoformat(), DAY2.isoformat())


async def test_unanswered_questions_grouped_and_copied_as_nlu_yaml(client):
    await sign_in(client, "stats")
    page = await (await client.get(f"/statistiques/questions?{RANGE}")).text()
    assert "je m&#x27;appelle [nom], où est la piscine ?" in page and "Jeanne" not in page
    assert '<label for="intention-1">' in page and '<datalist id="intentions">' in page
    assert '<option value="faq/' in page and '<option value="request_status">' in page
    numbers = [int(n) for n in re.findall(r'data-groupe="(\d+)"', page)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3
    first = re.search(r'<h2 id="groupe-1">Groupe 1 : « (.+?) »', page).group(1)
    answer = await client.get(
        f"/api/statistiques/questions/phrases?{RANGE}&groupe=1&intention=faq/etat_civil_acte_naissance"
    )
    body = (await answer.json())["yaml"]
    assert body.startswith('version: "3.1"\nnlu:\n') and "  - intent: faq/etat_civil_acte_naissance\n" in body
    assert first.replace("&#x27;", "'") in body
    unknown = await client.get(f"/api/statistiques/questions/phrases?{RANGE}&groupe=1&intention=pirate")
    assert unknown.status == 400 and "Intention inconnue" in await unknown.text()
    missing = await client.get(f"/api/statistiques/questions/phrases?{RANGE}&groupe=99&intention=greet")
    assert missing.status == 404


def test_now_is_used_as_utc():
    assert UTC_NOW == datetime(2026, 12, 1, 9, 0)
